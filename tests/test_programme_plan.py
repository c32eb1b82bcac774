"""The audit programme as a plan the quality manager changes: dates inside the
half-year (refused inline, with what was typed kept), a lead who holds the auditor role
and, when auditing their own department, a reason; the team; rescheduling, reassigning,
cancelling with a reason; what the plan still lacks; the management representative's
approval."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.accounts.tables import User
from server.accounts.users import UserInput, create_user
from server.audits.tables import Audit
from server.changelog.record import SYSTEM
from server.changelog.tables import ChangeLog
from server.core import clock
from server.org.tables import OrgUnit


def _half() -> tuple[str, date, date]:
    today = clock.today()
    if today.month <= 6:
        return f"{today.year}-H1", date(today.year, 1, 1), date(today.year, 6, 30)
    return f"{today.year}-H2", date(today.year, 7, 1), date(today.year, 12, 31)


async def _ids() -> dict[str, int]:
    rows = await User.select(User.id, User.login)
    units = await OrgUnit.select(OrgUnit.id, OrgUnit.code)
    return {**{r["login"]: r["id"] for r in rows}, **{r["code"]: r["id"] for r in units}}


async def _rep() -> None:
    if not await User.exists().where(User.login == "mgmt-rep"):
        await create_user(UserInput(login="mgmt-rep", name="管理者代表",
                                    roles=["management_rep"]), "long-enough-1", SYSTEM)


def plan(client: Any, token: str, **fields: Any) -> Any:
    half, first, _last = _half()
    data = {"_csrf": token, "half": half, "checklist": "org.personnel",
            "planned_date": first.isoformat(), **{k: str(v) for k, v in fields.items()}}
    return client.post("/audits/programme/plan", data=data,
                       headers={"accept-language": "en"})


def test_dates_outside_the_half_year_are_refused_inline(client: Any, as_user: Any,
                                                        run: Any) -> None:
    ids = run(_ids)
    token = as_user("quality_manager")
    half, first, last = _half()
    outside = date(last.year + 1, 5, 15) if first.month == 7 else date(first.year, 7, 15)
    refused = plan(client, token, lead_auditor=ids["auditor"], planned_date=outside.isoformat(),
                   org_unit=ids["PMO"])
    assert refused.status_code == 422
    assert f"Choose a date in {half}" in refused.text
    assert f'value="{outside.isoformat()}"' in refused.text  # what was typed stays
    assert run(Audit.count().where(Audit.planned_date == outside).run) == 0


def test_the_lead_must_be_an_auditor_and_not_from_the_audited_department(
    client: Any, as_user: Any, run: Any
) -> None:
    ids = run(_ids)
    token = as_user("quality_manager")
    not_auditor = plan(client, token, lead_auditor=ids["owner"], org_unit=ids["PMO"])
    assert not_auditor.status_code == 422 and "must hold the auditor role" in not_auditor.text
    # The demo auditor belongs to QA: auditing QA needs a reason.
    own = plan(client, token, lead_auditor=ids["auditor"], org_unit=ids["QA"])
    assert own.status_code == 422 and "belongs to the audited department" in own.text
    allowed = plan(client, token, lead_auditor=ids["auditor"], org_unit=ids["QA"],
                   override_reason="The only auditor trained for this area")
    assert allowed.status_code == 200, allowed.text

    async def overrides() -> list[str]:
        rows = await ChangeLog.select(ChangeLog.reason).where(
            ChangeLog.action == "lead_override")
        return [r["reason"] for r in rows]

    assert "The only auditor trained for this area" in run(overrides)
    team = plan(client, token, lead_auditor=ids["auditor"], org_unit=ids["PMO"],
                team=ids["engineer"])
    assert team.status_code == 422 and "audit team must hold the auditor role" in team.text


def test_reschedule_reassign_and_cancel(client: Any, as_user: Any, run: Any) -> None:
    ids = run(_ids)
    token = as_user("quality_manager")
    _half_label, _first, last = _half()
    assert plan(client, token, lead_auditor=ids["auditor"], org_unit=ids["PMO"],
                checklist="org.process").status_code == 200
    audit = run(Audit.select(Audit.id).where(Audit.checklist_key == "org.process")
                .order_by(Audit.id, ascending=False).first().run)["id"]
    moved = client.post(f"/audits/{audit}/plan", data={
        "_csrf": token, "planned_date": last.isoformat(), "lead_auditor": ids["quality_manager"],
        "reason": "auditor on leave"})
    assert moved.status_code == 200, moved.text
    row = run(Audit.select(Audit.planned_date, Audit.lead_auditor).where(
        Audit.id == audit).first().run)
    assert row == {"planned_date": last, "lead_auditor": ids["quality_manager"]}
    outside = client.post(f"/audits/{audit}/plan", data={
        "_csrf": token, "planned_date": date(last.year + 1, 1, 10).isoformat()})
    assert outside.status_code == 422
    no_reason = client.post(f"/audits/{audit}/cancel", data={"_csrf": token, "reason": ""})
    assert no_reason.status_code == 422
    cancelled = client.post(f"/audits/{audit}/cancel",
                            data={"_csrf": token, "reason": "merged into the H2 audit"})
    assert cancelled.status_code == 200
    assert run(Audit.select(Audit.status, Audit.cancel_reason).where(
        Audit.id == audit).first().run) == {"status": "cancelled",
                                             "cancel_reason": "merged into the H2 audit"}
    assert client.post(f"/audits/{audit}/cancel",
                       data={"_csrf": token, "reason": "again"}).status_code == 409


def test_coverage_and_approval(client: Any, as_user: Any, run: Any) -> None:
    ids = run(_ids)
    run(_rep)
    token = as_user("quality_manager")
    assert plan(client, token, lead_auditor=ids["auditor"], org_unit=ids["PMO"],
                checklist="org.technology").status_code == 200
    half, _first, _last = _half()
    page = client.get(f"/audits?half={half}", headers={"accept-language": "en"}).text
    assert "Not yet in this half-year" in page
    assert "Technology" not in page.split("Not yet in this half-year")[1].split("</section>")[0]
    from tests.support import login

    client.cookies.clear()
    rep = login(client, "mgmt-rep", "long-enough-1")
    approved = client.post("/audits/programme/approve", data={"_csrf": rep, "half": half},
                           headers={"accept-language": "en"})
    assert approved.status_code == 200 and "Approved by the management representative" in (
        approved.text)
    assert client.post("/audits/programme/approve",
                       data={"_csrf": rep, "half": half}).status_code == 409
    as_user("quality_manager")
    assert client.post("/audits/programme/approve",
                       data={"_csrf": token, "half": half}).status_code == 403
