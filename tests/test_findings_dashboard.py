"""The dashboard's figures against a hand-counted set of NCs and audits."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from server.accounts.tables import User
from server.audits.tables import Audit
from server.findings.dashboard import DashFilters, audit_scores, dashboard, half_years
from server.findings.tables import Nonconformance
from server.org.tables import OrgUnit, Project
from tests.test_findings_support import last_seq

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T02:00:00+00:00")


@dataclass(frozen=True)
class Made:
    """The hand-counted set: NC ids and references by number, and its own departments,
    projects and people, so their rows of the figures hold only this set (the database
    also holds the demo's NCs and audits, and other tests' sets)."""

    tag: str  # in the codes and logins of its departments, projects and people
    ids: dict[int, int]
    refs: dict[int, str]
    orgs: dict[str, int]  # "OPS", "QA"
    projects: dict[str, int]  # "P1", "P2"
    people: dict[str, int]  # "owner", "engineer"


def named(group: dict[str, int]) -> dict[int, str]:
    return {v: k for k, v in group.items()}


_sets = itertools.count(1)


async def fixtures() -> Made:
    """Eleven NCs (numbered as in the comments) and some scored audits."""
    tag = str(next(_sets))
    orgs: dict[str, int] = {}
    for code in ("OPS", "QA"):
        unit = OrgUnit(code=f"{code}-{tag}", name_zh=code, name_en=code)
        await unit.save()
        orgs[code] = unit.id
    projects: dict[str, int] = {}
    for code in ("P1", "P2"):
        project = Project(code=f"{code}-{tag}", name_zh=code, name_en=code)
        await project.save()
        projects[code] = project.id
    people: dict[str, int] = {}
    for login in ("owner", "engineer"):
        person = User(login=f"{login}-{tag}", name=login, password_hash="-")
        await person.save()
        people[login] = person.id
    owner, engineer = people["owner"], people["engineer"]
    ops, qa = orgs["OPS"], orgs["QA"]
    p1, p2 = projects["P1"], projects["P2"]
    rows = [
        # n, severity, state, issued, due, closed, org, project, owner, extra
        (1, "major", "open", "2026-06-03", "2026-06-10", None, ops, p1, owner, {}),
        (2, "major", "implementing", "2026-04-20", "2026-07-01", None, ops, p1, engineer, {}),
        (3, "minor", "root_cause", "2026-03-01", "2026-06-14", None, qa, p2, owner, {}),
        (4, "minor", "verification", "2026-04-01", "2026-06-15", None, qa, None, owner, {}),
        (5, "observation", "open", "2026-06-14", None, None, ops, None, None, {}),
        (6, "major", "closed", "2026-01-10", "2026-02-09", "2026-02-09", ops, None, owner, {}),
        (7, "minor", "closed", "2026-05-01", "2026-05-31", "2026-05-11", qa, None, owner,
         {"reopen_count": 1}),
        (8, "minor", "cancelled", "2026-05-01", "2026-05-31", None, ops, None, owner, {}),
        (9, "major", "closed", "2024-01-01", "2024-01-08", "2024-02-01", ops, None, owner, {}),
        (10, "major", "draft", None, None, None, ops, None, None, {}),
        (11, "minor", "containment", "2026-05-20", "2026-08-01", None, ops, p2, engineer,
         {"concession": '{"status": "active", "until": "2026-08-01", "plan": "May window"}'}),
    ]
    last = await last_seq(2026)  # numbered on from the NCs already there
    ids: dict[int, int] = {}
    refs: dict[int, str] = {}
    for n, sev, state, issued, due, closed, org, project, who, extra in rows:
        if n == 11:
            extra = {**extra, "recurrence_of": ids[7]}
        nc = Nonconformance(
            ref=f"NC-2026-{last + n:04d}", year=2026, seq=last + n, source="audit",
            title=f"Fixture {n}",
            severity=sev, state=state, raised_at=at(issued or "2026-06-14"),
            issued_at=at(issued) if issued else None,
            due_date=date.fromisoformat(due) if due else None,
            closed_at=at(closed) if closed else None, org_unit=org, project=project,
            owner=who, **extra)
        await nc.save()
        ids[n], refs[n] = nc.id, nc.ref
    audits = [
        (ops, "org_audit", "2026-03-01T02:00:00+00:00", 80.0),
        (ops, "project_audit", "2026-05-01T02:00:00+00:00", 90.0),
        (ops, "org_audit", "2025-08-01T02:00:00+00:00", 70.0),
        (qa, "org_audit", "2025-12-31T17:00:00+00:00", 60.0),  # 1 January in Shanghai
        (qa, "inspection", "2026-02-01T02:00:00+00:00", 100.0),
        (ops, "org_audit", "2022-01-01T02:00:00+00:00", 10.0),  # too old
        (ops, "org_audit", "2026-02-01T02:00:00+00:00", None),  # not scored
    ]
    for org, kind, submitted, score in audits:
        await Audit.insert(Audit(checklist_key="org.quality_management", checklist_version=1,
                                 kind=kind, org_unit=org, status="submitted",
                                 submitted_at=datetime.fromisoformat(submitted),
                                 score_percent=score))
    return Made(tag, ids, refs, orgs, projects, people)


def by_key(rows: list[dict[str, Any]], names: dict[int, str]) -> dict[Any, tuple[int, int]]:
    return {names.get(r["id"], r["id"]): (r["open"], r["overdue"]) for r in rows}


def grew(after: dict[Any, Any], before: dict[Any, Any]) -> dict[Any, Any]:
    """By how much each count (or pair of counts) grew; those that did not are left out."""
    out = {}
    for key in after.keys() | before.keys():
        a, b = after.get(key), before.get(key)
        if isinstance(a or b, tuple):
            change: Any = tuple(x - y for x, y in zip(a or (0, 0), b or (0, 0), strict=True))
        else:
            change = (a or 0) - (b or 0)
        if change not in (0, (0, 0)):
            out[key] = change
    return out


def mean_with(before: float | None, count: int, added: list[float]) -> float:
    """The mean of `count` values averaging `before`, and the added ones."""
    return ((before or 0.0) * count + sum(added)) / (count + len(added))


def own(rows: list[dict[str, Any]], made: Made) -> list[int]:
    """The ids of the set's NCs among these rows, in their order."""
    mine = set(made.ids.values())
    return [r["id"] for r in rows if r["id"] in mine]


