"""What every table's history shares: the words for common actions and fields, how a
row is named when a field points to it, and the plain renderings of values."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from piccolo.table import Table

from server.checklists.labels import label
from server.core import i18n
from server.core.i18n import gettext as _
from server.core.rendering import text_in_language

# The names of the rows a history being rendered points to, by (table name, id): set by
# readable() for the values (like role grants) that name rows inside a text.
NAMES: ContextVar[Mapping[tuple[str, Any], str]] = ContextVar(
    "history_names", default=MappingProxyType({}))

# Never shown: counters for optimistic locking, file paths, hashes, sizes.
HIDDEN = frozenset({
    "id", "version", "seq", "year", "password_hash", "hash", "prev_hash", "sha256", "path",
    "thumb_path", "size_bytes", "content_type", "width", "height", "token_hash", "csrf_secret",
})

# Keys of records, shown set apart (as code) rather than as words.
IDENTIFIERS = frozenset({"login", "code", "ref", "serial_number", "item_id"})

ACTIONS: dict[str, Callable[[], str]] = {
    "create": lambda: _("created the record"),
    "update": lambda: _("changed"),
    "delete": lambda: _("deleted the record"),
    "remove": lambda: _("removed"),
    "answer": lambda: _("answered"),
    "start": lambda: _("started"),
    "submit": lambda: _("submitted"),
    "close": lambda: _("closed"),
    "cancel": lambda: _("cancelled"),
    "approve": lambda: _("approved"),
    "revoke": lambda: _("revoked"),
    "withdraw": lambda: _("withdrew"),
    "merge": lambda: _("merged"),
    "done": lambda: _("marked as done"),
    "password": lambda: _("changed the password"),
    "memberships": lambda: _("changed roles and projects"),
    "members": lambda: _("changed the members"),
    "phase": lambda: _("moved the project to the next phase"),
    "team": lambda: _("changed the audit team"),
    "replan": lambda: _("changed the plan"),
    "lead_override": lambda: _("kept the lead auditor despite the warning"),
}

FIELDS: dict[str, Callable[[], str]] = {
    "code": lambda: _("Code"),
    "name": lambda: _("Name"),
    "name_zh": lambda: _("Name (Chinese)"),
    "name_en": lambda: _("Name (English)"),
    "title": lambda: _("Title"),
    "active": lambda: _("Active"),
    "status": lambda: _("Status"),
    "org_unit": lambda: _("Department"),
    "project": lambda: _("Project"),
    "owner": lambda: _("Owner"),
    "description": lambda: _("Description"),
    "reason": lambda: _("Reason"),
    "note": lambda: _("Note"),
    "due_date": lambda: _("Due date"),
    "created_at": lambda: _("Created"),
    "created_by": lambda: _("Created by"),
    "language": lambda: _("Language"),
    "email": lambda: _("E-mail"),
    "login": lambda: _("Login"),
    "roles": lambda: _("Roles"),
    "projects": lambda: _("Projects"),
    "phase": lambda: _("Phase"),
    "client": lambda: _("Client"),
    "parent": lambda: _("Parent department"),
    "head": lambda: _("Head"),
    "manager": lambda: _("Project manager"),
    "quality_owner": lambda: _("Project quality owner"),
    "planned_start": lambda: _("Planned start"),
    "planned_end": lambda: _("Planned end"),
    "phase_changed_at": lambda: _("Phase changed"),
    "building": lambda: _("Building"),
    "floor": lambda: _("Floor"),
    "room": lambda: _("Room"),
    "members": lambda: _("Members"),
    "half": lambda: _("Half-year"),
    "approved_by": lambda: _("Approved by"),
    "approved_at": lambda: _("Approved"),
    "asset": lambda: _("Asset"),
    "audit": lambda: _("Audit"),
    "item_id": lambda: _("Item"),
    "kind": lambda: _("Kind"),
}


def yes_no(value: Any) -> str:
    return _("Yes") if value in (True, 1, "1", "true", "True") else _("No")


def plain(value: Any) -> str:
    """A value the domain gave no rendering: bilingual texts in the reader's language,
    lists joined, anything else as its text."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict) and ("zh-CN" in value or "en" in value):
        return text_in_language(value)
    if isinstance(value, list):
        return "; ".join(plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{plain(v)}" for v in value.values() if v not in (None, "", []))
    if isinstance(value, bool):
        return yes_no(value)
    return str(value)


def grants(value: Any) -> str:
    """Role grants as stored ("auditor", "department_head@unit:3") in words."""
    items = value if isinstance(value, list) else [value]
    return "; ".join(_grant(str(v)) for v in items)


def _grant(text: str) -> str:
    role, _sep, scope = text.partition("@")
    words = label("role", role)
    if not scope:
        return words
    kind, _sep, number = scope.partition(":")
    table = "org_unit" if kind == "unit" else "project"
    where = NAMES.get().get((table, int(number))) if number.isdigit() else None
    return f"{words} ({where or number})"


def grant_refs(value: Any) -> list[tuple[str, int]]:
    """The departments and projects that role grants name, to be looked up."""
    refs = []
    for text in value if isinstance(value, list) else [value]:
        kind, _sep, number = str(text).partition("@")[2].partition(":")
        if number.isdigit():
            refs.append(("org_unit" if kind == "unit" else "project", int(number)))
    return refs


VALUES: dict[str, Callable[[Any], str]] = {
    "language": lambda v: i18n.LANGUAGE_NAMES.get(str(v), str(v)),
    "roles": grants,
    "phase": lambda v: label("phase", v),
}


async def names_of(table: type[Table], ids: list[int]) -> dict[int, str]:
    """How a row is named where a field points to it: its name in the reader's language,
    else its name, reference or code; an id only when nothing better exists."""
    columns = {c._meta.name for c in table._meta.columns}
    wanted = [c for c in ("code", "ref", "name", "name_zh", "name_en", "title")
              if c in columns]
    if not wanted:
        return {}
    select = [table._meta.primary_key, *(table._meta.get_column_by_name(c) for c in wanted)]
    rows = await table.select(*select).where(table._meta.primary_key.is_in(ids))
    return {row["id"]: _name(row) for row in rows}


def _name(row: dict[str, Any]) -> str:
    if row.get("name_zh") is not None or row.get("name_en") is not None:
        name = text_in_language({"zh-CN": row.get("name_zh"), "en": row.get("name_en")})
    else:
        name = row.get("name") or row.get("title") or ""
    key = row.get("ref") or row.get("code")
    if key and name and key != name:
        return f"{key} {name}"
    return str(key or name or f"#{row['id']}")
