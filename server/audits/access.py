"""Who may see, fill in and start a run (an audit, a check, an inspection, a survey).

Runs of the programme are the auditors'; the periodic checks of a project are its
people's (002 §5.1): the routine check the project manager's, the random check a head of
the project's department's, the quarterly check the quality department's; return visits
are the quality specialists'.
"""

from __future__ import annotations

from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import SCOPED_READERS, Role, allow

RUNNERS = allow(Role.auditor, Role.engineer, Role.quality_manager, Role.admin,
                Role.project_manager, Role.department_head, Role.quality_specialist)
PLANNERS = allow(Role.quality_manager, Role.admin)
APPROVERS = allow(Role.management_rep)
VIEWERS = allow(Role.quality_manager, Role.admin, Role.auditor, Role.management_rep,
                Role.quality_specialist, Role.department_head)
STARTERS = allow(Role.auditor, Role.engineer, Role.quality_manager, Role.project_manager,
                 Role.department_head, Role.quality_specialist)

# Checklists that a project's own people run, and who besides auditors and the QM.
PROJECT_CHECKS = {
    "project.routine_check": Role.project_manager,
    "project.random_check": Role.department_head,
    "project.quarterly_check": Role.quality_specialist,
}


def can_view(user: CurrentUser, audit: dict[str, Any], owns_nc_of_it: bool = False) -> bool:
    """Those who see every record; the people who ran it; auditors (audits, checks and
    inspections); heads and project managers the runs of their departments and projects;
    engineers inspections (flows.runs narrows those to assets they see); the owner of an
    NC raised from it."""
    if user.sees_everything or user.id in (audit.get("lead_auditor"), audit.get("created_by")):
        return True
    if any(user.holds(role, audit.get("org_unit"), audit.get("project"))
           for role in SCOPED_READERS):
        return True
    if audit.get("kind") == "inspection":
        return user.has(Role.engineer) or user.has(Role.auditor)
    if user.has(Role.auditor):
        return True
    return owns_nc_of_it


def can_edit(user: CurrentUser, audit: dict[str, Any]) -> bool:
    """The lead, whoever started the run, and the quality manager fill it in (the audit
    team too: flows.runs.editable_run)."""
    return user.id in (audit.get("lead_auditor"), audit.get("created_by")) or user.has(
        Role.quality_manager
    )


def can_start(user: CurrentUser, kind: str, key: str = "", project: int | None = None) -> bool:
    if kind == "inspection":
        return user.has_any(Role.engineer, Role.auditor, Role.quality_manager)
    if user.has_any(Role.auditor, Role.quality_manager):
        return True
    if kind == "survey":
        return user.has(Role.quality_specialist)
    role = PROJECT_CHECKS.get(key)
    return role is not None and (user.holds(role, None, project) if project is not None
                                 else user.has(role))
