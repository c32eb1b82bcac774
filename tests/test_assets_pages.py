"""Asset pages over HTTP: the register, one asset, /a/{code}, starting inspections,
schedules and due lists, with the role checks."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any

import pytest

from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Audit
from server.changelog.record import SYSTEM
from server.core import clock
from server.demo.assets import ASSETS, load_demo_assets
from tests.support import new_user

EN = {"accept-language": "en"}


def _demo(run: Any) -> int:
    return int(run(load_demo_assets))


_codes = itertools.count(1)


def _own_asset(run: Any, category: str = "ups", unit: str = "OPS") -> str:
    """An asset of this test's own, in the demo's department and category (so the demo's
    category schedules apply): the demo's assets are shared by every test here, and
    what a test starts, schedules or retires on one changes what the others see."""
    code = f"{category.upper()}-T{next(_codes):03d}"
    run(_add, code, unit, category)
    return code


async def _asset(code: str) -> dict[str, Any] | None:
    return await Asset.select().where(Asset.code == code).first()


async def _audits_of(code: str) -> list[dict[str, Any]]:
    row = await Asset.select(Asset.id).where(Asset.code == code).first()
    assert row is not None
    return await Audit.select().where(Audit.asset == row["id"]).order_by(Audit.id)


def test_demo_assets_are_idempotent_and_bilingual(client: Any, run: Any,
                                                 template: Any) -> None:
    # The first load was the template's, as at a first `serve`.
    loaded = next(line for line in template.log if line.startswith("demo data loaded: "))
    first = ast.literal_eval(loaded.removeprefix("demo data loaded: "))["assets_and_schedules"]
    assert first >= len(ASSETS)
    assert _demo(run) == 0
    row = run(_asset, "UPS-A-001")
    assert row["name"] == "A栋UPS主机1号" and row["category"] == "ups"
    demo = [a[0] for a in ASSETS]
    sites = {r["site"] for r in run(Asset.select(Asset.site).where(Asset.code.is_in(demo)).run)}
    assert len(sites) == 2


def test_register_lists_and_filters_assets(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    as_user("engineer")
    page = client.get("/assets", headers=EN)
    assert page.status_code == 200
    assert "UPS-A-001" in page.text and escape("A栋UPS主机1号") in page.text
    only_ups = client.get("/assets?category=ups", headers=EN).text
    assert "UPS-B-001" in only_ups and "SRV-A-001" not in only_ups
    search = client.get("/assets?q=%E7%B2%BE%E5%AF%86", headers=EN).text  # 精密
    assert "AC-A-001" in search and "UPS-A-001" not in search


def test_owners_do_not_see_assets(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    as_user("owner")
    for path in ("/assets", "/assets/UPS-A-001", "/a/UPS-A-001", "/scan", "/inspections/due",
                 "/assets/UPS-A-001/qr.png"):
        assert client.get(path).status_code == 403, path


def test_scan_target_redirects_to_login_and_back(client: Any, run: Any) -> None:
    _demo(run)
    client.cookies.clear()
    response = client.get("/a/UPS-A-001", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=/a/UPS-A-001"
    from tests.support import csrf_of

    token = csrf_of(client.get("/login").text)
    back = client.post(
        "/login",
        data={"login": "engineer", "password": "demo", "_csrf": token, "next": "/a/UPS-A-001"},
        follow_redirects=False,
    )
    assert back.headers["location"] == "/a/UPS-A-001"
    page = client.get("/a/UPS-A-001", headers=EN)
    assert page.status_code == 200 and escape("A栋UPS主机1号") in page.text


def test_unknown_code_is_a_helpful_404(client: Any, as_user: Any) -> None:
    as_user("engineer")
    page = client.get("/a/NOPE-404", headers=EN)
    assert page.status_code == 404
    assert "NOPE-404" in page.text
    assert 'action="/scan"' in page.text and 'name="code"' in page.text  # manual entry
    assert 'href="/scan"' in page.text  # and the scan button
    assert "Traceback" not in page.text


def test_typed_code_goes_to_the_asset(client: Any, as_user: Any) -> None:
    as_user("engineer")
    response = client.get("/scan?code=%20ups-a-001%20", follow_redirects=False)
    assert response.headers["location"] == "/a/UPS-A-001"
    odd = client.get("/scan?code=../admin/users", follow_redirects=False, headers=EN)
    assert odd.status_code == 404 and "Unknown asset code" in odd.text
    page = client.get("/scan", headers=EN)
    assert page.status_code == 200
    assert "/static/scan.js" in page.text
    assert 'data-decoder="/static/vendor/jsQR-1.4.0.js"' in page.text


def test_asset_page_shows_due_history_and_open_ncs(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    code = _own_asset(run)

    async def add_history() -> None:
        from server.findings.tables import Nonconformance

        asset = await Asset.objects().get(Asset.code == code)
        done = datetime.now(UTC) - timedelta(days=3)
        audit = Audit(checklist_key="inspection.ups.weekly", checklist_version=1,
                      kind="inspection", asset=asset.id, status="submitted", started_at=done,
                      submitted_at=done, score_percent=62.5, passed=False)
        await audit.save()
        for ref, state in (("NC-2026-0901", "open"), ("NC-2026-0902", "closed")):
            await Nonconformance(ref=ref, year=2026, seq=int(ref[-4:]), source="inspection",
                                 audit=audit.id, asset=asset.id, title=f"Battery {ref}",
                                 severity="major", state=state).save()

    run(add_history)
    as_user("engineer")
    page = client.get(f"/assets/{code}", headers=EN).text
    assert "UPS weekly inspection" in page
    assert "62.5%" in page and "Failed" in page
    assert "Battery NC-2026-0901" in page
    assert "NC-2026-0902" not in page  # closed NCs are not open
    assert f'src="/assets/{code}/qr.svg"' in page


def test_start_inspection_creates_a_run_and_resumes_it(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    code = _own_asset(run)
    token = as_user("engineer")
    form = {"_csrf": token, "checklist": "inspection.ups.weekly"}
    response = client.post(f"/assets/{code}/inspections", data=form, follow_redirects=False)
    assert response.status_code == 303
    audits = run(_audits_of, code)
    assert len(audits) == 1
    audit = audits[0]
    assert response.headers["location"] == f"/audits/{audit['id']}"
    assert audit["status"] == "in_progress" and audit["kind"] == "inspection"
    assert audit["checklist_key"] == "inspection.ups.weekly"
    assert audit["org_unit"] == run(_asset, code)["org_unit"]
    again = client.post(f"/assets/{code}/inspections", data=form, follow_redirects=False)
    assert again.headers["location"] == f"/audits/{audit['id']}"  # resumed, not a second run
    assert len(run(_audits_of, code)) == 1
    assert f'href="/audits/{audit["id"]}"' in client.get(f"/a/{code}", headers=EN).text
    wrong = client.post(f"/assets/{code}/inspections",
                        data={"_csrf": token, "checklist": "inspection.server.weekly"})
    assert wrong.status_code == 422
    no_csrf = client.post(f"/assets/{code}/inspections", data={"checklist": "x"})
    assert no_csrf.status_code == 403


def test_retired_assets_are_not_due_and_cannot_be_started(
    client: Any, run: Any, as_user: Any
) -> None:
    _demo(run)
    code = _own_asset(run)
    run(Asset.update({Asset.status: "retired"}).where(Asset.code == code).run)
    token = as_user("engineer")
    page = client.get(f"/a/{code}", headers=EN).text
    assert "not in service" in page
    refused = client.post(f"/assets/{code}/inspections",
                          data={"_csrf": token, "checklist": "inspection.ups.weekly"})
    assert refused.status_code == 409
    due = client.get("/inspections/due?within=90", headers=EN).text
    assert code not in due and "UPS-A-001" in due


def test_create_and_edit_asset_through_the_form(client: Any, run: Any, as_user: Any) -> None:
    token = as_user("quality_manager")
    bad = client.post("/assets", data={"_csrf": token, "code": "bad code!", "name": "",
                                       "category": "toaster"}, headers=EN)
    assert bad.status_code == 422
    assert "A name is required." in bad.text and "Unknown category" in bad.text
    assert run(_asset, "BAD CODE!") is None
    made = client.post("/assets", data={"_csrf": token, "code": "ups-c3-009", "name": "UPS 九号",
                                        "category": "ups", "site": "C", "status": "in_service"},
                       follow_redirects=False)
    assert made.headers["location"] == "/assets/UPS-C3-009"
    dup = client.post("/assets", data={"_csrf": token, "code": "UPS-C3-009", "name": "x",
                                       "category": "ups"}, headers=EN)
    assert dup.status_code == 422 and "This code is taken." in dup.text
    edit = client.post("/assets/UPS-C3-009/edit",
                       data={"_csrf": token, "code": "UPS-C3-009", "name": "UPS 九号",
                             "category": "ups", "site": "C", "status": "out_of_service",
                             "reason": "moved to repair"}, follow_redirects=False)
    assert edit.status_code in (302, 303)
    assert run(_asset, "UPS-C3-009")["status"] == "out_of_service"
    page = client.get("/assets/UPS-C3-009", headers=EN).text
    assert "moved to repair" in page and "out_of_service" in page  # the change log


async def _add(code: str, unit: str, category: str = "system") -> None:
    from server.org.tables import OrgUnit

    unit_id = (await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == unit).first())["id"]
    await Asset(code=code, name=code, category=category, org_unit=unit_id).save()


def test_engineers_edit_only_their_own_assets(client: Any, run: Any, as_user: Any) -> None:
    # The demo's schedules give the demo engineer's department every category, the PMO's
    # system (SYS-HIS) too: an engineer of a department of this test's own does not have it.
    unit = run(_new_unit)
    engineer = run(lambda: new_user("engineer", org_unit=unit["id"]))
    code = _own_asset(run, "ups", unit["code"])
    token = as_user(engineer)
    his = client.get("/assets/SYS-HIS", headers=EN)  # PMO: not the engineer's
    assert his.status_code == 403
    assert "department or project you are not part of" in his.text
    assert client.get("/assets/SYS-HIS/edit").status_code == 404
    assert "SYS-HIS" not in client.get("/assets").text
    mine = client.get(f"/assets/{code}/edit")
    assert mine.status_code == 200
    from server.org.tables import OrgUnit

    pmo = run(OrgUnit.select(OrgUnit.id).where(OrgUnit.code == "PMO").first().run)["id"]
    moved = client.post(f"/assets/{code}/edit",
                        data={"_csrf": token, "code": code, "name": "x", "category": "ups",
                              "org_unit": str(pmo), "status": "in_service"})
    assert moved.status_code == 403
    as_user("auditor")
    assert client.get("/assets/SYS-HIS").status_code == 200  # auditors read everything
    assert client.get("/assets/new").status_code == 403
    # a schedule assigning the PMO system to the engineer's department lets him see it
    run(_assign_systems_to, unit["code"])
    as_user(engineer)
    assert client.get("/assets/SYS-HIS").status_code == 200


_units = itertools.count(1)


async def _new_unit() -> dict[str, Any]:
    from server.org.tables import OrgUnit

    n = next(_units)
    unit = OrgUnit(code=f"T{n}", name_zh=f"测试部{n}", name_en=f"Test unit {n}")
    await unit.save()
    return {"id": unit.id, "code": unit.code}


async def _assign_systems_to(unit: str) -> None:
    from server.org.tables import OrgUnit

    unit_id = (await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == unit).first())["id"]
    await InspectionSchedule(category="system", checklist_key="inspection.system.pm_quarterly",
                             frequency="quarterly", start_date=clock.today(),
                             assignee_org_unit=unit_id).save()


@pytest.mark.parametrize("role", ["engineer", "quality_manager"])
def test_due_list_is_ordered_by_urgency(client: Any, run: Any, as_user: Any, role: str) -> None:
    _demo(run)
    as_user(role)
    page = client.get("/inspections/due?view=all&within=90", headers=EN)
    if role == "engineer":
        page = client.get("/inspections/due?within=90", headers=EN)
    assert page.status_code == 200
    text = page.text
    # network devices (start 9 days ago, grace 1) are overdue; UPS (start in 2 days) upcoming
    assert text.index("NET-A-CORE-01") < text.index("UPS-A-001")
    assert "Overdue by" in text and "Due in 2 days" in text


def test_due_for_me_follows_assignment(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    as_user("quality_manager")  # not an engineer and not assigned: nothing is "mine"
    mine = client.get("/inspections/due?view=mine&within=90", headers=EN).text
    assert "UPS-A-001" not in mine
    overdue = client.get("/inspections/due?view=overdue", headers=EN).text
    assert "NET-A-CORE-01" in overdue and "UPS-A-001" not in overdue
    as_user("engineer")
    assert client.get("/inspections/due?view=overdue").status_code == 200
    assert "Everyone" not in client.get("/inspections/due", headers=EN).text


def test_schedule_pages_for_quality_managers_only(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    code = _own_asset(run)
    as_user("engineer")
    assert client.get("/inspections/schedules").status_code == 403
    token = as_user("quality_manager")
    listing = client.get("/inspections/schedules", headers=EN)
    assert listing.status_code == 200 and "UPS weekly inspection" in listing.text
    bad = client.post("/inspections/schedules", headers=EN,
                      data={"_csrf": token, "asset_code": code,
                            "checklist_key": "inspection.server.weekly", "frequency": "monthly",
                            "start_date": "2024-01-31", "grace_days": "3", "active": "on"})
    assert bad.status_code == 422 and "This checklist is for Server assets." in bad.text
    made = client.post("/inspections/schedules", follow_redirects=False,
                       data={"_csrf": token, "asset_code": code,
                             "checklist_key": "inspection.ups.weekly", "frequency": "monthly",
                             "start_date": "2024-01-31", "grace_days": "3", "active": "on"})
    assert made.headers["location"] == f"/assets/{code}"
    asset_id = run(_asset, code)["id"]
    rows = run(InspectionSchedule.select().where(InspectionSchedule.asset == asset_id).run)
    assert len(rows) == 1 and rows[0]["frequency"] == "monthly"
    assert rows[0]["start_date"] == date(2024, 1, 31)
    twice = client.post("/inspections/schedules", headers=EN,
                        data={"_csrf": token, "asset_code": code,
                              "checklist_key": "inspection.ups.weekly", "frequency": "weekly",
                              "start_date": "2024-01-01", "active": "on"})
    assert twice.status_code == 422 and "already scheduled" in twice.text
    edit = client.post(f"/inspections/schedules/{rows[0]['id']}", follow_redirects=False,
                       data={"_csrf": token, "asset_code": code,
                             "checklist_key": "inspection.ups.weekly", "frequency": "every_n_days",
                             "every_n_days": "10", "start_date": "2024-01-31", "grace_days": "0",
                             "reason": "battery ageing"})
    assert edit.status_code in (302, 303)
    row = run(InspectionSchedule.select().where(InspectionSchedule.id == rows[0]["id"]).first().run)
    assert row["every_n_days"] == 10 and row["active"] is False
    history = client.get(f"/inspections/schedules/{row['id']}", headers=EN).text
    assert "battery ageing" in history


def test_asset_schedule_overrides_the_category_one(client: Any, run: Any, as_user: Any) -> None:
    _demo(run)
    code = _own_asset(run)

    async def override() -> None:
        asset = await Asset.objects().get(Asset.code == code)
        from server.changelog import record

        await record.create(InspectionSchedule(
            asset=asset.id, checklist_key="inspection.ups.weekly", frequency="every_n_days",
            every_n_days=3, start_date=clock.today() - timedelta(days=30), grace_days=0,
        ), SYSTEM)

    run(override)
    as_user("engineer")
    page = client.get(f"/a/{code}", headers=EN).text
    assert page.count("UPS weekly inspection") >= 1
    assert "Every 3 days" in page
    assert page.count('name="checklist" value="inspection.ups.weekly"') == 1
