"""The one write path for records: every create, update, delete or state change
goes through here and appends a hash-chained row to the change log.

Callers pass the acting user and, where the rules ask for one, a reason.
Each function opens (or joins) a write transaction, so the record change and
its log row commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from server.changelog import anchor
from server.changelog.chain import (
    GENESIS,
    MARKER_ACTION,
    MARKER_RECORD,
    MARKER_TABLE,
    ChainKey,
    chain_key,
    marker_changes,
)
from server.changelog.tables import ChangeLog
from server.db.engine import current_settings, engine, write_transaction

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


class WrongKey(RuntimeError):
    """This process's secret key is not the one the chain is keyed with: its rows would
    never verify, so nothing is appended."""


# The transaction that last appended in this task: until it commits, the chain's last
# row may be its own (and not yet durable), so it must not go into a checkpoint.
_appended_in: ContextVar[Any] = ContextVar("changelog_appended_in", default=None)
# Databases whose key marker is committed, by where they are: looked up once per process.
_marker_ids: dict[str, int] = {}

_checkpoints = anchor.Throttle()
_LAST_ROW = "SELECT id, hash FROM change_log ORDER BY id DESC LIMIT 1"
_MARKER = (
    "SELECT id, changes FROM change_log WHERE record_table = {} AND record_id = {}"
    " AND action = {} ORDER BY id LIMIT 1"
)


def _where(db: Engine) -> str:
    return str(db.config.get("dsn")) if isinstance(db, PostgresEngine) else str(db.path)


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
    db = engine()
    if isinstance(db, PostgresEngine):
        await ChangeLog.raw(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    # A plain statement: every write runs it while the other writers wait their turn.
    rows = await ChangeLog.raw(_LAST_ROW)
    last = rows[0] if rows else None
    prev_hash = last["hash"] if last else GENESIS
    # Appends are serialised (IMMEDIATE transaction / advisory lock), so ids are
    # assigned here: consecutive, and known before the hash is computed.
    last_id = int(last["id"]) if last else 0
    key = chain_key()
    transaction = db.current_transaction.get()
    # Nothing of this transaction is in the chain yet: the rows seen are committed ones.
    settled = transaction is None or _appended_in.get() is not transaction
    where = _where(db)
    marker_id = _marker_ids.get(where)
    if marker_id is None:
        found = await ChangeLog.raw(_MARKER, MARKER_TABLE, MARKER_RECORD, MARKER_ACTION)
        if found:
            marker = found[0]["changes"]
            named = (json.loads(marker) if isinstance(marker, str) else marker)["key"][1]
            if named != key.fingerprint:
                raise WrongKey(
                    f"the change log is keyed with the secret key {named}, this process has "
                    f"{key.fingerprint}: give it the app's AUDITRAIL_SECRET_KEY or data dir")
            marker_id = int(found[0]["id"])
            if settled:
                _marker_ids[where] = marker_id
    if settled and last is not None:
        _checkpoints.note(current_settings().data_dir, last_id, prev_hash, marker_id, key)
    if marker_id is None:  # the first row since keying: the marker goes first
        prev_hash, last_id = await _insert(
            key, SYSTEM, MARKER_ACTION, MARKER_TABLE, MARKER_RECORD, marker_changes(key),
            "from this row on every hash is an HMAC with a key derived from the app's secret",
            prev_hash, last_id + 1,
        )
    await _insert(key, who, action, table, record_id, changes, reason, prev_hash, last_id + 1)
    if transaction is not None:
        _appended_in.set(transaction)


async def _insert(
    key: ChainKey, who: Actor, action: str, table: str, record_id: Any,
    changes: dict[str, Any], reason: str, prev_hash: str, new_id: int,
) -> tuple[str, int]:
    """Insert one keyed row; returns its hash and id."""
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
    digest = key.hash(fields)
    # Plain SQL, like the select above: Piccolo's insert builder cost as much as running it.
    await ChangeLog.raw(
        "INSERT INTO change_log (id, at, actor_id, actor_login, action, record_table,"
        " record_id, changes, reason, prev_hash, hash)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        new_id, at, who.id, who.login, action, table, str(record_id),
        json.dumps(plain_changes, ensure_ascii=False), reason, prev_hash, digest,
    )
    return digest, new_id


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
