"""Reading the directory for its lists (searchable) and the API."""

from __future__ import annotations

from typing import Any

from server.accounts.tables import ProjectMember
from server.db.search import contains
from server.org.tables import Location, OrgUnit, Project

LIMIT = 500


async def units_tree(q: str = "", active: str = "") -> list[dict[str, Any]]:
    """Departments in tree order (each followed by those under it), with `depth`; a search
    keeps the matches and the departments above them."""
    rows = await OrgUnit.select(
        OrgUnit.all_columns(), OrgUnit.head.name.as_alias("head_name"),
        OrgUnit.parent.code.as_alias("parent_code"),
    ).order_by(OrgUnit.code)
    by_parent: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_parent.setdefault(row["parent"], []).append(row)
    known = {r["id"] for r in rows}
    ordered: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int, seen: set[int]) -> None:
        for row in by_parent.get(parent, []):
            if row["id"] in seen:
                continue
            ordered.append({**row, "depth": depth})
            walk(row["id"], depth + 1, seen | {row["id"]})

    walk(None, 0, set())
    for parent in by_parent:  # rows under a parent that is gone or in a loop
        if parent is not None and parent not in known:
            walk(parent, 0, set())
    text = q.strip().lower()
    if active in ("0", "1"):
        ordered = [r for r in ordered if r["active"] == (active == "1")]
    if text:
        hits = {r["id"] for r in ordered if text in " ".join(
            str(r[k] or "") for k in ("code", "name_zh", "name_en", "head_name")).lower()}
        parents = {r["id"]: r["parent"] for r in rows}
        keep = set(hits)
        for hit in hits:
            up = parents.get(hit)
            while up is not None and up not in keep:
                keep.add(up)
                up = parents.get(up)
        ordered = [r for r in ordered if r["id"] in keep]
    return ordered


async def projects_list(q: str = "", active: str = "", org_unit: int | None = None,
                        phase: str = "") -> list[dict[str, Any]]:
    query = Project.select(
        Project.all_columns(), Project.org_unit.code.as_alias("unit_code"),
        Project.manager.name.as_alias("manager_name"),
        Project.quality_owner.name.as_alias("quality_owner_name"),
    ).order_by(Project.code).limit(LIMIT)
    if q.strip():
        query = query.where(contains([Project.code, Project.name_zh, Project.name_en,
                                   Project.client], q.strip()))
    if active in ("0", "1"):
        query = query.where(Project.active == (active == "1"))
    if org_unit is not None:
        query = query.where(Project.org_unit == org_unit)
    if phase:
        query = query.where(Project.phase == phase)
    return await query


async def locations_list(q: str = "", active: str = "") -> list[dict[str, Any]]:
    query = Location.select(Location.all_columns(),
                            Location.org_unit.code.as_alias("unit_code")
                            ).order_by(Location.code).limit(LIMIT)
    if q.strip():
        query = query.where(contains([Location.code, Location.name, Location.building,
                                   Location.room], q.strip()))
    if active in ("0", "1"):
        query = query.where(Location.active == (active == "1"))
    return await query


async def member_rows(project_id: int) -> list[dict[str, Any]]:
    return await ProjectMember.select(
        ProjectMember.user, ProjectMember.user.name.as_alias("name"),
        ProjectMember.user.login.as_alias("login"),
    ).where(ProjectMember.project == project_id).order_by(ProjectMember.user.name)


def unit_json(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in ("id", "code", "name_zh", "name_en", "parent",
                                          "head", "active")}


def project_json(row: dict[str, Any], members: list[int]) -> dict[str, Any]:
    out = {key: row.get(key) for key in ("id", "code", "name_zh", "name_en", "org_unit",
                                         "client", "manager", "quality_owner", "phase",
                                         "active")}
    for key in ("planned_start", "planned_end", "phase_changed_at"):
        value = row.get(key)
        out[key] = value.isoformat() if value is not None else None
    out["members"] = members
    return out
