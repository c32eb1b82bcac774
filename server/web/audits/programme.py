"""The audit programme page, planning and changing audits, its approval, and starting
runs (planned or ad hoc)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server.accounts.roles import Role
from server.accounts.users import users_holding
from server.audits import planning, programme, service
from server.audits.access import APPROVERS, PLANNERS, STARTERS, VIEWERS
from server.audits.schemas import CancelForm, PlanForm, StartForm
from server.checklists import store
from server.core import clock
from server.core.errors import Conflict, Invalid
from server.core.inputs import parse
from server.org.queries import org_units, projects
from server.web.bodies import read_form

Req = Request[Any, Any, Any]


async def _programme_page(request: Req, half: str | None, typed: dict[str, Any] | None = None,
                          problems: dict[str, str] | None = None, status: int = 200
                          ) -> Template:
    user = request.scope["user"]
    year, h = programme.parse_half(half, clock.today())
    view = await programme.half_year(year, h, user)
    return Template("audits/programme.html", status_code=status, context={
        "year": year, "half": h, "half_label": programme.half_label(year, h),
        "prev": programme.half_label(year - (h == 1), 2 if h == 1 else 1),
        "next": programme.half_label(year + (h == 2), 1 if h == 2 else 2),
        "programme": view.programme, "rows": view.planned, "share": view.share,
        "ad_hoc": view.ad_hoc,
        "coverage": await planning.coverage(year, h) if user.sees_everything else None,
        "summaries": {s.key: s for s in await store.latest_summaries()},
        "auditors": await users_holding(Role.auditor, Role.quality_manager)
        if user.sees_everything else [],
        "org_units": await org_units(),
        "projects": await projects(),
        "org_checklists": await store.latest_summaries("org_audit"),
        "project_checklists": await store.latest_summaries("project_audit"),
        "today": clock.today(),
        "typed": typed or {}, "problems": problems or {},
        "can_plan": user.has_any(Role.quality_manager, Role.admin),
        "can_approve": user.has(Role.management_rep),
    })


@get("/audits", name="audits:programme", opt=VIEWERS)
async def programme_page(request: Req, half: FromQuery[str | None] = None) -> Template:
    return await _programme_page(request, half)


@post("/audits/programme/plan", name="audits:plan", opt=PLANNERS)
async def plan(request: Req) -> Template | Redirect:
    """Add a planned audit to the half-year's programme; a refused one comes back with
    what was typed and each problem beside its field."""
    raw = await read_form(request)
    problems: dict[str, str] = {}
    form = parse(PlanForm, raw, problems)
    typed = {k: v for k, v in raw.items() if k != "_csrf"}
    if not problems:
        try:
            year, h = await planning.plan_audit(form, request.scope["user"], clock.today())
        except Invalid as exc:
            problems = exc.problems
        else:
            return Redirect(f"/audits?half={programme.half_label(year, h)}")
    return await _programme_page(request, form.half, typed, problems, 422)


@post("/audits/programme/approve", name="audits:programme:approve", opt=APPROVERS)
async def approve(request: Req) -> Redirect:
    form = parse(PlanForm, await read_form(request))
    year, h = programme.parse_half(form.half, clock.today())
    await planning.approve(year, h, request.scope["user"])
    return Redirect(f"/audits?half={programme.half_label(year, h)}")


async def _plan_page(request: Req, audit_id: int, typed: dict[str, Any] | None = None,
                     problems: dict[str, str] | None = None, status: int = 200) -> Template:
    audit = await service.get_audit(audit_id)
    return Template("audits/plan_form.html", status_code=status, context={
        "audit": audit, "team": sorted(await service.team_of(audit_id)),
        "auditors": await users_holding(Role.auditor, Role.quality_manager),
        "summary": await store.latest_summary(audit["checklist_key"]),
        "typed": typed or {}, "problems": problems or {},
    })


@get("/audits/{audit_id:int}/plan", name="audits:plan:edit", opt=PLANNERS)
async def plan_page(request: Req, audit_id: FromPath[int]) -> Template:
    return await _plan_page(request, audit_id)


@post("/audits/{audit_id:int}/plan", name="audits:plan:update", opt=PLANNERS)
async def replan(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    raw = await read_form(request)
    problems: dict[str, str] = {}
    form = parse(PlanForm, raw, problems)
    typed = {k: v for k, v in raw.items() if k != "_csrf"}
    if not problems:
        try:
            await planning.change_planned(audit_id, form, request.scope["user"])
        except (Invalid, Conflict) as exc:
            problems = exc.problems or {"planned_date": exc.message}
        else:
            return Redirect("/audits")
    return await _plan_page(request, audit_id, typed, problems, 422)


@post("/audits/{audit_id:int}/cancel", name="audits:cancel", opt=PLANNERS)
async def cancel(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    form = parse(CancelForm, await read_form(request))
    try:
        await planning.cancel(audit_id, form.reason, request.scope["user"])
    except Invalid as exc:
        return await _plan_page(request, audit_id, {"cancel_reason": form.reason},
                                {"reason": exc.problems.get("reason", exc.message)}, 422)
    return Redirect("/audits")


@post("/audits", name="audits:start", opt=STARTERS)
async def start(request: Req) -> Redirect:
    """Start a run ad hoc (from the catalogue)."""
    form = parse(StartForm, await read_form(request))
    audit = await service.start_ad_hoc(form.checklist, request.scope["user"],
                                       org_unit=form.org_unit, project=form.project,
                                       title=form.title)
    return Redirect(f"/audits/{audit.id}")


@post("/audits/{audit_id:int}/start", name="audits:begin", opt=VIEWERS)
async def begin(request: Req, audit_id: FromPath[int]) -> Redirect:
    """Open a planned audit: it becomes in progress at its first answer too."""
    await service.open_for_work(audit_id, request.scope["user"])
    return Redirect(f"/audits/{audit_id}")


ROUTES: list[Any] = [programme_page, plan, approve, plan_page, replan, cancel, start, begin]
