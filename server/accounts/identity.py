"""Loading the CurrentUser for a user id (roles and project memberships included).

Identities are cached for a few seconds: every request needs one, and three queries
per request were a large share of an answer save. Changes made through this process
(users.py) drop the entry at once; another process sees them within CACHE_SECONDS.
"""

from __future__ import annotations

import dataclasses
import time

from server.accounts.current import CurrentUser
from server.accounts.tables import ProjectMember, User, UserRole

CACHE_SECONDS = 5.0
_cache: dict[int, tuple[float, CurrentUser | None]] = {}


def forget(user_id: int) -> None:
    _cache.pop(user_id, None)


async def load_user(
    user_id: int, session_id: int | None = None, csrf_secret: str = ""
) -> CurrentUser | None:
    now = time.monotonic()
    hit = _cache.get(user_id)
    if hit is None or now - hit[0] > CACHE_SECONDS:
        hit = (now, await _load(user_id))
        _cache[user_id] = hit
    user = hit[1]
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
