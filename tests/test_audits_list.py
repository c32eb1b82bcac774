"""GET /api/v1/audits: the runs a person may open, filtered, paged, and what changed
since a time. The list answers the same question as each run's own page: every demo role
(and an engineer of another department) lists exactly the runs whose detail answers 200."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.accounts.roles import Role
from server.audits.tables import Audit
from server.demo.assets import load_demo_assets
from tests.test_run_visibility import _outsider


def _all(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get("/api/v1/audits", headers=headers,
                          params={**params, "limit": 2, "offset": len(items)})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            assert len(items) == body["total"]
            return items


@pytest.fixture
def runs(client: Any, api: Any, run: Any) -> list[int]:
    """The demo's runs, an inspection of an asset the outsider does not see, and a project
    audit started by the auditor."""
    if not run(Audit.exists().where(Audit.kind == "inspection").run):
        run(load_demo_assets)
        started = client.post("/api/v1/audits", headers=api("engineer"), json={
            "checklist": "inspection.ups.weekly", "asset": "UPS-A-001"})
        assert started.status_code == 201, started.text
        project = client.post("/api/v1/audits", headers=api("auditor"), json={
            "checklist": "project.startup", "project": 1})
        assert project.status_code == 201, project.text
    return [r["id"] for r in run(Audit.select(Audit.id).run)]


def test_each_role_lists_exactly_the_runs_it_may_open(client: Any, api: Any, run: Any,
                                                        runs: list[int]) -> None:
    people = {role.value: api(role.value) for role in Role}
    people["eng-pmo"] = {"Authorization": f"Bearer {run(_outsider)}"}
    for who, headers in people.items():
        listed = [r["id"] for r in _all(client, headers)]
        opens = {i for i in runs
                 if client.get(f"/api/v1/audits/{i}", headers=headers).status_code == 200}
        assert len(listed) == len(set(listed)), who
        assert set(listed) == opens, who
    # The outsider is not an auditor, so some runs are hidden from them: the parity above
    # compares something.
    assert len(_all(client, people["eng-pmo"])) < len(runs)
    assert len(_all(client, people["quality_manager"])) == len(runs)


def test_newest_first_with_the_fields_of_a_run(client: Any, api: Any, runs: list[int]
                                               ) -> None:
    items = _all(client, api("quality_manager"))
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True)
    first = items[0]
    assert {"id", "kind", "status", "status_label", "checklist", "checklist_version",
            "title", "org_unit", "project", "asset", "lead_auditor", "planned_date",
            "started_at", "submitted_at", "score_percent", "passed", "created_at",
            "updated_at"} <= set(first)
    assert datetime.fromisoformat(first["updated_at"]) >= datetime.fromisoformat(
        first["created_at"]).replace(microsecond=0)


def test_filters_narrow_to_what_they_name(client: Any, api: Any, runs: list[int]) -> None:
    qm = api("quality_manager")
    everything = _all(client, qm)
    for name, field in (("kind", "kind"), ("status", "status"), ("checklist", "checklist")):
        value = everything[0][field]
        narrowed = _all(client, qm, **{name: value})
        assert narrowed and all(r[field] == value for r in narrowed), name
        assert [r["id"] for r in narrowed] == [r["id"] for r in everything
                                               if r[field] == value], name
    inspections = _all(client, qm, asset="UPS-A-001")
    assert inspections and all(r["kind"] == "inspection" for r in inspections)
    assert _all(client, qm, asset="NO-SUCH-ASSET") == []
    projects = [r for r in everything if r["project"] is not None]
    assert projects
    assert {r["id"] for r in _all(client, qm, project=projects[0]["project"])} == {
        r["id"] for r in everything if r["project"] == projects[0]["project"]}
    units = [r for r in everything if r["org_unit"] is not None]
    if units:
        assert {r["id"] for r in _all(client, qm, org_unit=units[0]["org_unit"])} == {
            r["id"] for r in everything if r["org_unit"] == units[0]["org_unit"]}
    # Every run falls in exactly one half-year.
    halves = {f"{y}-H{h}" for y in range(2025, 2028) for h in (1, 2)}
    by_half = [r["id"] for p in sorted(halves) for r in _all(client, qm, period=p)]
    assert sorted(by_half) == sorted(r["id"] for r in everything)


def test_updated_since_gives_what_changed_after_a_time(client: Any, api: Any,
                                                       runs: list[int]) -> None:
    auditor = api("auditor")
    everything = _all(client, auditor)
    mine = next(r for r in everything if r["status"] == "in_progress"
                and r["kind"] != "inspection")
    time.sleep(1.05)  # the change log keeps whole seconds
    since = datetime.now(UTC).replace(microsecond=0)
    assert _all(client, auditor, updated_since=since.isoformat()) == []
    detail = client.get(f"/api/v1/audits/{mine['id']}", headers=auditor).json()
    checklist = client.get(f"/api/v1/checklists/{detail['checklist']}",
                           headers=auditor).json()
    item = checklist["sections"][0]["items"][0]["id"]
    saved = client.put(f"/api/v1/audits/{mine['id']}/answers/{item}", headers=auditor,
                       json={"value": None, "comment": "seen again"})
    assert saved.status_code == 200, saved.text
    changed = _all(client, auditor, updated_since=since.isoformat())
    assert [r["id"] for r in changed] == [mine["id"]]
    assert datetime.fromisoformat(changed[0]["updated_at"]) >= since
    # An offset written as in a hand-typed URL ("+" decoded to a space) still reads.
    local = (since + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S") + " 08:00"
    assert [r["id"] for r in _all(client, auditor, updated_since=local)] == [mine["id"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"kind": "party"}, "kind"),
    ({"status": "done"}, "status"),
    ({"period": "2026-H3"}, "period"),
    ({"period": "last year"}, "period"),
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"project": "seven"}, "project"),
    ({"updated_since": "2026-12-01T08:00:00"}, "updated_since"),
    ({"updated_since": "yesterday"}, "updated_since"),
    ({"stauts": "submitted"}, "stauts"),
])
def test_bad_parameters_are_422_naming_the_field(client: Any, api: Any,
                                                 params: dict[str, str], field: str) -> None:
    answer = client.get("/api/v1/audits", headers=api("auditor"), params=params)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["details"]["invalid"], answer.text


def test_the_list_needs_a_login(client: Any) -> None:
    client.cookies.clear()
    assert client.get("/api/v1/audits").status_code == 401
