"""Departments (org units): a tree with a head each. Codes are printed on reports and
typed in import files, so they are short upper-case ASCII."""

from __future__ import annotations

import re
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.identity import forget_all
from server.accounts.users import active_user_ids, user_id_of
from server.changelog import record
from server.core.errors import Conflict, NotFound, invalid_fields
from server.core.i18n import gettext as _
from server.core.inputs import is_clean
from server.db.engine import write_transaction
from server.directory.schemas import UnitIn
from server.org.tables import OrgUnit

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")
NAME_LIMIT = 200


def normalise_code(text: str | None) -> str:
    return (text or "").strip().upper()


async def get_unit(unit_id: int) -> OrgUnit:
    unit = await OrgUnit.objects().get(OrgUnit.id == unit_id)
    if unit is None:
        raise NotFound(_("No such department."))
    return unit


async def resolve(data: UnitIn) -> UnitIn:
    """A department as given through the API or a file, with parent and head by code and
    login turned into ids (unknown ones are reported by check())."""
    problems: dict[str, str] = {}
    if data.parent_code:
        row = await OrgUnit.select(OrgUnit.id).where(
            OrgUnit.code == normalise_code(data.parent_code)).first()
        if row is None:
            problems["parent_code"] = _("No such department.")
        else:
            data.parent = row["id"]
    if data.head_login:
        head = await user_id_of(data.head_login)
        if head is None:
            problems["head_login"] = _("No such user.")
        else:
            data.head = head
    if problems:
        raise invalid_fields(problems)
    return data


async def _problems(values: dict[str, Any], unit_id: int | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not CODE_RE.match(values["code"]):
        problems["code"] = _("Use up to 40 upper-case letters, digits, dots, dashes or "
                             "underscores (e.g. QA).")
    for name in ("name_zh", "name_en"):
        text = values[name]
        if not text:
            problems[name] = _("A name is required.")
        elif len(text) > NAME_LIMIT or not is_clean(text):
            problems[name] = _("At most %(n)s characters, no control characters.",
                               n=NAME_LIMIT)
    parent = values["parent"]
    if parent is not None:
        if parent == unit_id:
            problems["parent"] = _("A department cannot be its own parent.")
        elif unit_id is not None and parent in await below(unit_id):
            problems["parent"] = _("A department cannot sit under one of its own.")
        else:
            row = await OrgUnit.select(OrgUnit.active).where(OrgUnit.id == parent).first()
            if row is None:
                problems["parent"] = _("No such department.")
            elif not row["active"] and values["active"]:
                problems["parent"] = _("This department is no longer active.")
    if values["head"] is not None and not await active_user_ids([values["head"]]):
        problems["head"] = _("No active user with this id.")
    return problems


async def below(unit_id: int) -> set[int]:
    """The departments under this one, however deep."""
    rows = await OrgUnit.select(OrgUnit.id, OrgUnit.parent)
    children: dict[int, list[int]] = {}
    for row in rows:
        if row["parent"] is not None:
            children.setdefault(row["parent"], []).append(row["id"])
    found: set[int] = set()
    todo = list(children.get(unit_id, []))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def _values(data: UnitIn, current: OrgUnit | None) -> dict[str, Any]:
    """The stored values after this change: fields not given keep their value."""
    def pick(name: str, default: Any) -> Any:
        given = getattr(data, name)
        if given is not None:
            return given.strip() if isinstance(given, str) else given
        return getattr(current, name) if current is not None else default

    values = {name: pick(name, "") for name in ("code", "name_zh", "name_en")}
    values["code"] = normalise_code(values["code"])
    values["parent"] = pick("parent", None)
    values["head"] = pick("head", None)
    values["active"] = pick("active", True)
    return values


async def create_unit(data: UnitIn, actor: CurrentUser) -> OrgUnit:
    data = await resolve(data)
    values = _values(data, None)
    problems = await _problems(values, None)
    async with write_transaction():
        if problems:
            raise invalid_fields(problems)
        if await OrgUnit.exists().where(OrgUnit.code == values["code"]):
            raise Conflict(_("A department with this code exists already."),
                           invalid={"code": _("This code is taken.")})
        unit = await record.create(OrgUnit(**values), actor, data.reason)
    await forget_all()  # heads see their new department at once
    return unit


async def update_unit(unit: OrgUnit, data: UnitIn, actor: CurrentUser) -> dict[str, Any]:
    data = await resolve(data)
    values = _values(data, unit)
    problems = await _problems(values, unit.id)
    async with write_transaction():
        if problems:
            raise invalid_fields(problems)
        if await OrgUnit.exists().where((OrgUnit.code == values["code"])
                                        & (OrgUnit.id != unit.id)):
            raise Conflict(_("A department with this code exists already."),
                           invalid={"code": _("This code is taken.")})
        changed = await record.update(unit, actor, values, data.reason)
    await forget_all()
    return changed
