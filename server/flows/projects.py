"""A project's phase steps forward only by an explicit move, which says whether the audit
of the phase it leaves was passed (002 §5.1; 004 §8): moving on without a passed audit
needs a reason, kept in the change log with who moved it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.audits.access import PROJECT_CHECKS
from server.audits.tables import Audit
from server.checklists import store
from server.core.errors import Conflict, Forbidden, Invalid
from server.core.i18n import gettext as _
from server.directory.projects import get_project, move_phase, next_phase
from server.org.tables import Project


@dataclass(frozen=True)
class PhaseAudit:
    """The latest audit of a project's phase: none yet, or its status and result."""

    checklists: tuple[str, ...]
    audit_id: int | None = None
    status: str | None = None
    passed: bool | None = None

    @property
    def passed_audit(self) -> bool:
        return self.status in ("submitted", "closed") and bool(self.passed)


async def phase_audit(project: Project | dict[str, Any]) -> PhaseAudit:
    """The audit of the project's current phase (the phase checklists, not the periodic
    checks)."""
    pid = project["id"] if isinstance(project, dict) else project.id
    phase = project["phase"] if isinstance(project, dict) else project.phase
    keys = tuple(s.key for s in await store.latest_summaries("project_audit")
                 if s.key not in PROJECT_CHECKS and s.key.endswith(f".{phase}"))
    if not keys:
        return PhaseAudit(keys)
    row = await Audit.select(Audit.id, Audit.status, Audit.passed).where(
        (Audit.project == pid) & Audit.checklist_key.is_in(list(keys))
        & (Audit.status != "cancelled")).order_by(Audit.id, ascending=False).first()
    if row is None:
        return PhaseAudit(keys)
    return PhaseAudit(keys, row["id"], row["status"], row["passed"])


def may_move(user: CurrentUser, project: Project) -> bool:
    return user.has_any(Role.quality_manager, Role.admin) or user.holds(
        Role.project_manager, None, project.id)


async def move_project_phase(project_id: int, to: str, actor: CurrentUser, reason: str
                             ) -> None:
    project = await get_project(project_id)
    if not may_move(actor, project):
        raise Forbidden(_("Only the project manager or the quality manager moves a project "
                          "to its next phase."))
    expected = next_phase(project.phase)
    if expected is None:
        raise Conflict(_("The project is in its last phase."))
    if to != expected:
        raise Invalid(_("A project moves one phase forward at a time: next is %(phase)s.",
                        phase=expected), invalid={"to": expected})
    audit = await phase_audit(project)
    if not audit.passed_audit and not reason.strip():
        raise Invalid(_("The audit of this phase has not been passed: say why the project "
                        "moves on."), missing=["reason"])
    await move_phase(project, to, actor, reason.strip())
