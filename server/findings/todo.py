""""My actions": what each person must do next, soonest deadline first.

Owners: the next step of every NC they own and every open action of theirs.
Quality managers: plans to approve, NCs to verify, observations to dispose of,
concessions to follow. Auditors: drafts to review and issue, NCs to verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from server.checklists import store
from server.core import i18n
from server.core.i18n import gettext as _
from server.findings.access import scope_sql
from server.findings.labels import nc_title
from server.findings.policy import (
    ACTIVE_STATES,
    concession_until,
    due_soon,
    is_overdue,
    load_policy,
)
from server.findings.queries import read_snapshot, state_index
from server.findings.tables import Nonconformance, loads
from server.findings.workflow import OWNER_STATES, state_label

LIMIT = 200  # of a person's own NCs and actions: a list they can work through
TEAM_LIMIT = 50  # of the team's queues (plans to approve, NCs to verify...); the rest: register


@dataclass(frozen=True)
class Todo:
    kind: str
    what: str
    nc_id: int
    ref: str
    title: str
    severity: str
    state: str
    due: date | None
    overdue: bool
    soon: bool
    url: str
    detail: str = ""


# What every to-do shows of its NC (the title in both languages, for nc_title).
NC_COLUMNS = "n.id, n.ref, n.title, n.title_zh, n.title_en, n.severity, n.state"

def _next_step(row: dict[str, Any]) -> str:
    state = row["state"]
    if state == "open":
        return _("Record the immediate correction (containment)")
    if state == "containment":
        return _("Record the root cause")
    if state == "root_cause":
        return _("Plan the actions and submit the plan")
    if state in ("plan_approved", "implementing"):  # plan_approved: records from before
        if row.get("open_actions"):
            return _("Complete the actions (%(n)s open)", n=row["open_actions"])
        return _("Ask for verification")
    return state_label(state)


async def _rows(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await Nonconformance.raw(sql, *args)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)  # fixed state names, never user input


def _ph(values: list[Any]) -> str:
    return ", ".join("{}" for _ in values)


async def my_actions(user: Any, today: date, remind_days: int) -> list[Todo]:
    me = user.id
    todos: list[Todo] = []

    def add(kind: str, what: str, row: dict[str, Any], due: date | None, detail: str = ""
            ) -> None:
        todos.append(Todo(
            kind=kind, what=what, nc_id=row["id"], ref=row["ref"], title=nc_title(row),
            severity=row["severity"], state=row["state"], due=due,
            overdue=is_overdue(due, row["state"], today),
            soon=due_soon(due, row["state"], today, remind_days),
            url=f"/nonconformances/{row['id']}", detail=detail,
        ))

    owned = await _rows(
        f"SELECT {NC_COLUMNS}, n.due_date,"
        " (SELECT count(*) FROM corrective_action a WHERE a.nc = n.id AND a.status = 'open')"
        " AS open_actions FROM nonconformance n WHERE n.owner = {}"
        f" AND n.state IN ({_in(OWNER_STATES)})"
        # Observations need no corrective action: the quality manager disposes of them.
        " AND n.severity <> 'observation'"
        f" ORDER BY n.due_date LIMIT {LIMIT}",
        me,
    )
    for row in owned:
        add("nc", _next_step(row), row, row["due_date"])
    actions = await _rows(
        f"SELECT {NC_COLUMNS}, a.id AS action_id, a.description,"
        " a.due_date FROM corrective_action a JOIN nonconformance n ON n.id = a.nc"
        f" WHERE a.owner = {{}} AND a.status = 'open' AND n.state IN ({_in(ACTIVE_STATES)})"
        f" ORDER BY a.due_date LIMIT {LIMIT}",
        me,
    )
    for row in actions:
        add("action", _("Complete the action"), row, row["due_date"], row["description"])
    scope, args = scope_sql(user)
    more: list[Todo] = []

    def queue(kind: str, what: str, rows: list[dict[str, Any]], link: str,
              due_of: Any = lambda r: r["due_date"]) -> None:
        for row in rows[:TEAM_LIMIT]:
            add(kind, what, row, due_of(row))
        if len(rows) > TEAM_LIMIT:
            more.append(Todo(f"{kind}_more", what, 0, "", _("More in the register"), "",
                             "", None, False, False, link))

    team = TEAM_LIMIT + 1
    if user.has("quality_manager"):
        queue("approve", _("Review and approve the action plan"), await _rows(
            f"SELECT {NC_COLUMNS}, n.due_date FROM nonconformance n"
            f" WHERE n.state = 'action_plan' ORDER BY n.due_date LIMIT {team}"
        ), "/nonconformances?state=action_plan")
        queue("dispose", _("Close the observation with a disposition"), await _rows(
            f"SELECT {NC_COLUMNS}, n.due_date FROM nonconformance n"
            f"{state_index()} WHERE n.state = 'open' AND n.severity = 'observation'"
            f" ORDER BY n.id LIMIT {team}"
        ), "/nonconformances?state=open&severity=observation")
        concessions = [r for r in await _rows(
            f"SELECT {NC_COLUMNS}, n.concession FROM nonconformance n"
            f"{state_index()} WHERE n.state IN ({_in(ACTIVE_STATES)})"
            f" AND n.concession IS NOT NULL ORDER BY n.id LIMIT {LIMIT}"
        ) if concession_until(loads(r["concession"])) is not None]
        queue("concession", _("Follow the agreed plan of the concession"), concessions,
              "/nonconformances?concession=true",
              lambda r: concession_until(loads(r["concession"])))
    if user.has_any("quality_manager", "auditor"):
        queue("verify", _("Verify that the actions were effective"), await _rows(
            f"SELECT {NC_COLUMNS}, n.due_date FROM nonconformance n"
            " WHERE n.state = 'verification' AND (n.owner IS NULL OR n.owner <> {})"
            f" AND {scope} ORDER BY n.due_date LIMIT {team}",
            me, *args,
        ), "/nonconformances?state=verification")
    if user.has_any("quality_manager", "auditor", "engineer"):
        drafts = await _rows(
            "SELECT min(n.id) AS id, n.audit, count(*) AS drafts, min(n.ref) AS ref"
            f" FROM nonconformance n{state_index()} WHERE n.state = 'draft' AND {scope}"
            f" GROUP BY n.audit ORDER BY min(n.id) LIMIT {team}",
            *args,
        )
        titles = {}
        audit_ids = [r["audit"] for r in drafts if r["audit"] is not None]
        if audit_ids:
            for a in await _rows(
                f"SELECT id, title, checklist_key, checklist_version FROM audit"
                f" WHERE id IN ({_ph(audit_ids)})",
                *audit_ids,
            ):
                checklist = await store.get(a["checklist_key"], a["checklist_version"])
                titles[a["id"]] = a["title"] or (checklist.title.get(
                    i18n.current_language.get()) if checklist else a["checklist_key"])
        for row in drafts[:TEAM_LIMIT]:
            what = _("Review and issue %(n)s draft NC(s)", n=row["drafts"])
            title = titles.get(row["audit"]) or _("Raised by hand")
            url = (f"/audits/{row['audit']}/nonconformances" if row["audit"]
                   else "/nonconformances?state=draft")
            todos.append(Todo("drafts", what, row["id"], row["ref"], title, "", "draft",
                              None, False, False, url))
        if len(drafts) > TEAM_LIMIT:
            more.append(Todo("drafts_more", _("Review and issue drafts"), 0, "",
                             _("More in the register"), "", "", None, False, False,
                             "/nonconformances?state=draft"))
    todos.sort(key=lambda t: (t.due is None, t.due or date.max, t.ref))
    return todos + more


async def my_actions_view(user: Any, today: date) -> dict[str, Any]:
    """The page of "My actions": everything, and what is overdue or due soon."""
    policy = await load_policy()
    async with read_snapshot():
        todos = await my_actions(user, today, policy.remind_days_before)
    return {"todos": todos, "today": today, "remind_days": policy.remind_days_before,
            "overdue": [t for t in todos if t.overdue],
            "soon": [t for t in todos if t.soon and not t.overdue]}
