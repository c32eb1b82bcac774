"""Inspection pages: "Due for me", the quality manager's due and overdue lists, and the
schedule pages where quality managers plan periodic inspections."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server.accounts.roles import Role
from server.accounts.users import users_holding
from server.assets import access, categories, due, plans, views
from server.assets.history import schedule_history
from server.assets.plans import ScheduleInput, input_of
from server.assets.register import normalise_code
from server.assets.render import HELPERS
from server.assets.schedule import FREQUENCIES
from server.assets.schemas import ScheduleForm
from server.assets.tables import InspectionSchedule
from server.audits.checks import load_checks
from server.checklists import store
from server.core import clock
from server.core.errors import Invalid
from server.core.i18n import current_language
from server.core.inputs import parse
from server.org.queries import organisation
from server.web.bodies import read_form
from server.web.params import QueryInt

Req = Request[Any, Any, Any]


@get("/inspections/due", name="inspections:due", opt=access.DUE_READERS)
async def due_page(
    request: Req,
    view: FromQuery[str] = "",
    within: FromQuery[QueryInt] = due.DEFAULT_WITHIN_DAYS,
    site: FromQuery[str] = "",
    category: FromQuery[str] = "",
) -> Template:
    user = request.scope["user"]
    today = clock.today()
    listed = await due.due_page(user, view, within, site, category, today)
    everyone = listed.view != "mine"
    checks = await load_checks(today, responsible=None if everyone else user.id)
    return Template("assets/due.html", context={
        "checks": [c for c in checks if c.status == "overdue"] if listed.view == "overdue"
        else checks,
        "check_titles": {s.key: s.title(current_language.get())
                         for s in await store.latest_summaries("project_audit")},
        "show_who": everyone,
        **HELPERS,
        "items": listed.items[:due.MAX_SHOWN],
        "truncated": len(listed.items) > due.MAX_SHOWN,
        "counts": listed.counts,
        "view": listed.view,
        "views_allowed": listed.views_allowed,
        "within": due.clamp_days(within) or 0,
        "site": site,
        "category": category,
        "sites": listed.sites,
        "all_categories": await categories.known_categories(),
        "titles": await views.checklist_titles(),
        "people": await views.people(),
        "today": today,
        "can_plan": access.can_plan(user),
    })


# --- schedules ---------------------------------------------------------------------


async def _form_page(schedule: InspectionSchedule | None, data: ScheduleInput, code: str,
                     problems: dict[str, str], status: int = 200) -> Template:
    return Template("assets/schedule_form.html", status_code=status, context={
        **HELPERS,
        "checklist_groups": await categories.checklists_by_category(),
        "all_categories": await categories.known_categories(),
        "frequencies": FREQUENCIES,
        "assignees": sorted(await users_holding(Role.engineer, Role.quality_manager),
                            key=lambda u: u["login"]),
        "org": await organisation(),
        "schedule": schedule,
        "data": data,
        "asset_code": code,
        "problems": problems,
        "history": await schedule_history(schedule.id) if schedule else [],
    })


@get("/inspections/schedules", name="schedules:list", opt=access.PLANNERS)
async def schedules_page(show: FromQuery[str] = "active") -> Template:
    return Template("assets/schedules.html", context={
        **HELPERS,
        "schedules": await plans.list_schedules(include_inactive=show == "all"),
        "show": show,
        "titles": await views.checklist_titles(),
        "people": await views.people(),
    })


@get("/inspections/schedules/new", name="schedules:new", opt=access.PLANNERS)
async def new_schedule_page(asset: FromQuery[str] = "", category: FromQuery[str] = "") -> Template:
    data = ScheduleInput(checklist_key="", frequency="", start_date=clock.today(),
                         category=category or None)
    return await _form_page(None, data, normalise_code(asset), {})


@post("/inspections/schedules", name="schedules:create", opt=access.PLANNERS, status_code=200)
async def create_schedule_submit(request: Req) -> Template | Redirect:
    problems: dict[str, str] = {}
    form = parse(ScheduleForm, await read_form(request), problems)
    data, code = await plans.from_form(form), normalise_code(form.asset_code)
    if not problems:
        try:
            await plans.create_schedule(data, request.scope["user"], code)
        except Invalid as exc:
            problems = exc.problems
    if problems:
        return await _form_page(None, data, code, problems, 422)
    return Redirect(f"/assets/{code}" if code else "/inspections/schedules")


@get("/inspections/schedules/{schedule_id:int}", name="schedules:edit", opt=access.PLANNERS)
async def edit_schedule_page(schedule_id: FromPath[int]) -> Template:
    row = await plans.get_schedule(schedule_id)
    return await _form_page(row, input_of(row), await plans.asset_code_of(row.asset), {})


@post("/inspections/schedules/{schedule_id:int}", name="schedules:update",
      opt=access.PLANNERS, status_code=200)
async def update_schedule_submit(request: Req, schedule_id: FromPath[int]) -> Template | Redirect:
    row = await plans.get_schedule(schedule_id)
    problems: dict[str, str] = {}
    form = parse(ScheduleForm, await read_form(request), problems)
    data, code = await plans.from_form(form), normalise_code(form.asset_code)
    if not problems:
        try:
            await plans.update_schedule(row, data, request.scope["user"], code, form.reason)
        except Invalid as exc:
            problems = exc.problems
    if problems:
        return await _form_page(row, data, code, problems, 422)
    return Redirect("/inspections/schedules")


ROUTES = [due_page, schedules_page, new_schedule_page, create_schedule_submit,
          edit_schedule_page, update_schedule_submit]
