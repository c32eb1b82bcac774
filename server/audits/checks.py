"""The periodic checks of every active project (002 §5.1), due to the people who run them:

- the routine check, every week, by the project manager;
- the periodic (quarterly) check, by the quarter's end, by the project's quality owner
  (the project manager when it has none);
- the random check, once a quarter, by the head of the project's department.

A check never done is due now. `checks_due` is a plain function over plain rows; the
loader reads the rows in three queries whatever the number of projects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from server.audits.tables import Audit
from server.core.clock import stored_date
from server.org.tables import OrgUnit, Project

ROUTINE, QUARTERLY, RANDOM = "project.routine_check", "project.quarterly_check", \
    "project.random_check"
WEEK = timedelta(days=7)
ROUTINE_GRACE = timedelta(days=2)
DONE = ("submitted", "closed")


@dataclass(frozen=True)
class CheckDue:
    project: int
    project_code: str
    project_name_zh: str
    project_name_en: str
    checklist_key: str
    responsible: int | None
    due_date: date
    status: str  # due | overdue
    last_done: date | None = None
    open_run: int | None = None

    def sort_key(self) -> tuple[int, date, str]:
        return (0 if self.status == "overdue" else 1, self.due_date, self.project_code)


def quarter_end(day: date) -> date:
    month = ((day.month - 1) // 3 + 1) * 3
    next_month = date(day.year + (month == 12), 1 if month == 12 else month + 1, 1)
    return next_month - timedelta(days=1)


def quarter_start(day: date) -> date:
    return date(day.year, ((day.month - 1) // 3) * 3 + 1, 1)


def routine_status(last_done: date | None, today: date) -> tuple[date, str] | None:
    """(due date, status) of the weekly check, or None while it is not due."""
    if last_done is None:
        return today, "due"
    due = last_done + WEEK
    if today < due:
        return None
    return due, "overdue" if today > due + ROUTINE_GRACE else "due"


def quarterly_status(last_done: date | None, today: date) -> tuple[date, str] | None:
    """Due by the quarter's end unless done this quarter; overdue once a whole quarter
    went by without one."""
    start = quarter_start(today)
    if last_done is not None and last_done >= start:
        return None
    previous_start = quarter_start(start - timedelta(days=1))
    if last_done is not None and last_done >= previous_start:
        return quarter_end(today), "due"
    # Never done, or not in the last quarter either: the quarter that just ended was missed.
    return (start - timedelta(days=1), "overdue") if last_done is not None else (
        quarter_end(today), "due")


def checks_due(projects: Iterable[dict[str, Any]], heads: dict[int, int],
               last_done: dict[tuple[int, str], date], open_runs: dict[tuple[int, str], int],
               today: date) -> list[CheckDue]:
    """Every check due of these projects (rows of project with manager, quality_owner,
    org_unit), each with who runs it."""
    found: list[CheckDue] = []
    for p in projects:
        who = {ROUTINE: p.get("manager"),
               QUARTERLY: p.get("quality_owner") or p.get("manager"),
               RANDOM: heads.get(p.get("org_unit") or 0)}
        for key, rule in ((ROUTINE, routine_status), (QUARTERLY, quarterly_status),
                          (RANDOM, quarterly_status)):
            state = rule(last_done.get((p["id"], key)), today)
            if state is None:
                continue
            found.append(CheckDue(p["id"], p["code"], p["name_zh"], p["name_en"], key,
                                  who[key], state[0], state[1],
                                  last_done.get((p["id"], key)), open_runs.get((p["id"], key))))
    found.sort(key=CheckDue.sort_key)
    return found


async def load_checks(today: date, responsible: int | None = None) -> list[CheckDue]:
    """The checks due of every active project; of one person's, with `responsible`."""
    projects = await Project.select(
        Project.id, Project.code, Project.name_zh, Project.name_en, Project.org_unit,
        Project.manager, Project.quality_owner,
    ).where((Project.active == True) & (Project.phase != "closure"))  # noqa: E712
    heads = {u["id"]: u["head"] for u in await OrgUnit.select(OrgUnit.id, OrgUnit.head)
             if u["head"] is not None}
    keys = [ROUTINE, QUARTERLY, RANDOM]
    done: dict[tuple[int, str], date] = {}
    for row in await Audit.raw(
        "SELECT project, checklist_key, MAX(submitted_at) AS last FROM audit"
        " WHERE project IS NOT NULL AND checklist_key IN ({}, {}, {})"
        " AND status IN ('submitted', 'closed') GROUP BY project, checklist_key", *keys):
        day = stored_date(row["last"])
        if day is not None:
            done[(row["project"], row["checklist_key"])] = day
    running = {(r["project"], r["checklist_key"]): r["id"] for r in await Audit.select(
        Audit.id, Audit.project, Audit.checklist_key).where(
        Audit.project.is_not_null() & Audit.checklist_key.is_in(keys)
        & (Audit.status == "in_progress"))}
    due = checks_due(projects, heads, done, running, today)
    return [c for c in due if responsible is None or c.responsible == responsible]
