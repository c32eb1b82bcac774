"""Inspection pages: "Due for me", the quality manager's due and overdue lists, and the
schedule pages where quality managers plan periodic inspections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server import clock
from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.accounts.tables import User, UserRole
from server.assets import access, categories, due, views
from server.assets.assignment import Person, Responsible
from server.assets.plans import (
    PlanError,
    ScheduleInput,
    create_schedule,
    input_of,
    update_schedule,
)
from server.assets.register import normalise_code
from server.assets.render import HELPERS
from server.assets.schedule import FREQUENCIES
from server.assets.tables import Asset, InspectionSchedule
from server.changelog.record import history
from server.checklists import store
from server.i18n import gettext as _

Req = Request[Any, Any, Any]
DEFAULT_WITHIN_DAYS = 7
MAX_WITHIN_DAYS = 366


def person_of(user: CurrentUser) -> Person:
    return Person(user.id, user.org_unit_id, user.project_ids, user.roles)


@dataclass
class People:
    """Names for showing who an inspection falls to."""

    users: dict[int, str]
    org: views.Organisation

    def describe(self, who: Responsible) -> str:
        if who.user_id is not None:
            return self.users.get(who.user_id, "?")
        names = [
            n
            for n in (self.org.unit_name(who.org_unit_id), self.org.project_code(who.project_id))
            if n
        ]
        return " / ".join(names) if names else _("Unassigned")


async def people() -> People:
    rows = await User.select(User.id, User.name)
    return People({r["id"]: r["name"] for r in rows}, await views.organisation())


def clamp_days(value: int | None) -> int | None:
    if value is None:
        return None
    return max(0, min(value, MAX_WITHIN_DAYS))


# --- due lists ---------------------------------------------------------------------


@get("/inspections/due", name="inspections:due", opt=access.DUE_READERS)
async def due_page(
    request: Req,
    view: FromQuery[str] = "",
    within: FromQuery[int] = DEFAULT_WITHIN_DAYS,
    site: FromQuery[str] = "",
    category: FromQuery[str] = "",
) -> Template:
    """Engineers see what falls to them; quality managers also everything and overdue."""
    user = request.scope["user"]
    planner = access.can_plan(user)
    views_allowed = ["mine", "all", "overdue"] if planner else ["mine"]
    if view not in views_allowed:
        view = "overdue" if planner and not user.has(Role.engineer) else "mine"
    today = clock.today()
    items = await due.load_due(today)
    if site:
        items = [i for i in items if i.asset.site == site]
    if category:
        items = [i for i in items if i.asset.category == category]
    within = clamp_days(within) or 0
    if view == "mine":
        chosen = due.filter_due(items, today, person=person_of(user), within_days=within)
    elif view == "overdue":
        chosen = due.filter_due(items, today, overdue_only=True)
    else:
        chosen = due.filter_due(items, today, within_days=within)
    counts = {
        "overdue": sum(1 for i in chosen if i.status == "overdue"),
        "due": sum(1 for i in chosen if i.status == "due"),
        "upcoming": sum(1 for i in chosen if i.status == "upcoming"),
    }
    return Template(
        "assets/due.html",
        context={
            **HELPERS,
            "items": chosen[:500],
            "truncated": len(chosen) > 500,
            "counts": counts,
            "view": view,
            "views_allowed": views_allowed,
            "within": within,
            "site": site,
            "category": category,
            "sites": sorted({i.asset.site for i in items if i.asset.site}),
            "all_categories": await categories.known_categories(),
            "titles": await views.checklist_titles(),
            "people": await people(),
            "today": today,
            "can_plan": planner,
        },
    )


# --- schedules ---------------------------------------------------------------------


async def checklist_categories() -> dict[str, str]:
    """Inspection checklist key -> the asset category it applies to."""
    groups = await categories.checklists_by_category()
    return {s.key: category for category, summaries in groups.items() for s in summaries}


async def _form_choices() -> dict[str, Any]:
    groups = await categories.checklists_by_category()
    engineers = await UserRole.select(UserRole.user).where(
        UserRole.role.is_in([Role.engineer.value, Role.quality_manager.value])
    )
    ids = sorted({r["user"] for r in engineers})
    users = (
        await User.select(User.id, User.name, User.login)
        .where(User.id.is_in(ids) & (User.active == True))  # noqa: E712
        .order_by(User.login)
        if ids
        else []
    )
    return {
        "checklist_groups": groups,
        "all_categories": await categories.known_categories(),
        "frequencies": FREQUENCIES,
        "assignees": users,
        "org": await views.organisation(),
    }


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value).strip()) if value else None
    except ValueError:
        return None


async def _form_input(form: FormMultiDict) -> tuple[ScheduleInput, str, str | None, dict[str, str]]:
    """The schedule a form describes, the asset code typed, that asset's category, and
    problems only the form can have (unreadable numbers, unknown asset codes)."""
    problems: dict[str, str] = {}
    code = normalise_code(form.get("asset_code", ""))
    asset_id: int | None = None
    asset_category: str | None = None
    if code:
        row = await Asset.select(Asset.id, Asset.category).where(Asset.code == code).first()
        if row is None:
            problems["asset"] = _("No asset with this code.")
        else:
            asset_id, asset_category = row["id"], row["category"]
    key = str(form.get("checklist_key", ""))
    frequency = str(form.get("frequency", ""))
    if not frequency:  # "as the checklist says"
        checklist = await store.get(key) if key else None
        scope_frequency = checklist.scope.frequency if checklist else None
        frequency = scope_frequency.value if scope_frequency else ""
    every = _int(form.get("every_n_days"))
    if form.get("every_n_days") not in (None, "") and every is None:
        problems["every_n_days"] = _("Enter a whole number.")
    grace = _int(form.get("grace_days"))
    if form.get("grace_days") not in (None, "") and grace is None:
        problems["grace_days"] = _("Enter a whole number.")
    start = _date(form.get("start_date"))
    if form.get("start_date") and start is None:
        problems["start_date"] = _("Enter a date as YYYY-MM-DD.")
    data = ScheduleInput(
        checklist_key=key,
        frequency=frequency,
        start_date=start,
        asset=asset_id,
        category=None if code else (str(form.get("category", "")) or None),
        every_n_days=every,
        grace_days=grace or 0,
        assignee=_int(form.get("assignee")),
        assignee_org_unit=_int(form.get("assignee_org_unit")),
        active=form.get("active") == "on",
    )
    return data, code, asset_category, problems


@get("/inspections/schedules", name="schedules:list", opt=access.PLANNERS)
async def schedules_page(show: FromQuery[str] = "active") -> Template:
    query = InspectionSchedule.select(
        InspectionSchedule.all_columns(),
        InspectionSchedule.asset.code.as_alias("asset_code"),
        InspectionSchedule.asset.name.as_alias("asset_name"),
    ).order_by(InspectionSchedule.id)
    if show != "all":
        query = query.where(InspectionSchedule.active == True)  # noqa: E712
    return Template(
        "assets/schedules.html",
        context={
            **HELPERS,
            "schedules": await query,
            "show": show,
            "titles": await views.checklist_titles(),
            "people": await people(),
        },
    )


@get("/inspections/schedules/new", name="schedules:new", opt=access.PLANNERS)
async def new_schedule_page(asset: FromQuery[str] = "", category: FromQuery[str] = "") -> Template:
    code = normalise_code(asset)
    data = ScheduleInput(
        checklist_key="",
        frequency="",
        start_date=clock.today(),
        category=category or None,
    )
    return Template(
        "assets/schedule_form.html",
        context={
            **HELPERS,
            **await _form_choices(),
            "schedule": None,
            "data": data,
            "asset_code": code,
            "problems": {},
            "history": [],
        },
    )


@post("/inspections/schedules", name="schedules:create", opt=access.PLANNERS, status_code=200)
async def create_schedule_submit(request: Req) -> Template | Redirect:
    form = await request.form()
    data, code, asset_category, problems = await _form_input(form)
    if not problems:
        try:
            await create_schedule(
                data, await checklist_categories(), asset_category, request.scope["user"]
            )
        except PlanError as exc:
            problems = exc.problems
    if problems:
        return Template(
            "assets/schedule_form.html",
            status_code=422,
            context={
                **HELPERS,
                **await _form_choices(),
                "schedule": None,
                "data": data,
                "asset_code": code,
                "problems": problems,
                "history": [],
            },
        )
    return Redirect(f"/assets/{code}" if code else "/inspections/schedules")


async def _schedule(schedule_id: int) -> InspectionSchedule:
    row = await InspectionSchedule.objects().get(InspectionSchedule.id == schedule_id)
    if row is None:
        raise NotFoundException(_("No such schedule."))
    return row


async def _asset_code(asset_id: int | None) -> str:
    if asset_id is None:
        return ""
    row = await Asset.select(Asset.code).where(Asset.id == asset_id).first()
    return row["code"] if row else ""


@get("/inspections/schedules/{schedule_id:int}", name="schedules:edit", opt=access.PLANNERS)
async def edit_schedule_page(schedule_id: FromPath[int]) -> Template:
    row = await _schedule(schedule_id)
    return Template(
        "assets/schedule_form.html",
        context={
            **HELPERS,
            **await _form_choices(),
            "schedule": row,
            "data": input_of(row),
            "asset_code": await _asset_code(row.asset),
            "problems": {},
            "history": await history("inspection_schedule", row.id),
        },
    )


@post(
    "/inspections/schedules/{schedule_id:int}",
    name="schedules:update",
    opt=access.PLANNERS,
    status_code=200,
)
async def update_schedule_submit(request: Req, schedule_id: FromPath[int]) -> Template | Redirect:
    row = await _schedule(schedule_id)
    form = await request.form()
    data, code, asset_category, problems = await _form_input(form)
    if not problems:
        try:
            await update_schedule(
                row,
                data,
                await checklist_categories(),
                asset_category,
                request.scope["user"],
                str(form.get("reason", ""))[:500],
            )
        except PlanError as exc:
            problems = exc.problems
    if problems:
        return Template(
            "assets/schedule_form.html",
            status_code=422,
            context={
                **HELPERS,
                **await _form_choices(),
                "schedule": row,
                "data": data,
                "asset_code": code,
                "problems": problems,
                "history": await history("inspection_schedule", row.id),
            },
        )
    return Redirect("/inspections/schedules")


ROUTES = [
    due_page,
    schedules_page,
    new_schedule_page,
    create_schedule_submit,
    edit_schedule_page,
    update_schedule_submit,
]
