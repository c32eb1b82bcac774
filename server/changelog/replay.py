"""The state the change log implies, against the records as they are.

A valid chain proves the log unaltered, not the records: an UPDATE on `answer` or
`nonconformance` that bypasses the app leaves no log row at all. Replaying create,
update and delete rows (and the "answer" rows of runs) gives each record's value as the
log tells it; any record that differs was changed behind the log's back.

Only tables whose every write goes through record.create/update/delete are replayed
(TRACKED), plus answers, which the audit service logs as "answer" rows on the run with
keys "<item>.value" and "<item>.comment". The run itself is not: the service updates its
status and timestamps in SQL and logs a summary of them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from server.changelog.record import _plain
from server.changelog.tables import ChangeLog

TRACKED = ("nonconformance", "corrective_action", "asset", "inspection_schedule", "photo")
BATCH = 5000
_HIDDEN = ["***", "***"]  # a secret column's change: logged, its value not
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def normal(value: Any) -> Any:
    """One form for a value as the log holds it and as either database returns it: JSON
    columns come back as text from SQLite, timestamps as datetimes, the log has ISO text.
    JSON text is decoded once, not its contents: a text that looks like JSON stays text."""
    value = _plain(value)
    if isinstance(value, str):
        if value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
        if _DATETIME.match(value):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is not None:
                return moment.astimezone(UTC).isoformat()
    return value


def _stored_answer(value: Any) -> Any:
    """An answer's value column: JSON text on both engines (None when cleared)."""
    return json.loads(value) if isinstance(value, str) else value


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


class Replay:
    """Fed every change-log row in order (verify_log's observer), then compared."""

    def __init__(self, tables: tuple[str, ...] = TRACKED) -> None:
        # table -> record id -> {column: value} (None once deleted)
        self.records: dict[str, dict[str, dict[str, Any] | None]] = {t: {} for t in tables}
        # (audit id, item id) -> {"value": ..., "comment": ...}
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted_runs: set[str] = set()

    def __call__(self, row: dict[str, Any], changes: dict[str, Any]) -> None:
        table, action, rid = row["record_table"], row["action"], str(row["record_id"])
        if table == "audit":
            if action == "answer":
                for name, pair in changes.items():
                    item, _, column = name.rpartition(".")
                    if column in ("value", "comment"):
                        self.answers.setdefault((rid, item), {})[column] = pair[1]
            elif action == "delete":  # answers go with their run (ON DELETE CASCADE)
                self.deleted_runs.add(rid)
            return
        state = self.records.get(table)
        if state is None:
            return
        if action == "delete":
            state[rid] = None
            return
        current = state.get(rid)
        if action == "create" or current is None:
            state[rid] = current = {}
        for column, pair in changes.items():
            if pair != _HIDDEN:
                current[column] = pair[1]

    async def compare(self) -> list[str]:
        problems: list[str] = []
        for table, state in self.records.items():
            problems += await self._compare_table(table, state)
        problems += await self._compare_answers()
        return problems

    async def _compare_table(self, table: str, state: dict[str, dict[str, Any] | None]
                             ) -> list[str]:
        problems: list[str] = []
        present: set[str] = set()
        last = 0
        while True:
            rows = await ChangeLog.raw(
                f"SELECT * FROM {table} WHERE id > {{}} ORDER BY id LIMIT {BATCH}", last)
            if not rows:
                break
            last = int(rows[-1]["id"])
            for row in rows:
                rid = str(row["id"])
                present.add(rid)
                if rid not in state:
                    problems.append(f"{table} {rid}: no change-log row records its creation")
                    continue
                implied = state[rid]
                if implied is None:
                    problems.append(f"{table} {rid}: deleted in the change log, but present")
                    continue
                for column, value in implied.items():
                    if column in row and normal(row[column]) != normal(value):
                        problems.append(
                            f"{table} {rid}: {column} is {_show(normal(row[column]))} in the "
                            f"database, the change log says {_show(normal(value))}")
        for rid, implied in state.items():
            if implied is not None and rid not in present:
                problems.append(f"{table} {rid}: in the change log, missing from the database")
        return problems

    async def _compare_answers(self) -> list[str]:
        problems: list[str] = []
        present: set[tuple[str, str]] = set()
        last = 0
        while True:
            rows = await ChangeLog.raw(
                "SELECT id, audit, item_id, value, comment FROM answer WHERE id > {}"
                f" ORDER BY id LIMIT {BATCH}", last)
            if not rows:
                break
            last = int(rows[-1]["id"])
            for row in rows:
                where = (str(row["audit"]), row["item_id"])
                present.add(where)
                implied = self.answers.get(where, {})
                for column, default in (("value", None), ("comment", "")):
                    stored = _stored_answer(row[column]) if column == "value" else row[column]
                    logged = implied.get(column, default)
                    if stored != logged:
                        problems.append(
                            f"answer of audit {where[0]} to item {where[1]}: {column} is "
                            f"{_show(stored)} in the database, the change log says "
                            f"{_show(logged)}")
        for (audit, item), implied in self.answers.items():
            if (audit, item) in present or audit in self.deleted_runs:
                continue
            if implied.get("value") is not None or implied.get("comment"):
                problems.append(f"answer of audit {audit} to item {item}: in the change log, "
                                "missing from the database")
        return problems
