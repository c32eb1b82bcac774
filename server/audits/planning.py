"""The audit programme as a plan the quality manager changes: plan, reschedule,
reassign the lead auditor and the team, cancel with a reason; and what the half-year's
plan still lacks. The management representative approves the plan (004 §4.1).

Rules: a planned date lies in the programme's half-year; the lead auditor and the team
hold the auditor role; a lead who belongs to the audited department is a warning that
needs a reason to override (auditors do not audit their own work, 004 §8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.accounts.tables import User
from server.accounts.users import holds_any_role
from server.audits import programme, service
from server.audits.access import PROJECT_CHECKS
from server.audits.schemas import PlanForm
from server.audits.tables import Audit, AuditMember, Programme
from server.changelog import record
from server.checklists import store
from server.checklists.model import Area
from server.core.errors import Conflict, Forbidden, Invalid, NotFound
from server.core.i18n import gettext as _
from server.core.inputs import is_clean
from server.db.engine import write_transaction
from server.org.tables import Project

AUDITOR_ROLES = (Role.auditor, Role.quality_manager)
OPEN = ("planned", "in_progress")


async def _subject_unit(org_unit: int | None, project: int | None) -> int | None:
    """The department an audit looks at: its own, or its project's."""
    if org_unit is not None or project is None:
        return org_unit
    row = await Project.select(Project.org_unit).where(Project.id == project).first()
    return row["org_unit"] if row else None


async def check_team(form: PlanForm, year: int, half: int) -> dict[str, str]:
    """Problems with a planned audit's date, lead and team (field -> message)."""
    problems: dict[str, str] = {}
    first, last = programme.half_bounds(year, half)
    if form.planned_date is not None and not first <= form.planned_date <= last:
        problems["planned_date"] = _(
            "Choose a date in %(half)s, from %(first)s to %(last)s.",
            half=programme.half_label(year, half), first=first.isoformat(),
            last=last.isoformat())
    if form.lead_auditor is not None:
        if not await holds_any_role(form.lead_auditor, AUDITOR_ROLES):
            problems["lead_auditor"] = _("The lead auditor must hold the auditor role.")
        elif not form.override_reason.strip():
            lead = await User.select(User.org_unit).where(User.id == form.lead_auditor).first()
            audited = await _subject_unit(form.org_unit, form.project)
            if lead and audited is not None and lead["org_unit"] == audited:
                problems["override_reason"] = _(
                    "The lead auditor belongs to the audited department: choose another, "
                    "or give the reason they may audit it.")
    for member in form.team:
        if not await holds_any_role(member, AUDITOR_ROLES):
            problems["team"] = _("Everyone in the audit team must hold the auditor role.")
    if form.lead_auditor in form.team:
        problems["team"] = _("The lead auditor is not also a member of the team.")
    if not is_clean(form.override_reason) or len(form.override_reason) > 500:
        problems["override_reason"] = _("At most %(n)s characters, no control characters.",
                                        n=500)
    return problems


async def _set_team(audit_id: int, team: list[int], actor: Any, reason: str) -> None:
    before = sorted(await service.team_of(audit_id))
    after = sorted(set(team))
    if before == after:
        return
    await AuditMember.delete().where(AuditMember.audit == audit_id)
    if after:
        await AuditMember.insert(*[AuditMember(audit=audit_id, user=u) for u in after])
    await record.append(actor, "team", "audit", audit_id, {"team": [before, after]}, reason)


async def plan_audit(form: PlanForm, actor: CurrentUser, today: date) -> tuple[int, int]:
    """Add a planned audit to the half-year's programme (created on first use);
    returns the half-year it went into."""
    year, half = programme.parse_half(form.half, today)
    summary = await store.latest_summary(form.checklist)
    missing = []
    if summary is None or summary.kind not in ("org_audit", "project_audit"):
        missing.append("checklist")
    if summary and summary.kind == "project_audit" and form.project is None:
        missing.append("project")
    if form.lead_auditor is None:
        missing.append("lead_auditor")
    if form.planned_date is None:
        missing.append("planned_date")
    invalid = await check_team(form, year, half)
    if missing or invalid:
        raise Invalid(_("Some values are not valid"), missing=missing, invalid=invalid)
    async with write_transaction():
        programme_id = await programme.ensure_programme(year, half, actor)
        audit = await service.start_audit(
            form.checklist, actor, programme=programme_id, org_unit=form.org_unit,
            project=form.project, lead_auditor=form.lead_auditor,
            planned_date=form.planned_date, status="planned")
        await _set_team(audit.id, form.team, actor, form.override_reason.strip())
        if form.override_reason.strip():
            await record.append(actor, "lead_override", "audit", audit.id, {},
                                form.override_reason.strip())
    return year, half


