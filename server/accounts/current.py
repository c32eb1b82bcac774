"""The person behind a request, as handlers and rules see them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.accounts.roles import READ_ALL, Role
from server.accounts.scopes import NOWHERE, Scope


@dataclass(frozen=True)
class CurrentUser:
    id: int
    login: str
    name: str
    language: str
    roles: frozenset[str]  # every role held anywhere (what route declarations check)
    org_unit_id: int | None = None
    project_ids: frozenset[int] = field(default_factory=frozenset)  # member, manager, owner
    session_id: int | None = None
    csrf_secret: str = ""
    scopes: Mapping[str, Scope] = field(default_factory=dict)  # role -> where it is held

    def has(self, role: Role | str) -> bool:
        return str(role) in self.roles

    def has_any(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)

    def scope(self, role: Role | str) -> Scope:
        if str(role) not in self.roles:
            return NOWHERE
        return self.scopes.get(str(role), Scope(everywhere=True))

    def holds(self, role: Role | str, org_unit: int | None, project: int | None) -> bool:
        """Whether the role covers a record of this department or project."""
        return self.scope(role).covers(org_unit, project)

    @property
    def sees_everything(self) -> bool:
        """Quality managers, the management representative, quality specialists and
        admins read every record, when they hold the role everywhere."""
        return any(self.scope(r).everywhere for r in READ_ALL)
