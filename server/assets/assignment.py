"""Who an inspection schedule is for. Plain rules, no database.

A schedule names a person, or a department whose engineers share the work. A schedule
that names neither falls to the asset's owners: the engineers of the asset's department
and of its project. Whoever it falls to sees it under "Due for me".
"""

from __future__ import annotations

from dataclasses import dataclass

from server.accounts.current import CurrentUser
from server.accounts.roles import Role


@dataclass(frozen=True)
class Responsible:
    user_id: int | None = None
    org_unit_id: int | None = None
    project_id: int | None = None

    @property
    def unassigned(self) -> bool:
        return self.user_id is None and self.org_unit_id is None and self.project_id is None


@dataclass(frozen=True)
class Person:
    """The facts about a user that assignment looks at."""

    id: int
    org_unit_id: int | None
    project_ids: frozenset[int]
    roles: frozenset[str]

    @property
    def is_engineer(self) -> bool:
        return Role.engineer.value in self.roles

    @classmethod
    def of(cls, user: CurrentUser) -> Person:
        return cls(user.id, user.org_unit_id, user.project_ids, user.roles)


def responsible(
    assignee: int | None,
    assignee_org_unit: int | None,
    asset_org_unit: int | None,
    asset_project: int | None,
) -> Responsible:
    if assignee is not None:
        return Responsible(user_id=assignee)
    if assignee_org_unit is not None:
        return Responsible(org_unit_id=assignee_org_unit)
    return Responsible(org_unit_id=asset_org_unit, project_id=asset_project)


def is_for(who: Responsible, person: Person) -> bool:
    """Whether the work falls to this person."""
    if who.user_id is not None:
        return who.user_id == person.id
    if not person.is_engineer:
        return False
    if who.org_unit_id is not None and who.org_unit_id == person.org_unit_id:
        return True
    return who.project_id is not None and who.project_id in person.project_ids
