"""Loading the CurrentUser for a user id (roles and project memberships included).

Identities are cached for a few seconds (shortcache.py): every request needs one, and
three queries per request were a large share of an answer save. Changes made through
this process (users.py) drop the entry at once; another process sees them later.
"""

from __future__ import annotations

import dataclasses

from server.accounts.current import CurrentUser
from server.accounts.shortcache import ShortCache
from server.accounts.tables import ProjectMember, User, UserRole

_cache: ShortCache[int, CurrentUser | None] = ShortCache()


def forget(user_id: int) -> None:
    _cache.forget(user_id)


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
    roles = await UserRole.select(UserRole.role).where(UserRole.user == user_id)
    projects = await ProjectMember.select(ProjectMember.project).where(
        ProjectMember.user == user_id
    )
    return CurrentUser(
        id=row["id"],
        login=row["login"],
        name=row["name"],
        language=row["language"] or "",
        roles=frozenset(r["role"] for r in roles),
        org_unit_id=row["org_unit"],
        project_ids=frozenset(p["project"] for p in projects),
    )
