"""Loading the CurrentUser for a user id (roles and project memberships included).

Identities are cached for a few seconds (shortcache.py): every request needs one, and
three queries per request were a large share of an answer save. A change drops the
entry at once, here and in every other server process (cachesync.py).
"""

from __future__ import annotations

import dataclasses

from server.accounts import cachesync
from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.accounts.scopes import Grant, scopes_of
from server.accounts.shortcache import ShortCache
from server.accounts.tables import ProjectMember, User, UserRole
from server.org.queries import org_tree
from server.org.tables import OrgUnit, Project

_cache: ShortCache[int, CurrentUser | None] = ShortCache()


async def forget(user_id: int) -> None:
    """After a committed change to a person's account, roles or projects."""
    _cache.forget(user_id)
    await cachesync.announce()


async def forget_all() -> None:
    """After a committed change to who heads or manages what: every identity is loaded
    afresh."""
    _cache.clear()
    await cachesync.announce()


async def load_user(
    user_id: int, session_id: int | None = None, csrf_secret: str = ""
) -> CurrentUser | None:
    user = await _cache.get(user_id, _load)
    if user is None:
        return None
    return dataclasses.replace(user, session_id=session_id, csrf_secret=csrf_secret)


async def _load(user_id: int) -> CurrentUser | None:
    row = (
        await User.select(User.id, User.login, User.name, User.language, User.active, User.org_unit)
        .where(User.id == user_id)
        .first()
    )
    if row is None or not row["active"]:
        return None
    grants = [Grant(r["role"], r["org_unit"], r["project"]) for r in await UserRole.select(
        UserRole.role, UserRole.org_unit, UserRole.project).where(UserRole.user == user_id)]
    # A department's head and a project's manager hold those roles there.
    grants += [Grant(Role.department_head, org_unit=u["id"]) for u in await OrgUnit.select(
        OrgUnit.id).where((OrgUnit.head == user_id) & (OrgUnit.active == True))]  # noqa: E712
    led = await Project.select(Project.id, Project.manager, Project.quality_owner).where(
        (Project.manager == user_id) | (Project.quality_owner == user_id))
    grants += [Grant(Role.project_manager, project=p["id"]) for p in led
               if p["manager"] == user_id]
    members = await ProjectMember.select(ProjectMember.project).where(
        ProjectMember.user == user_id)
    scoped = [g for g in grants if not g.everywhere]
    children, projects_of_unit = await org_tree() if scoped else ({}, {})
    return CurrentUser(
        id=row["id"],
        login=row["login"],
        name=row["name"],
        language=row["language"] or "",
        roles=frozenset(str(g.role) for g in grants),
        org_unit_id=row["org_unit"],
        project_ids=frozenset([p["project"] for p in members] + [p["id"] for p in led]),
        scopes=scopes_of(grants, children, projects_of_unit),
    )
