"""Reading the organisation: departments and projects for choices, names and codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.core.i18n import current_language
from server.core.i18n import gettext as _
from server.org.tables import OrgUnit, Project


async def org_units() -> list[dict[str, Any]]:
    """Every department, by code."""
    return await OrgUnit.select().order_by(OrgUnit.code)


async def projects() -> list[dict[str, Any]]:
    """Every project, by code."""
    return await Project.select().order_by(Project.code)


async def ids_by_code() -> tuple[dict[str, int], dict[str, int]]:
    """(department code -> id, project code -> id)."""
    units = {r["code"]: r["id"] for r in await OrgUnit.select(OrgUnit.code, OrgUnit.id)}
    projs = {r["code"]: r["id"] for r in await Project.select(Project.code, Project.id)}
    return units, projs


def name_of(row: dict[str, Any] | None) -> str:
    """A department's or project's name in the reader's language."""
    if row is None:
        return ""
    return str(row["name_zh"] if current_language.get() == "zh_CN" else row["name_en"])


@dataclass
class Organisation:
    """Departments and projects by id, for names and choices."""

    units: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)

    def unit_name(self, unit_id: int | None) -> str:
        return name_of(self.units.get(unit_id or 0))

    def project_name(self, project_id: int | None) -> str:
        return name_of(self.projects.get(project_id or 0))

    def unit_code(self, unit_id: int | None) -> str:
        row = self.units.get(unit_id or 0)
        return str(row["code"]) if row else ""

    def project_code(self, project_id: int | None) -> str:
        row = self.projects.get(project_id or 0)
        return str(row["code"]) if row else ""


async def organisation() -> Organisation:
    units = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name_zh, OrgUnit.name_en)
    projs = await Project.select(Project.id, Project.code, Project.name_zh, Project.name_en)
    return Organisation(
        units={u["id"]: u for u in sorted(units, key=lambda u: u["code"])},
        projects={p["id"]: p for p in sorted(projs, key=lambda p: p["code"])},
    )


async def unknown_refs(*, org_unit: int | None = None, project: int | None = None,
                       unit_field: str = "org_unit", project_field: str = "project",
                       new: bool = False) -> dict[str, str]:
    """The given department and project ids that name no record (field -> message):
    checked before writing, so a stale or made-up id is a 422, not a database error. A
    `new` record may not go into a department or project that is no longer active."""
    problems: dict[str, str] = {}
    if org_unit is not None:
        unit = await OrgUnit.select(OrgUnit.active).where(OrgUnit.id == org_unit).first()
        if unit is None:
            problems[unit_field] = _("No such department.")
        elif new and not unit["active"]:
            problems[unit_field] = _("This department is no longer active.")
    if project is not None:
        row = await Project.select(Project.active).where(Project.id == project).first()
        if row is None:
            problems[project_field] = _("No such project.")
        elif new and not row["active"]:
            problems[project_field] = _("This project is no longer active.")
    return problems


async def org_tree() -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """(department -> its direct sub-departments, department -> its projects)."""
    children: dict[int, list[int]] = {}
    for unit in await OrgUnit.select(OrgUnit.id, OrgUnit.parent):
        if unit["parent"] is not None:
            children.setdefault(unit["parent"], []).append(unit["id"])
    projects_of: dict[int, list[int]] = {}
    for project in await Project.select(Project.id, Project.org_unit):
        if project["org_unit"] is not None:
            projects_of.setdefault(project["org_unit"], []).append(project["id"])
    return children, projects_of
