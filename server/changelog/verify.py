"""Proving the change log intact: every row's hash, every link, no gaps."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.changelog.record import GENESIS, hashed_fields, row_hash
from server.changelog.tables import ChangeLog

BATCH = 5000


@dataclass
class VerifyReport:
    rows: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_log() -> VerifyReport:
    report = VerifyReport()
    expected_prev, expected_id = GENESIS, 1
    last_id = 0
    while True:
        rows = (
            await ChangeLog.select()
            .where(ChangeLog.id > last_id)
            .order_by(ChangeLog.id)
            .limit(BATCH)
        )
        if not rows:
            break
        for row in rows:
            rid = int(row["id"])
            if rid != expected_id:
                report.problems.append(f"rows {expected_id}..{rid - 1} are missing")
            if row["prev_hash"] != expected_prev:
                report.problems.append(f"row {rid}: does not link to the row before it")
            if row_hash(hashed_fields(row)) != row["hash"]:
                report.problems.append(f"row {rid}: content does not match its hash")
            expected_prev, expected_id = row["hash"], rid + 1
            report.rows += 1
        last_id = int(rows[-1]["id"])
    report.head = expected_prev
    return report
