"""Roles, and how every route declares who may use it.

Handlers declare access in `opt`: `opt=allow(Role.auditor, Role.quality_manager)`,
`opt=ANY_USER` (any logged-in user) or `opt=PUBLIC`. The app-wide guard
(server/web/guard.py) refuses a route that declares nothing: forgetting is a 403, not
an open door.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Who does what in the quality procedures (004 §4, 002 §5).

    A role is held everywhere, or for one department or one project (accounts.scopes)."""

    admin = "admin"  # users, master data, settings
    quality_manager = "quality_manager"  # the programme, every record, approvals of plans
    management_rep = "management_rep"  # approves the programme and the quality reports
    quality_specialist = "quality_specialist"  # return visits, survey analysis, NC review
    department_head = "department_head"  # random checks and NCs of their department
    project_manager = "project_manager"  # routine checks, runs and NCs of their projects
    auditor = "auditor"  # runs audits, raises and verifies NCs
    engineer = "engineer"  # inspects equipment
    owner = "owner"  # fixes the NCs given to them


ALL_ROLES = tuple(Role)
# Held everywhere, these read every record (and see the dashboard).
READ_ALL = (Role.admin, Role.quality_manager, Role.management_rep, Role.quality_specialist)
# These read the records of the departments or projects they hold the role for.
SCOPED_READERS = (Role.department_head, Role.project_manager)
PUBLIC: dict[str, Any] = {"public": True}
ANY_USER: dict[str, Any] = {"roles": ALL_ROLES}


def allow(*roles: Role) -> dict[str, Any]:
    return {"roles": tuple(roles)}
