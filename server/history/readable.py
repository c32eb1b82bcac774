"""A record's change log as a person reads it: who (by name), did what (in words),
when (on the organisation's clock), which fields changed (labelled) from what to what
(values named: people and departments by name, codes by their label, dates formatted).

The change log stores codes, ids and ISO timestamps; this turns them into sentences at
read time, in the reader's language. What a field is comes from its column: a foreign
key names the row it points to, a date is formatted, a flag reads Yes/No; a domain
adds the labels of its own fields and coded values in a `Vocabulary`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from piccolo.columns import JSON, Boolean, Date, ForeignKey, Timestamptz
from piccolo.table import Table

from server.accounts.tables import User
from server.changelog.record import history
from server.core import i18n
from server.core.i18n import gettext as _
from server.history import common
from server.org.tables import OrgUnit, Project

Label = Callable[[], str]
# A field's value as text: the stored value -> what the reader sees.
Shows = Callable[[Any], str]
NOTHING = "—"
TABLES: dict[str, type[Table]] = {"org_unit": OrgUnit, "project": Project}
LONGEST = 300  # a changed text longer than this is cut in the history; the record has it all


@dataclass(frozen=True)
class Vocabulary:
    """What one table's history says: labels of its fields and of its coded values, the
    words for its actions; fields the reader never needs (counters, hashes) are hidden."""

    table: type[Table]
    fields: Mapping[str, Label] = field(default_factory=dict)
    values: Mapping[str, Shows] = field(default_factory=dict)
    actions: Mapping[str, Label] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    # fields that are not columns but hold ids (or lists of ids) of rows of a table
    refs: Mapping[str, type[Table]] = field(default_factory=dict)
    # fields that are not columns (an audit's "QM1.01.value"): name -> (label, shows)
    dynamic: Callable[[str], tuple[str, Shows] | None] | None = None
    # how an entry names the record when several records share one history (an NC's actions)
    subject: Callable[[dict[str, Any]], str] | None = None
    # a reason the system wrote in a fixed wording, in the reader's language
    reason: Callable[[str], str] = str


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str

    @property
    def added(self) -> bool:
        return self.before == NOTHING

    @property
    def identifier(self) -> bool:
        """A key (a login, a code, a reference): shown as such, set apart from words."""
        return self.field in common.IDENTIFIERS


@dataclass(frozen=True)
class Entry:
    who: str
    what: str
    at: datetime
    changes: list[Change]
    reason: str
    subject: str = ""

    def line(self) -> str:
        """One line for a spreadsheet cell or a CSV: the same words as the page."""
        parts = [f"{self.who} {self.what}".strip()]
        parts += [f"{c.label}: {c.after}" if c.added else f"{c.label}: {c.before} → {c.after}"
                  for c in self.changes]
        parts.append(i18n.format_date(self.at, "short"))
        text = " · ".join(parts)
        return f"{self.subject}: {text}" if self.subject else text


async def of(vocabulary: Vocabulary, record_id: Any) -> list[Entry]:
    """The readable history of one record, oldest first."""
    return await readable([(vocabulary, row) for row in
                           await history(vocabulary.table._meta.tablename, record_id)])


async def readable(rows: Iterable[tuple[Vocabulary, dict[str, Any]]]) -> list[Entry]:
    """Change-log rows (each with the vocabulary of its table) as entries, in log order."""
    pairs = sorted(rows, key=lambda pair: pair[1]["id"])
    names = await _names(pairs)
    token = common.NAMES.set(names)
    try:
        return _entries(pairs, names)
    finally:
        common.NAMES.reset(token)


def _entries(pairs: list[tuple[Vocabulary, dict[str, Any]]],
             names: Mapping[tuple[str, Any], str]) -> list[Entry]:
    entries = []
    for vocabulary, row in pairs:
        actor = row.get("actor_id")
        who = names.get(("app_user", actor)) if actor is not None else None
        entries.append(Entry(
            who=who or (_("the system") if row.get("actor_login") == "system"
                        else str(row.get("actor_login") or "")),
            what=_action(vocabulary, str(row.get("action") or "")),
            at=_moment(row["at"]),
            changes=_changes(vocabulary, row.get("changes") or {}, names),
            reason=vocabulary.reason(str(row.get("reason") or "")),
            subject=vocabulary.subject(row) if vocabulary.subject else "",
        ))
    return entries


def _action(vocabulary: Vocabulary, action: str) -> str:
    label = vocabulary.actions.get(action) or common.ACTIONS.get(action)
    return label() if label else _("changed the record")


def _changes(vocabulary: Vocabulary, changes: Mapping[str, Any],
             names: Mapping[tuple[str, Any], str]) -> list[Change]:
    out = []
    for name, pair in changes.items():
        if name in vocabulary.hidden or name in common.HIDDEN:
            continue
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        shown = _field(vocabulary, name, names)
        if shown is None:
            continue
        label, shows = shown
        out.append(Change(name, label, _text(shows, before), _text(shows, after)))
    return out


def _text(shows: Shows, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return NOTHING
    if value == "***":  # a secret: the log never held it
        return _("(changed)")
    text = shows(value)
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def _field(vocabulary: Vocabulary, name: str, names: Mapping[tuple[str, Any], str]
           ) -> tuple[str, Shows] | None:
    column = vocabulary.table._meta.get_column_by_name(name) if _is_column(
        vocabulary.table, name) else None
    if column is None:
        found = vocabulary.dynamic(name) if vocabulary.dynamic else None
        if found is not None:
            return found
    label = vocabulary.fields.get(name) or common.FIELDS.get(name)
    title = label() if label else _("Other field")
    if name in vocabulary.values:
        return title, vocabulary.values[name]
    if name in common.VALUES:
        return title, common.VALUES[name]
    target = _target(vocabulary, name, column)
    if target is not None:
        tablename = target._meta.tablename
        return title, lambda v: "; ".join(
            names.get((tablename, _int(x))) or f"#{x}" for x in (v if isinstance(v, list) else [v]))
    if isinstance(column, Timestamptz):
        return title, lambda v: i18n.format_date(_moment(v), "short")
    if isinstance(column, Date):
        return title, _date
    if isinstance(column, Boolean):
        return title, common.yes_no
    if isinstance(column, JSON):
        return title, common.plain
    return title, common.plain


def _target(vocabulary: Vocabulary, name: str, column: Any) -> type[Table] | None:
    if isinstance(column, ForeignKey):
        return column._foreign_key_meta.resolved_references  # type: ignore[no-any-return]
    return vocabulary.refs.get(name)


def _is_column(table: type[Table], name: str) -> bool:
    return any(c._meta.name == name for c in table._meta.columns)


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date(value: Any) -> str:
    try:
        return i18n.format_date(date.fromisoformat(str(value)[:10]), "medium")
    except ValueError:
        return str(value)


async def _names(pairs: list[tuple[Vocabulary, dict[str, Any]]]) -> dict[tuple[str, Any], str]:
    """The display names of every row the entries point to, one query per table."""
    wanted: dict[type[Table], set[int]] = {User: set()}
    for vocabulary, row in pairs:
        if row.get("actor_id") is not None:
            wanted[User].add(row["actor_id"])
        for name, pair in (row.get("changes") or {}).items():
            if name == "roles":
                for value in pair if isinstance(pair, list) else [pair]:
                    for table_name, row_id in common.grant_refs(value or []):
                        wanted.setdefault(TABLES[table_name], set()).add(row_id)
                continue
            column = (vocabulary.table._meta.get_column_by_name(name)
                      if _is_column(vocabulary.table, name) else None)
            target = _target(vocabulary, name, column)
            if target is None:
                continue
            values = []
            for value in pair if isinstance(pair, list) else [pair]:
                values += value if isinstance(value, list) else [value]
            wanted.setdefault(target, set()).update(
                v for v in map(_int, values) if isinstance(v, int))
    names: dict[tuple[str, Any], str] = {}
    for table, ids in wanted.items():
        if ids:
            for row_id, name in (await common.names_of(table, sorted(ids))).items():
                names[(table._meta.tablename, row_id)] = name
    return names
