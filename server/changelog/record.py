"""The one write path for records: every create, update, delete or state change
goes through here and appends a hash-chained row to the change log.

Callers pass the acting user and, where the rules ask for one, a reason.
Each function opens (or joins) a write transaction, so the record change and
its log row commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from server.changelog.tables import ChangeLog
from server.db.engine import engine, write_transaction

GENESIS = "0" * 64
# An arbitrary constant: the key of the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 7_420_001

T = TypeVar("T", bound=Table)


class Actor:
    """Who is acting: a logged-in user, or the system (CLI, start-up)."""

    def __init__(self, user_id: int | None, login: str) -> None:
        self.id = user_id
        self.login = login


SYSTEM = Actor(None, "system")


def as_actor(user: Any) -> Actor:
    if user is None:
        return SYSTEM
    if isinstance(user, Actor):
        return user
    return Actor(user.id, user.login)


def _plain(value: Any) -> Any:
    """A JSON-safe form of a column value, stable for hashing."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def row_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def hashed_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The content a change-log row's hash covers (everything but the hash)."""
    changes = row["changes"]
    if isinstance(changes, str):
        changes = json.loads(changes)
    return {
        "id": int(row["id"]),
        "at": _plain(row["at"]),
        "actor_id": row["actor_id"],
        "actor_login": row["actor_login"],
        "action": row["action"],
        "record_table": row["record_table"],
        "record_id": str(row["record_id"]),
        "changes": changes,
        "reason": row["reason"],
        "prev_hash": row["prev_hash"],
    }


async def append(
    actor: Any,
    action: str,
    table: str,
    record_id: Any,
    changes: dict[str, Any],
    reason: str = "",
) -> None:
    """Append one row to the chain. Call within a write transaction."""
    who = as_actor(actor)
    if isinstance(engine(), PostgresEngine):
        await ChangeLog.raw(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    # A plain statement: every write runs it while the other writers wait their turn.
    rows = await ChangeLog.raw("SELECT id, hash FROM change_log ORDER BY id DESC LIMIT 1")
    last = rows[0] if rows else None
    prev_hash = last["hash"] if last else GENESIS
    # Appends are serialised (IMMEDIATE transaction / advisory lock), so ids are
    # assigned here: consecutive, and known before the hash is computed.
    new_id = (last["id"] if last else 0) + 1
    # Second precision keeps the timestamp identical after a round trip through
    # either database, so the hash can be recomputed exactly.
    at = datetime.now(UTC).replace(microsecond=0)
    plain_changes = {k: [_plain(v) for v in pair] for k, pair in changes.items()}
    fields = {
        "id": new_id,
        "at": _plain(at),
        "actor_id": who.id,
        "actor_login": who.login,
        "action": action,
        "record_table": table,
        "record_id": str(record_id),
        "changes": plain_changes,
        "reason": reason,
        "prev_hash": prev_hash,
    }
    # Plain SQL, like the select above: Piccolo's insert builder cost as much as running it.
    await ChangeLog.raw(
        "INSERT INTO change_log (id, at, actor_id, actor_login, action, record_table,"
        " record_id, changes, reason, prev_hash, hash)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        new_id, at, who.id, who.login, action, table, str(record_id),
        json.dumps(plain_changes, ensure_ascii=False), reason, prev_hash, row_hash(fields),
    )


def _values(row: Table, columns: list[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in columns}


def _column_names(row: Table) -> list[str]:
    return [c._meta.name for c in row._meta.columns if c._meta.name != "id" and not c._meta.secret]


async def create(row: T, actor: Any, reason: str = "") -> T:
    async with write_transaction():
        await row.save()
        changes = {k: [None, v] for k, v in _values(row, _column_names(row)).items()}
        await append(actor, "create", row._meta.tablename, row.id, changes, reason)
    return row


async def update(
    row: T, actor: Any, values: dict[str, Any], reason: str = "", action: str = "update"
) -> dict[str, list[Any]]:
    """Change the given fields; logs only those that really changed. Returns them."""
    changed: dict[str, list[Any]] = {}
    for name, value in values.items():
        before = getattr(row, name)
        if _plain(before) != _plain(value):
            secret = row._meta.get_column_by_name(name)._meta.secret
            changed[name] = ["***", "***"] if secret else [before, value]
            setattr(row, name, value)
    if not changed and action == "update":
        return changed
    async with write_transaction():
        if changed:
            columns = [row._meta.get_column_by_name(n) for n in changed]
            await row.save(columns=columns)
        await append(actor, action, row._meta.tablename, row.id, changed, reason)
    return changed


async def delete(row: Table, actor: Any, reason: str = "") -> None:
    async with write_transaction():
        before = _values(row, _column_names(row))
        await row.remove()
        await append(
            actor,
            "delete",
            row._meta.tablename,
            row.id,
            {k: [v, None] for k, v in before.items()},
            reason,
        )


async def history(table: str, record_id: Any) -> list[dict[str, Any]]:
    rows = (
        await ChangeLog.select()
        .where((ChangeLog.record_table == table) & (ChangeLog.record_id == str(record_id)))
        .order_by(ChangeLog.id)
    )
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows
