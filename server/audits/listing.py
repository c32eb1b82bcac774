"""Runs matching a list's filters, newest first, and when each last changed.

Who may see which of them is not decided here (flows.runs applies the one rule); this
module only narrows by what the request asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns.combination import WhereRaw

from server.audits import programme
from server.audits.tables import Audit, AuditMember, Photo
from server.changelog.tables import ChangeLog
from server.core import clock

STATUSES = ("planned", "in_progress", "submitted", "closed", "cancelled")

# A run changed when it or one of its photos got a change-log row (answers, team,
# replans and signatures are logged against the run itself).
_CHANGED_SINCE = (
    "(EXISTS (SELECT 1 FROM change_log c WHERE c.record_table = 'audit'"
    " AND c.record_id = CAST(audit.id AS VARCHAR) AND c.at >= {})"
    " OR EXISTS (SELECT 1 FROM photo p JOIN change_log c ON c.record_table = 'photo'"
    " AND c.record_id = CAST(p.id AS VARCHAR) WHERE p.audit = audit.id AND c.at >= {}))"
)


@dataclass(frozen=True)
class RunFilter:
    kind: str | None = None
    status: str | None = None
    checklist: str | None = None
    org_unit: int | None = None
    project: int | None = None
    asset: int | None = None
    half: tuple[int, int] | None = None
    updated_since: datetime | None = None


def _where(f: RunFilter) -> Any:
    condition: Any = Audit.id > 0
    for column, value in ((Audit.kind, f.kind), (Audit.status, f.status),
                          (Audit.checklist_key, f.checklist), (Audit.org_unit, f.org_unit),
                          (Audit.project, f.project), (Audit.asset, f.asset)):
        if value is not None:
            condition = condition & (column == value)
    if f.half is not None:
        # The programme page's rule: a planned run belongs to its programme's half-year,
        # any other to the half-year it was started in.
        start, end = clock.day_range(*programme.half_bounds(*f.half))
        planned = (Audit.programme.year == f.half[0]) & (Audit.programme.half == f.half[1])
        started = (Audit.programme.is_null() & (Audit.created_at >= start)
                   & (Audit.created_at < end))
        condition = condition & (planned | started)
    if f.updated_since is not None:
        # The log keeps whole seconds: a change in the asked-for second is included.
        since = f.updated_since.replace(microsecond=0)
        condition = condition & WhereRaw(_CHANGED_SINCE, since, since)
    return condition


LIST_COLUMNS = (Audit.id, Audit.kind, Audit.status, Audit.checklist_key,
                Audit.checklist_version, Audit.title, Audit.org_unit, Audit.project,
                Audit.asset, Audit.lead_auditor, Audit.created_by, Audit.planned_date,
                Audit.started_at, Audit.submitted_at, Audit.score_percent, Audit.passed,
                Audit.created_at)


async def matching(f: RunFilter) -> list[dict[str, Any]]:
    """Every run the filters admit, newest first."""
    return await Audit.select(*LIST_COLUMNS).where(_where(f)).order_by(
        Audit.created_at, Audit.id, ascending=False)


async def last_changed(ids: list[int]) -> dict[int, datetime]:
    """Each run's latest change-log time (its own rows and its photos')."""
    if not ids:
        return {}
    photos = await Photo.select(Photo.id, Photo.audit).where(Photo.audit.is_in(ids))
    run_of = {("audit", str(i)): i for i in ids}
    run_of.update({("photo", str(p["id"])): p["audit"] for p in photos})
    latest: dict[int, datetime] = {}
    for table in ("audit", "photo"):
        keys = [key for (t, key) in run_of if t == table]
        rows = [row for start in range(0, len(keys), 500)
                for row in await ChangeLog.select(ChangeLog.record_id, ChangeLog.at).where(
                    (ChangeLog.record_table == table)
                    & ChangeLog.record_id.is_in(keys[start:start + 500]))]
        for row in rows:
            run = run_of[(table, row["record_id"])]
            if run not in latest or row["at"] > latest[run]:
                latest[run] = row["at"]
    return latest


async def runs_with_member(user_id: int) -> set[int]:
    rows = await AuditMember.select(AuditMember.audit).where(AuditMember.user == user_id)
    return {r["audit"] for r in rows}
