"""The audit programme page, planning audits, and starting runs (planned or ad hoc)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server import clock
from server.accounts.roles import Role, allow
from server.accounts.tables import User, UserRole
from server.audits import access, programme, service
from server.audits.tables import Audit
from server.checklists import store
from server.i18n import gettext as _
from server.org.tables import OrgUnit, Project

Req = Request[Any, Any, Any]
PLANNERS = allow(Role.quality_manager, Role.admin)
AUDIT_VIEWERS = allow(Role.quality_manager, Role.admin, Role.auditor)


async def _auditors() -> list[dict[str, Any]]:
    ids = [r["user"] for r in await UserRole.select(UserRole.user).where(
        UserRole.role.is_in([Role.auditor.value, Role.quality_manager.value]))]
    if not ids:
        return []
    return await User.select(User.id, User.name).where(
        User.id.is_in(ids) & (User.active == True)).order_by(User.name)  # noqa: E712


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


@get("/audits", name="audits:programme", opt=AUDIT_VIEWERS)
async def programme_page(request: Req, half: FromQuery[str | None] = None) -> Template:
    user = request.scope["user"]
    year, h = programme.parse_half(half, clock.today())
    prog = await programme.programme_for(year, h)
    rows = await programme.audits_of_programme(prog["id"]) if prog else []
    start, end = clock.day_range(*programme.half_bounds(year, h))
    ad_hoc = await Audit.select(
        Audit.id, Audit.checklist_key, Audit.kind, Audit.title, Audit.status, Audit.created_at,
        Audit.lead_auditor, Audit.score_percent, Audit.passed,
    ).where(Audit.programme.is_null() & (Audit.kind != "inspection")
            & (Audit.created_at >= start) & (Audit.created_at < end)
            ).order_by(Audit.created_at, ascending=False).limit(200)
    if not user.sees_everything:
        ad_hoc = [r for r in ad_hoc if access.can_view(user, r)]
    summaries = {s.key: s for s in await store.latest_summaries()}
    return Template("audits/programme.html", context={
        "year": year, "half": h, "half_label": programme.half_label(year, h),
        "prev": programme.half_label(year - (h == 1), 2 if h == 1 else 1),
        "next": programme.half_label(year + (h == 2), 1 if h == 2 else 2),
        "programme": prog, "rows": programme.mine_first(rows, user.id),
        "share": programme.share_done([r["status"] for r in rows]), "ad_hoc": ad_hoc,
        "summaries": summaries, "auditors": await _auditors() if user.sees_everything else [],
        "org_units": await OrgUnit.select().order_by(OrgUnit.code),
        "projects": await Project.select().order_by(Project.code),
        "org_checklists": await store.latest_summaries("org_audit"),
        "project_checklists": await store.latest_summaries("project_audit"),
        "today": clock.today(),
    })


@post("/audits/programme/plan", name="audits:plan", opt=PLANNERS)
async def plan(request: Req) -> Redirect:
    """Add a planned audit to the half-year's programme (created on first use)."""
    form = await request.form()
    year, h = programme.parse_half(str(form.get("half", "")), clock.today())
    key = str(form.get("checklist", ""))
    summary = next((s for s in await store.latest_summaries() if s.key == key), None)
    problems = []
    if summary is None or summary.kind not in ("org_audit", "project_audit"):
        problems.append("checklist")
    org_unit, project = _int(form.get("org_unit")), _int(form.get("project"))
    if summary and summary.kind == "project_audit" and project is None:
        problems.append("project")
    lead = _int(form.get("lead_auditor"))
    if lead is None:
        problems.append("lead_auditor")
    planned = _date(form.get("planned_date"))
    if planned is None:
        problems.append("planned_date")
    if problems:
        raise HTTPException(status_code=422, detail=_("Some values are not valid"),
                            extra={"missing": problems})
    user = request.scope["user"]
    prog_id = await programme.ensure_programme(year, h, user)
    await service.start_audit(key, user, programme=prog_id, org_unit=org_unit, project=project,
                              lead_auditor=lead, planned_date=planned, status="planned")
    return Redirect(f"/audits?half={programme.half_label(year, h)}")


@post("/audits", name="audits:start", opt=allow(Role.auditor, Role.engineer,
                                               Role.quality_manager))
async def start(request: Req) -> Redirect:
    """Start a run ad hoc (from the catalogue)."""
    form = await request.form()
    user = request.scope["user"]
    key = str(form.get("checklist", ""))
    summary = next((s for s in await store.latest_summaries() if s.key == key), None)
    if summary is None:
        raise NotFoundException(_("No checklist with this key"))
    if not access.can_start(user, summary.kind):
        raise PermissionDeniedException()
    audit = await service.start_audit(
        key, user, org_unit=_int(form.get("org_unit")), project=_int(form.get("project")),
        title=str(form.get("title", ""))[:300])
    return Redirect(f"/audits/{audit.id}")


@post("/audits/{audit_id:int}/start", name="audits:begin", opt=AUDIT_VIEWERS)
async def begin(request: Req, audit_id: FromPath[int]) -> Redirect:
    """Open a planned audit: it becomes in progress at its first answer too."""
    audit = await service.get_audit(audit_id)
    if not access.can_edit(request.scope["user"], audit):
        raise PermissionDeniedException(_("Only the lead auditor can change this audit."))
    return Redirect(f"/audits/{audit_id}")


ROUTES: list[Any] = [programme_page, plan, start, begin]
