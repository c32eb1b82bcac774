"""Ids that name no record, or the wrong kind of person, are refused with the field named
(422), never passed on to become a database error; and text that no spreadsheet can
hold, stored before such text was refused, never breaks an export."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from server.accounts.tables import User
from server.core import clock
from server.demo.assets import load_demo_assets
from server.findings.tables import Nonconformance


def _half() -> str:
    today = clock.today()
    return f"{today.year}-H{1 if today.month <= 6 else 2}"


def test_the_lead_auditor_must_be_an_auditor(client: Any, as_user: Any, run: Any) -> None:
    token = as_user("quality_manager")
    owner = run(User.select(User.id).where(User.login == "owner").first().run)["id"]
    refused = client.post("/audits/programme/plan", data={
        "_csrf": token, "half": _half(), "checklist": "org.personnel",
        "lead_auditor": str(owner), "planned_date": clock.today().isoformat()})
    assert refused.status_code == 422


def test_plans_and_runs_of_unknown_departments_are_422(client: Any, as_user: Any, api: Any,
                                                      run: Any) -> None:
    token = as_user("quality_manager")
    auditor = run(User.select(User.id).where(User.login == "auditor").first().run)["id"]
    refused = client.post("/audits/programme/plan", data={
        "_csrf": token, "half": _half(), "checklist": "org.personnel", "org_unit": "999999",
        "lead_auditor": str(auditor), "planned_date": clock.today().isoformat()})
    assert refused.status_code == 422
    started = client.post("/api/v1/audits", headers=api("auditor"),
                          json={"checklist": "org.personnel", "project": 999999})
    assert started.status_code == 422
    assert set(started.json()["error"]["details"]["invalid"]) == {"project"}


def test_assets_and_schedules_of_unknown_owners_are_422(client: Any, as_user: Any,
                                                       run: Any) -> None:
    run(load_demo_assets)
    token = as_user("quality_manager")
    asset = client.post("/assets", data={"_csrf": token, "code": "REF-1", "name": "x",
                                         "category": "ups", "org_unit": "999999"})
    assert asset.status_code == 422 and "REF-1" in asset.text
    schedule = client.post("/inspections/schedules", data={
        "_csrf": token, "checklist_key": "inspection.ups.weekly", "category": "ups",
        "frequency": "weekly", "start_date": clock.today().isoformat(),
        "assignee": "999999", "active": "on"})
    assert schedule.status_code == 422


def test_a_control_character_stored_earlier_does_not_break_the_exports(
    client: Any, api: Any, as_user: Any, run: Any
) -> None:
    made = client.post("/api/v1/nonconformances", headers=api("quality_manager"), json={
        "source": "manual", "title": "Bell", "severity": "minor", "description": "d"})
    assert made.status_code == 201
    run(Nonconformance.update({Nonconformance.title: "Bell \x01 rang"}).where(
        Nonconformance.id == made.json()["id"]).run)
    as_user("quality_manager")
    xlsx = client.get("/nonconformances/export.xlsx?state=any")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert any("Bell  rang" in str(c.value) for row in sheet.iter_rows() for c in row)
