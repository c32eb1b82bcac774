"""Which NCs a person can see.

Quality managers, the management representative, quality specialists and admins see
every NC. Everyone sees the NCs they own or have an action in (once issued); auditors
and engineers also the NCs they raised by hand; department heads and project managers
the issued NCs of their departments and projects.
Auditors also see every NC
of the audits they led, engineers every NC of the inspections they ran (led or
started), drafts included: those are their working papers to review and issue.

The rule exists twice, as SQL (lists, counts, exports) and in Python (one NC);
tests hold the two to the same answers.
"""

from __future__ import annotations

from typing import Any

from server.accounts.roles import SCOPED_READERS, Role, allow
from server.accounts.scopes import clause
from server.audits.tables import Audit
from server.findings.tables import CorrectiveAction
from server.findings.workflow import MANUAL_SOURCES

# Who may raise NCs by hand (besides quality managers, who see everything anyway).
RAISING_ROLES = {"auditor", "engineer", "department_head", "project_manager"}
RAISERS = allow(Role.quality_manager, Role.auditor, Role.engineer, Role.department_head,
                Role.project_manager, Role.quality_specialist)
DASHBOARD_READERS = allow(Role.quality_manager, Role.admin, Role.management_rep,
                          Role.quality_specialist)
POLICY_EDITORS = allow(Role.quality_manager, Role.admin)


def scope_sql(user: Any, alias: str = "n") -> tuple[str, list[Any]]:
    """A WHERE fragment (with {} placeholders) limiting `alias` to what `user` sees.

    Written as one set of ids, each part read through an index (owner, the actions'
    owner, source, the audit's lead), so a scoped list costs about what an unscoped
    one does even with 100,000 NCs."""
    if user.sees_everything:
        return "1 = 1", []
    me = int(user.id)
    roles = set(user.roles)
    manual = ", ".join(f"'{s}'" for s in MANUAL_SOURCES)  # fixed codes, never user input
    parts = [
        "SELECT sx.id FROM nonconformance sx WHERE sx.owner = {} AND sx.state <> 'draft'",
        # Actions exist only from the root-cause step on, so never on drafts.
        "SELECT sa.nc FROM corrective_action sa WHERE sa.owner = {}",
    ]
    args: list[Any] = [me, me]
    if roles & RAISING_ROLES:
        parts.append(f"SELECT sm.id FROM nonconformance sm WHERE sm.source IN ({manual})"
                     " AND sm.raised_by = {}")
        args.append(me)
    if "auditor" in roles:
        parts.append("SELECT sl.id FROM nonconformance sl WHERE sl.audit IN"
                     " (SELECT la.id FROM audit la WHERE la.lead_auditor = {})")
        args.append(me)
    if "engineer" in roles:
        parts.append("SELECT si.id FROM nonconformance si WHERE si.audit IN"
                     " (SELECT ia.id FROM audit ia WHERE ia.kind = 'inspection'"
                     " AND (ia.lead_auditor = {} OR ia.created_by = {}))")
        args += [me, me]
    for role in SCOPED_READERS:  # issued NCs of the departments and projects they lead
        scope = user.scope(role)
        if scope.units or scope.projects or scope.everywhere:
            where, scope_args = clause(scope, "ss.org_unit", "ss.project")
            parts.append("SELECT ss.id FROM nonconformance ss WHERE ss.state <> 'draft'"
                         f" AND {where}")
            args += scope_args
    return f"{alias}.id IN ({' UNION '.join(parts)})", args


async def audit_of(audit_id: int | None) -> dict[str, Any] | None:
    if audit_id is None:
        return None
    return (
        await Audit.select(Audit.id, Audit.kind, Audit.lead_auditor, Audit.created_by, Audit.title,
                           Audit.checklist_key, Audit.status)
        .where(Audit.id == audit_id)
        .first()
    )


async def can_see(user: Any, nc: dict[str, Any]) -> bool:
    """The same rule as scope_sql, for one NC row (a dict of its columns)."""
    if user.sees_everything:
        return True
    me = user.id
    if nc.get("owner") == me and nc["state"] != "draft":
        return True
    if (nc.get("raised_by") == me and nc.get("source") in MANUAL_SOURCES
            and set(user.roles) & RAISING_ROLES):
        return True
    if nc["state"] != "draft" and any(
            user.holds(role, nc.get("org_unit"), nc.get("project")) for role in SCOPED_READERS):
        return True
    audit = await audit_of(nc.get("audit"))
    if audit is not None:
        if user.has("auditor") and audit["lead_auditor"] == me:
            return True
        if (user.has("engineer") and audit["kind"] == "inspection"
                and me in (audit["lead_auditor"], audit["created_by"])):
            return True
    return await CorrectiveAction.exists().where(
        (CorrectiveAction.nc == nc["id"]) & (CorrectiveAction.owner == me)
    )
