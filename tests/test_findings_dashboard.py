"""The dashboard's figures against a hand-counted set of NCs and audits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from server.audits.tables import Audit
from server.findings.dashboard import DashFilters, audit_scores, dashboard, half_years
from server.findings.tables import Nonconformance
from tests.test_findings_support import org_ids, project_ids, user_ids

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T02:00:00+00:00")


async def fixtures() -> dict[int, int]:
    """Eleven NCs (numbered as in the comments) and some scored audits."""
    users, orgs, projects = await user_ids(), await org_ids(), await project_ids()
    owner, engineer = users["owner"], users["engineer"]
    ops, qa = orgs["OPS"], orgs["QA"]
    p1, p2 = projects["P-2026-001"], projects["P-2026-002"]
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
    ids: dict[int, int] = {}
    for n, sev, state, issued, due, closed, org, project, who, extra in rows:
        if n == 11:
            extra = {**extra, "recurrence_of": ids[7]}
        nc = Nonconformance(
            ref=f"NC-2026-{n:04d}", year=2026, seq=n, source="audit", title=f"Fixture {n}",
            severity=sev, state=state, raised_at=at(issued or "2026-06-14"),
            issued_at=at(issued) if issued else None,
            due_date=date.fromisoformat(due) if due else None,
            closed_at=at(closed) if closed else None, org_unit=org, project=project,
            owner=who, **extra)
        await nc.save()
        ids[n] = nc.id
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
    return ids


def by_key(rows: list[dict[str, Any]], names: dict[int, str]) -> dict[Any, tuple[int, int]]:
    return {names.get(r["id"], r["id"]): (r["open"], r["overdue"]) for r in rows}


def test_dashboard_numbers_match_the_hand_count(client: Any, run: Any) -> None:
    ids = run(fixtures)
    orgs, projects, users = run(org_ids), run(project_ids), run(user_ids)
    d = run(dashboard, DashFilters(), TODAY, NOW)
    o = d["open"]
    assert o["open"] == 6
    assert o["by_severity"] == {"major": 2, "minor": 3, "observation": 1}
    assert o["overdue"] == 2
    assert o["overdue_by_severity"] == {"major": 1, "minor": 1, "observation": 0}
    assert {k: v for k, v in o["by_state"].items() if v} == {
        "open": 2, "implementing": 1, "root_cause": 1, "verification": 1, "containment": 1}
    assert o["matrix"]["major"]["open"] == 1 and o["matrix"]["observation"]["open"] == 1
    assert o["ageing"] == [3, 1, 1, 1]
    org_names = {v: k for k, v in orgs.items()}
    assert by_key(d["by_org_unit"], org_names) == {"OPS": (4, 1), "QA": (2, 1)}
    project_names = {v: k for k, v in projects.items()}
    assert by_key(d["by_project"], project_names) == {
        "P-2026-001": (2, 1), "P-2026-002": (2, 1), None: (2, 0)}
    user_names = {v: k for k, v in users.items()}
    assert by_key(d["by_owner"], user_names) == {"owner": (3, 2), "engineer": (2, 0),
                                                 None: (1, 0)}
    assert [r["id"] for r in d["overdue_list"]] == [ids[1], ids[3]]
    assert d["overdue_list"][0]["days_overdue"] == 5
    c = d["closure"]
    # Raised in the last 12 months: 1-8, 10, 11; issued (no drafts, not cancelled): 8.
    assert (c["issued"], c["closed"]) == (8, 2)
    assert c["rate"] == 25.0
    assert abs(c["mean_days"] - 20.0) < 1e-6
    assert (c["reopened"], c["repeats"], c["drafts"]) == (1, 1, 1)
    assert [r["id"] for r in d["recurrences"]] == [ids[11], ids[7]]
    assert d["recurrences"][0]["repeat_of_ref"] == "NC-2026-0007"
    assert [r["id"] for r in d["concessions"]] == [ids[11]]
    scores = run(audit_scores, DashFilters(), TODAY)
    assert scores["halves"] == [(2023, 2), (2024, 1), (2024, 2), (2025, 1), (2025, 2),
                                (2026, 1)]
    table = {u["code"]: [v and (round(v["score"], 2), v["count"]) for v in u["values"]]
             for u in scores["units"]}
    assert table == {
        "OPS": [None, None, None, None, (70.0, 1), (85.0, 2)],
        "QA": [None, None, None, None, None, (60.0, 1)],
    }


def test_dashboard_filters(client: Any, run: Any) -> None:
    run(fixtures)
    orgs = run(org_ids)
    qa = run(dashboard, DashFilters(org_unit=orgs["QA"]), TODAY, NOW)
    assert qa["open"]["open"] == 2 and qa["open"]["overdue"] == 1
    assert qa["closure"]["issued"] == 3 and qa["closure"]["closed"] == 1
    assert qa["closure"]["mean_days"] == 10.0
    major = run(dashboard, DashFilters(severity="major"), TODAY, NOW)
    assert major["open"]["open"] == 2 and major["open"]["overdue"] == 1
    everything = run(dashboard, DashFilters(months=0), TODAY, NOW)
    assert everything["closure"]["closed"] == 3  # the 2024 one too
    assert abs(everything["closure"]["mean_days"] - (30 + 10 + 31) / 3) < 1e-6
    inspections = run(audit_scores, DashFilters(score_kind="inspections"), TODAY)
    assert [(u["code"], u["values"][-1]["score"]) for u in inspections["units"]] == [
        ("QA", 100.0)]
    by_project = run(audit_scores, DashFilters(scores_by="project"), TODAY)
    assert [u["id"] for u in by_project["units"]] == [None]  # audits had no project
    qa_only = run(audit_scores, DashFilters(org_unit=orgs["QA"]), TODAY)
    assert [u["code"] for u in qa_only["units"]] == ["QA"]


def test_the_dashboard_page_shows_the_same_numbers(client: Any, run: Any,
                                                   as_user: Any) -> None:
    run(fixtures)
    as_user("quality_manager")
    html = client.get("/dashboard?months=0").text
    # The real today is later than the fixtures' 15 June 2026; open counts do not depend on it.
    assert '<span class="nc-kpi-value" id="kpi-open">6</span>' in html
    assert '<span class="nc-kpi-value" id="kpi-recur">2</span>' in html
    assert '<span class="nc-kpi-value" id="kpi-drafts">1</span>' in html
    assert "NC-2026-0011" in html  # under concession and a recurrence
    assert 'hx-get="/dashboard/scores?' in html
    fragment = client.get("/dashboard/scores", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<section") and "OPS" in fragment
    assert "<html" in client.get("/dashboard/scores?scores_by=project").text


def test_half_years() -> None:
    assert half_years(date(2026, 1, 1), 3) == [(2025, 1), (2025, 2), (2026, 1)]
    assert half_years(date(2026, 7, 1), 2) == [(2026, 1), (2026, 2)]