def test_dashboard_numbers_match_the_hand_count(client: Any, run: Any) -> None:
    before = run(dashboard, DashFilters(), TODAY, NOW)
    made = run(fixtures)
    ids = made.ids
    orgs, projects, people = named(made.orgs), named(made.projects), named(made.people)
    d = run(dashboard, DashFilters(), TODAY, NOW)
    o, o0 = d["open"], before["open"]
    assert o["open"] - o0["open"] == 6
    assert grew(o["by_severity"], o0["by_severity"]) == {
        "major": 2, "minor": 3, "observation": 1}
    assert o["overdue"] - o0["overdue"] == 2
    assert grew(o["overdue_by_severity"], o0["overdue_by_severity"]) == {
        "major": 1, "minor": 1}
    assert grew(o["by_state"], o0["by_state"]) == {
        "open": 2, "implementing": 1, "root_cause": 1, "verification": 1, "containment": 1}
    assert o["matrix"]["major"]["open"] - o0["matrix"]["major"]["open"] == 1
    assert o["matrix"]["observation"]["open"] - o0["matrix"]["observation"]["open"] == 1
    assert [a - b for a, b in zip(o["ageing"], o0["ageing"], strict=True)] == [3, 1, 1, 1]
    # The set's own departments, projects and people hold only its NCs; "none" is shared.
    assert {k: v for k, v in by_key(d["by_org_unit"], orgs).items() if k in made.orgs} == {
        "OPS": (4, 1), "QA": (2, 1)}
    by_project = by_key(d["by_project"], projects)
    assert {k: v for k, v in by_project.items() if k in made.projects} == {
        "P1": (2, 1), "P2": (2, 1)}
    assert grew(by_project, by_key(before["by_project"], projects)).get(None) == (2, 0)
    by_owner = by_key(d["by_owner"], people)
    assert {k: v for k, v in by_owner.items() if k in made.people} == {
        "owner": (3, 2), "engineer": (2, 0)}
    assert grew(by_owner, by_key(before["by_owner"], people)).get(None) == (1, 0)
    assert own(d["overdue_list"], made) == [ids[1], ids[3]]
    assert next(r for r in d["overdue_list"] if r["id"] == ids[1])["days_overdue"] == 5
    c, c0 = d["closure"], before["closure"]
    # Raised in the last 12 months: 1-8, 10, 11; issued (no drafts, not cancelled): 8.
    assert (c["issued"] - c0["issued"], c["closed"] - c0["closed"]) == (8, 2)
    assert c["rate"] == 100.0 * c["closed"] / c["issued"]
    assert abs(c["mean_days"] - mean_with(c0["mean_days"], c0["closed"], [30, 10])) < 1e-6
    assert (c["reopened"] - c0["reopened"], c["repeats"] - c0["repeats"],
            c["drafts"] - c0["drafts"]) == (1, 1, 1)
    assert own(d["recurrences"], made) == [ids[11], ids[7]]
    repeat = next(r for r in d["recurrences"] if r["id"] == ids[11])
    assert repeat["repeat_of_ref"] == made.refs[7]
    assert own(d["concessions"], made) == [ids[11]]
    scores = run(audit_scores, DashFilters(), TODAY)
    assert scores["halves"] == [(2023, 2), (2024, 1), (2024, 2), (2025, 1), (2025, 2),
                                (2026, 1)]
    table = {orgs[u["id"]]: [v and (round(v["score"], 2), v["count"]) for v in u["values"]]
             for u in scores["units"] if u["id"] in orgs}
    assert table == {
        "OPS": [None, None, None, None, (70.0, 1), (85.0, 2)],
        "QA": [None, None, None, None, None, (60.0, 1)],
    }


