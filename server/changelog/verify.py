"""Proving the change log intact: every row's hash (keyed from the marker on), every link,
no gaps, and the end of the chain where the checkpoint last saw it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.changelog import anchor
from server.changelog.chain import GENESIS, chain_key, is_marker, plain_hash
from server.changelog.record import hashed_fields
from server.changelog.tables import ChangeLog
from server.db.engine import current_settings, engine_name

BATCH = 5000
_ROWS = (
    "SELECT id, at, actor_id, actor_login, action, record_table, record_id, changes, reason,"
    " prev_hash, hash FROM change_log WHERE id > {} ORDER BY id LIMIT {}"
)

# Called with every row and its decoded changes, in order (the record replay listens).
Observer = Callable[[dict[str, Any], dict[str, Any]], None]


@dataclass
class VerifyReport:
    rows: int = 0
    head: str = GENESIS
    keyed_from: int | None = None
    checkpoint: anchor.Checkpoint | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Runs:
    """Row ids with the same problem, reported as ranges: a rewritten chain fails every
    row after the edit, and one line says so better than a hundred thousand."""

    def __init__(self, one: str, many: str) -> None:
        self.one, self.many = one, many
        self.runs: list[list[int]] = []

    def add(self, rid: int) -> None:
        if self.runs and self.runs[-1][1] == rid - 1:
            self.runs[-1][1] = rid
        else:
            self.runs.append([rid, rid])

    def lines(self) -> list[tuple[int, str]]:
        return [(a, self.one.format(a) if a == b else self.many.format(a, b))
                for a, b in self.runs]


async def verify_log(observe: Observer | None = None, *, anchor_after: bool = True
                     ) -> VerifyReport:
    """Check the chain and compare its end with the checkpoint; on success (and with
    `anchor_after`) write a fresh checkpoint at the verified head."""
    settings = current_settings()
    key = chain_key(settings)
    report = VerifyReport()
    # Read before the first query: in a snapshot (verify_all) every row a checkpoint names
    # was committed before the file was written, so the snapshot, taken later, holds it.
    point, unreadable = anchor.read(settings.data_dir, key)
    report.checkpoint = point
    bad_hash = _Runs("row {}: content does not match its hash",
                     "rows {}..{}: content does not match their hashes")
    bad_link = _Runs("row {}: does not link to the row before it",
                     "rows {}..{}: do not link to the rows before them")
    found: list[tuple[int, str]] = []
    expected_prev, expected_id = GENESIS, 1
    keyed = foreign_key = False
    at_checkpoint: str | None = None
    last_id = 0
    # On SQLite the next batch is read in aiosqlite's thread while this one is hashed (a
    # third of the time on 100k rows); asyncpg takes one query at a time per connection.
    overlap = engine_name() == "sqlite"
    pending = asyncio.ensure_future(ChangeLog.raw(_ROWS, 0, BATCH))
    while True:
        rows = await pending
        if not rows:
            break
        last_id = int(rows[-1]["id"])
        pending = asyncio.ensure_future(ChangeLog.raw(_ROWS, last_id, BATCH))
        if not overlap:
            await asyncio.wait([pending])
        for row in rows:
            rid = int(row["id"])
            changes = row["changes"]
            if isinstance(changes, str):
                row["changes"] = changes = json.loads(changes)
            if rid != expected_id:
                found.append((expected_id, f"rows {expected_id}..{rid - 1} are missing"))
            if row["prev_hash"] != expected_prev:
                bad_link.add(rid)
            if is_marker(row):
                if keyed:
                    found.append((rid, f"row {rid}: a second key marker (the chain is keyed "
                                       f"from row {report.keyed_from})"))
                else:
                    keyed, report.keyed_from = True, rid
                    named = (changes.get("key") or [None, None])[1]
                    if named != key.fingerprint:
                        foreign_key = True
                        found.append((rid, (
                            f"rows from {rid} on are keyed with another secret key "
                            f"(fingerprint {named}, configured {key.fingerprint}): set "
                            "AUDITRAIL_SECRET_KEY or the data dir's secret_key to the key "
                            "the log was written with")))
            if not (keyed and foreign_key):
                fields = hashed_fields(row)
                digest = key.hash(fields) if keyed else plain_hash(fields)
                if digest != row["hash"]:
                    bad_hash.add(rid)
            if point is not None and rid == point.rows:
                at_checkpoint = row["hash"]
            if observe is not None:
                observe(row, changes)
            expected_prev, expected_id = row["hash"], rid + 1
            report.rows += 1
    report.head = expected_prev
    found += bad_hash.lines() + bad_link.lines()
    report.problems = [text for _, text in sorted(found, key=lambda f: f[0])]
    report.problems += _against_checkpoint(point, unreadable, last_id, at_checkpoint,
                                           report.keyed_from)
    if last_id and report.keyed_from is None:
        report.notes.append(
            f"rows 1..{last_id} were written before the chain was keyed: the next write "
            "adds the key marker")
    if point is None and unreadable is None:
        report.notes.append("no checkpoint yet: the end of the chain could not be checked")
    if report.ok and anchor_after:
        anchor_at(report)
    return report


def anchor_at(report: VerifyReport) -> None:
    """Write the checkpoint at a verified head."""
    if report.rows:
        settings = current_settings()
        key = chain_key(settings)
        fresh = anchor.make(report.rows, report.head, report.keyed_from, key)
        anchor.write(settings.data_dir, fresh, key)


def _against_checkpoint(point: anchor.Checkpoint | None, unreadable: str | None, last_id: int,
                        at_checkpoint: str | None, keyed_from: int | None) -> list[str]:
    if unreadable:
        return [f"checkpoint: {unreadable}"]
    if point is None:
        return []
    seen = f"the checkpoint of {point.at} recorded {point.rows} rows (head {point.head})"
    problems = []
    if last_id == 0 and point.rows:
        problems.append(f"the change log is empty, but {seen}: it was emptied "
                        "(TRUNCATE or DELETE)")
    elif point.rows > last_id:
        problems.append(f"the change log ends at row {last_id}, but {seen}: rows "
                        f"{last_id + 1}..{point.rows} were removed from its end")
    elif at_checkpoint is not None and at_checkpoint != point.head:
        problems.append(f"row {point.rows} is not the row {seen}: the chain was rewritten")
    if point.keyed_from is not None and point.keyed_from != keyed_from:
        where = f"from row {keyed_from}" if keyed_from else "not at all"
        problems.append(f"{seen} keyed from row {point.keyed_from}, but the log is keyed "
                        f"{where}")
    return problems