async def _open_audit(audit_id: int) -> dict[str, Any]:
    audit = await service.get_audit(audit_id, lock=True)
    if audit["programme"] is None:
        raise NotFound(_("This audit is not part of a programme."))
    if audit["status"] not in OPEN:
        raise Conflict(_("Only a planned or running audit can be changed or cancelled."))
    return audit


async def change_planned(audit_id: int, form: PlanForm, actor: CurrentUser) -> None:
    """Reschedule, reassign the lead or change the team of an audit of the programme."""
    async with write_transaction():
        audit = await _open_audit(audit_id)
        prog = await Programme.select().where(Programme.id == audit["programme"]).first()
        assert prog is not None
        form.org_unit, form.project = audit["org_unit"], audit["project"]
        planned = form.planned_date or audit["planned_date"]
        form.planned_date = planned
        if form.lead_auditor is None:
            form.lead_auditor = audit["lead_auditor"]
        problems = await check_team(form, prog["year"], prog["half"])
        if audit["status"] != "planned" and planned != audit["planned_date"]:
            problems["planned_date"] = _("A running audit keeps its date.")
        if problems:
            raise Invalid(_("Some values are not valid"), invalid=problems)
        reason = (form.reason or form.override_reason).strip()
        changes = {}
        if planned != audit["planned_date"]:
            changes["planned_date"] = [audit["planned_date"], planned]
        if form.lead_auditor != audit["lead_auditor"]:
            changes["lead_auditor"] = [audit["lead_auditor"], form.lead_auditor]
        if changes:
            await Audit.update({Audit.planned_date: planned,
                                Audit.lead_auditor: form.lead_auditor}).where(
                Audit.id == audit_id)
            await record.append(actor, "replan", "audit", audit_id, changes, reason)
        await _set_team(audit_id, form.team, actor, reason)
        if form.override_reason.strip():
            await record.append(actor, "lead_override", "audit", audit_id, {},
                                form.override_reason.strip())


async def cancel(audit_id: int, reason: str, actor: CurrentUser) -> None:
    """Take an audit off the plan; the reason is kept with it."""
    if not reason.strip():
        raise Invalid(_("Say why the audit is cancelled."), missing=["reason"])
    if not is_clean(reason) or len(reason) > 2000:
        raise Invalid(_("At most %(n)s characters, no control characters.", n=2000),
                      invalid={"reason": _("At most %(n)s characters.", n=2000)})
    async with write_transaction():
        audit = await _open_audit(audit_id)
        await Audit.update({Audit.status: "cancelled", Audit.cancel_reason: reason.strip()}
                           ).where(Audit.id == audit_id)
        await record.append(actor, "cancel", "audit", audit_id,
                            {"status": [audit["status"], "cancelled"]}, reason.strip())


async def approve(year: int, half: int, actor: CurrentUser) -> None:
    """The management representative approves the half-year's programme."""
    if not actor.has(Role.management_rep):
        raise Forbidden(_("Only the management representative approves the programme."))
    async with write_transaction():
        prog = await Programme.objects().get((Programme.year == year)
                                             & (Programme.half == half))
        if prog is None:
            raise NotFound(_("This half-year has no programme yet."))
        if prog.approved_at is not None:
            raise Conflict(_("This programme is approved already."))
        await record.update(prog, actor, {"approved_by": actor.id,
                                          "approved_at": datetime.now(UTC)}, action="approve")


@dataclass
class Coverage:
    """What the half-year's programme does not audit yet."""

    areas: list[str]  # organisation areas with no audit
    projects: list[dict[str, Any]]  # active projects whose current phase has no audit


async def coverage(year: int, half: int) -> Coverage:
    prog = await programme.programme_for(year, half)
    rows = await Audit.select(Audit.checklist_key, Audit.project).where(
        (Audit.programme == prog["id"]) & (Audit.status != "cancelled")) if prog else []
    covered_areas: set[str] = set()
    phase_keys: dict[int, set[str]] = {}
    for row in rows:
        checklist = await store.get(row["checklist_key"])
        if checklist is None or checklist.key in PROJECT_CHECKS:  # checks are no phase audit
            continue
        if checklist.scope.area:
            covered_areas.add(checklist.scope.area.value)
        if row["project"] is not None and checklist.scope.phase:
            phase_keys.setdefault(row["project"], set()).add(checklist.scope.phase.value)
    areas = [a.value for a in Area if a.value not in covered_areas]
    projects = [p for p in await Project.select(
        Project.id, Project.code, Project.name_zh, Project.name_en, Project.phase).where(
        Project.active == True).order_by(Project.code)  # noqa: E712
        if p["phase"] not in phase_keys.get(p["id"], set())]
    return Coverage(areas, projects)
