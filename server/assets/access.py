"""Who sees and who changes which assets and schedules.

Quality managers, admins and auditors see every asset. An engineer sees the assets of
their department and projects, unowned ones, and any asset an inspection schedule
assigns to them or their department. Engineers register and change assets within their
department and projects; quality managers and admins everywhere. Schedules are the
quality manager's (and admin's). Action owners have no business with equipment.
"""

from __future__ import annotations

from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import SCOPED_READERS, Role, allow
from server.assets.tables import Asset, InspectionSchedule

READERS = allow(Role.engineer, Role.quality_manager, Role.auditor, Role.admin,
                Role.management_rep, Role.quality_specialist, Role.department_head,
                Role.project_manager)
EDITORS = allow(Role.engineer, Role.quality_manager, Role.admin)
PLANNERS = allow(Role.quality_manager, Role.admin)
DUE_READERS = allow(Role.engineer, Role.quality_manager, Role.admin, Role.project_manager,
                    Role.department_head, Role.quality_specialist)
STARTERS = allow(Role.engineer, Role.quality_manager, Role.auditor, Role.admin)


def sees_all_assets(user: CurrentUser) -> bool:
    return user.sees_everything or user.has(Role.auditor)


def owns(user: CurrentUser, org_unit: int | None, project: int | None) -> bool:
    """Whether an asset with this owner lies within the user's department or projects
    (or the departments and projects they head or manage)."""
    if user.sees_everything:
        return True
    if org_unit is None and project is None:
        return True
    if any(user.holds(role, org_unit, project) for role in SCOPED_READERS):
        return True
    return (org_unit is not None and org_unit == user.org_unit_id) or (
        project is not None and project in user.project_ids
    )


def can_edit(user: CurrentUser, org_unit: int | None, project: int | None) -> bool:
    if user.sees_everything:
        return True
    return user.has(Role.engineer) and owns(user, org_unit, project)


def can_plan(user: CurrentUser) -> bool:
    return user.sees_everything


async def assigned_scope(user: CurrentUser) -> tuple[list[int], list[str]]:
    """Asset ids and categories whose schedules name this user or their department."""
    condition = InspectionSchedule.assignee == user.id
    if user.org_unit_id is not None:
        condition = condition | (InspectionSchedule.assignee_org_unit == user.org_unit_id)
    rows = await InspectionSchedule.select(
        InspectionSchedule.asset, InspectionSchedule.category
    ).where(condition & (InspectionSchedule.active == True))  # noqa: E712
    assets = sorted({r["asset"] for r in rows if r["asset"] is not None})
    categories = sorted({r["category"] for r in rows if r["category"]})
    return assets, categories


async def visible_filter(user: CurrentUser) -> Any | None:
    """A where-clause limiting Asset queries to what the user sees (None: everything)."""
    if sees_all_assets(user):
        return None
    condition: Any = Asset.org_unit.is_null() & Asset.project.is_null()
    if user.org_unit_id is not None:
        condition = condition | (Asset.org_unit == user.org_unit_id)
    if user.project_ids:
        condition = condition | Asset.project.is_in(sorted(user.project_ids))
    for role in SCOPED_READERS:
        scope = user.scope(role)
        if scope.everywhere:
            return None
        if scope.units:
            condition = condition | Asset.org_unit.is_in(sorted(scope.units))
        if scope.projects:
            condition = condition | Asset.project.is_in(sorted(scope.projects))
    assets, categories = await assigned_scope(user)
    if assets:
        condition = condition | Asset.id.is_in(assets)
    if categories:
        condition = condition | Asset.category.is_in(categories)
    return condition


async def sees(user: CurrentUser, asset: dict[str, Any]) -> bool:
    if sees_all_assets(user) or owns(user, asset.get("org_unit"), asset.get("project")):
        return True
    assets, categories = await assigned_scope(user)
    return asset.get("id") in assets or asset.get("category") in categories
