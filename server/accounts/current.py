"""The person behind a request, as handlers and rules see them."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.accounts.roles import Role


@dataclass(frozen=True)
class CurrentUser:
    id: int
    login: str
    name: str
    language: str
    roles: frozenset[str]
    org_unit_id: int | None = None
    project_ids: frozenset[int] = field(default_factory=frozenset)
    session_id: int | None = None
    csrf_secret: str = ""

    def has(self, role: Role | str) -> bool:
        return str(role) in self.roles

    def has_any(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)

    @property
    def sees_everything(self) -> bool:
        """Quality managers and admins read every record; others see their own."""
        return self.has_any(Role.quality_manager, Role.admin)
