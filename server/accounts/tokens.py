"""Bearer tokens for the JSON API: shown once, stored hashed, revocable.

Like identities, a token's owner is cached for a few seconds (API clients send many
requests in a row). A revocation takes effect at once in every server process, whichever
process (a server, the CLI) made it (cachesync.py).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from server.accounts import cachesync
from server.accounts.current import CurrentUser
from server.accounts.identity import load_user
from server.accounts.sessions import token_hash
from server.accounts.shortcache import ShortCache
from server.accounts.tables import ApiToken
from server.changelog import record

PREFIX = "atr_"
# token hash -> the owner's user id; None for an unknown or revoked token
_cache: ShortCache[str, int | None] = ShortCache()


async def issue_token(user_id: int, name: str, actor: object) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    await record.create(
        ApiToken(user=user_id, name=name[:100], token_hash=token_hash(token), prefix=token[:12]),
        actor,
    )
    return token


async def revoke_token(token_id: int, actor: object) -> bool:
    row = await ApiToken.objects().get(ApiToken.id == token_id)
    if row is None or row.revoked_at is not None:
        return False
    await record.update(row, actor, {"revoked_at": datetime.now(UTC)}, action="revoke")
    _cache.forget(row.token_hash)
    await cachesync.announce()
    return True


async def revoke_all(user_id: int, actor: object) -> int:
    """Revoke every live token of a user (a deactivated account's tokens stay dead when
    the account comes back); returns how many."""
    rows = await ApiToken.select(ApiToken.id).where(
        (ApiToken.user == user_id) & ApiToken.revoked_at.is_null())
    for row in rows:
        await revoke_token(row["id"], actor)
    return len(rows)


async def _owner(digest: str) -> int | None:
    row = (
        await ApiToken.select(ApiToken.user, ApiToken.revoked_at)
        .where(ApiToken.token_hash == digest)
        .first()
    )
    return None if row is None or row["revoked_at"] is not None else row["user"]


async def user_for_token(token: str) -> CurrentUser | None:
    if not token.startswith(PREFIX):
        return None
    user_id = await _cache.get(token_hash(token), _owner)
    return None if user_id is None else await load_user(user_id)
