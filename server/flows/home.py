"""What each person finds on their home page after login: the work their roles give
them, read from every domain (inspections due, checks of their projects, audits they
lead, their actions, the state of the programme and of the NCs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.assets import due
from server.assets.assignment import Person
from server.audits import programme
from server.audits.checks import CheckDue, load_checks
from server.audits.tables import Audit, AuditMember
from server.directory import queries as directory
from server.findings.dashboard import DashFilters, active_summary
from server.findings.todo import Todo, my_actions_view
from server.org.tables import Project

SHOWN = 8


@dataclass
class Home:
    inspections: list[due.DueItem] = field(default_factory=list)
    checks: list[CheckDue] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)  # led or in the team
    todos: list[Todo] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)  # managed by this person
    programme: programme.HalfYear | None = None
    ncs: dict[str, Any] | None = None  # open / overdue figures
    setup: dict[str, int] | None = None
    sections: list[str] = field(default_factory=list)  # which to show, in order


async def _my_audits(user: CurrentUser) -> list[dict[str, Any]]:
    team = [r["audit"] for r in await AuditMember.select(AuditMember.audit).where(
        AuditMember.user == user.id)]
    mine = (Audit.lead_auditor == user.id)
    if team:
        mine = mine | Audit.id.is_in(team)
    return await Audit.select(
        Audit.id, Audit.checklist_key, Audit.title, Audit.status, Audit.planned_date,
        Audit.kind,
    ).where(mine & Audit.status.is_in(["planned", "in_progress"])
            & (Audit.kind != "inspection")).order_by(Audit.planned_date).limit(50)


async def home(user: CurrentUser, today: date) -> Home:
    page = Home()
    if user.has(Role.engineer):
        items = await due.load_due(today)
        page.inspections = due.filter_due(items, today, person=Person.of(user),
                                          within_days=7)[:SHOWN]
        page.sections.append("inspections")
    if user.has_any(Role.project_manager, Role.department_head, Role.quality_specialist):
        page.checks = await load_checks(today, responsible=user.id)
        page.sections.append("checks")
    if user.has(Role.project_manager):
        page.projects = await Project.select(
            Project.id, Project.code, Project.name_zh, Project.name_en, Project.phase,
        ).where((Project.manager == user.id) & (Project.active == True)  # noqa: E712
                ).order_by(Project.code)
        page.sections.append("projects")
    if user.has_any(Role.auditor, Role.quality_manager):
        page.audits = await _my_audits(user)
        page.sections.append("audits")
    todos = (await my_actions_view(user, today))["todos"]
    if todos or user.has(Role.owner):
        page.todos = todos[:SHOWN]
        page.sections.append("todos")
    if user.has_any(Role.quality_manager, Role.management_rep, Role.quality_specialist):
        year, half = programme.half_of(today)
        page.programme = await programme.half_year(year, half, user)
        page.ncs = await active_summary(DashFilters(), today, datetime.now(UTC))
        page.sections.append("overview")
    if user.has(Role.admin):
        page.setup = {"units": len(await directory.units_tree()),
                      "projects": len(await directory.projects_list())}
        page.sections.append("setup")
    return page