def test_dashboard_filters(client: Any, run: Any) -> None:
    before = {
        "major": run(dashboard, DashFilters(severity="major"), TODAY, NOW),
        "everything": run(dashboard, DashFilters(months=0), TODAY, NOW),
    }
    made = run(fixtures)
    orgs = named(made.orgs)
    qa = run(dashboard, DashFilters(org_unit=made.orgs["QA"]), TODAY, NOW)
    assert qa["open"]["open"] == 2 and qa["open"]["overdue"] == 1
    assert qa["closure"]["issued"] == 3 and qa["closure"]["closed"] == 1
    assert qa["closure"]["mean_days"] == 10.0
    major = run(dashboard, DashFilters(severity="major"), TODAY, NOW)
    assert major["open"]["open"] - before["major"]["open"]["open"] == 2
    assert major["open"]["overdue"] - before["major"]["open"]["overdue"] == 1
    everything = run(dashboard, DashFilters(months=0), TODAY, NOW)
    closed_before = before["everything"]["closure"]
    assert everything["closure"]["closed"] - closed_before["closed"] == 3  # the 2024 one too
    assert abs(everything["closure"]["mean_days"] - mean_with(
        closed_before["mean_days"], closed_before["closed"], [30, 10, 31])) < 1e-6
    inspections = run(audit_scores, DashFilters(score_kind="inspections"), TODAY)
    assert [(orgs[u["id"]], u["values"][-1]["score"]) for u in inspections["units"]
            if u["id"] in orgs] == [("QA", 100.0)]
    by_project = run(audit_scores, DashFilters(scores_by="project"), TODAY)
    assert [u["id"] for u in by_project["units"]] == [None]  # audits had no project
    qa_only = run(audit_scores, DashFilters(org_unit=made.orgs["QA"]), TODAY)
    assert [orgs[u["id"]] for u in qa_only["units"]] == ["QA"]


_KPI = re.compile(r'<span class="nc-kpi-value" id="kpi-(\w+)">([^<]*)</span>')


def test_the_dashboard_page_shows_the_same_numbers(client: Any, run: Any,
                                                   as_user: Any) -> None:
    as_user("quality_manager")

    def kpis(html: str) -> dict[str, int]:
        return {k: int(v) for k, v in _KPI.findall(html) if k in ("open", "recur", "drafts")}

    before = kpis(client.get("/dashboard?months=0").text)
    made = run(fixtures)
    html = client.get("/dashboard?months=0").text
    # The real today is later than the fixtures' 15 June 2026; open counts do not depend on it.
    assert grew(kpis(html), before) == {"open": 6, "recur": 2, "drafts": 1}
    assert made.refs[11] in html  # under concession and a recurrence
    assert 'hx-get="/dashboard/scores?' in html
    fragment = client.get("/dashboard/scores", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<section") and f"OPS-{made.tag}" in fragment
    assert "<html" in client.get("/dashboard/scores?scores_by=project").text


def test_half_years() -> None:
    assert half_years(date(2026, 1, 1), 3) == [(2025, 1), (2025, 2), (2026, 1)]
    assert half_years(date(2026, 7, 1), 2) == [(2026, 1), (2026, 2)]
