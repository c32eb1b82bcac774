"""Who may see and who may work on an audit run."""

from __future__ import annotations

from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import Role


def can_view(user: CurrentUser, audit: dict[str, Any], owns_nc_of_it: bool = False) -> bool:
    """Quality managers and admins see every run; auditors see audits; engineers see
    inspections; anyone sees runs they lead or started; an NC owner sees its source."""
    if user.sees_everything or user.id in (audit.get("lead_auditor"), audit.get("created_by")):
        return True
    if audit.get("kind") == "inspection":
        return user.has(Role.engineer) or user.has(Role.auditor)
    if user.has(Role.auditor):
        return True
    return owns_nc_of_it


def can_edit(user: CurrentUser, audit: dict[str, Any]) -> bool:
    """The lead, whoever started the run, and the quality manager fill it in."""
    return user.id in (audit.get("lead_auditor"), audit.get("created_by")) or user.has(
        Role.quality_manager
    )


def can_start(user: CurrentUser, kind: str) -> bool:
    if kind == "inspection":
        return user.has_any(Role.engineer, Role.auditor, Role.quality_manager)
    return user.has_any(Role.auditor, Role.quality_manager)
