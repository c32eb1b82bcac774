"""Bearer tokens for the JSON API: shown once, stored hashed, revocable.

Like identities, a token's owner is cached for a few seconds (API clients send many
requests in a row). Revoking through this process takes effect at once; a revocation
by another process (the CLI) within CACHE_SECONDS.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from server.accounts.current import CurrentUser
from server.accounts.identity import CACHE_SECONDS, load_user
from server.accounts.sessions import token_hash
from server.accounts.tables import ApiToken
from server.changelog import record

PREFIX = "atr_"
# token hash -> (when looked up, token id, user id); ids None for an unknown/revoked token
_cache: dict[str, tuple[float, int | None, int | None]] = {}


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
    _cache.pop(row.token_hash, None)
    return True


async def user_for_token(token: str) -> CurrentUser | None:
    if not token.startswith(PREFIX):
        return None
    digest = token_hash(token)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is None or now - hit[0] > CACHE_SECONDS:
        row = (
            await ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.revoked_at)
            .where(ApiToken.token_hash == digest)
            .first()
        )
        if row is None or row["revoked_at"] is not None:
            hit = (now, None, None)
        else:
            hit = (now, row["id"], row["user"])
        if len(_cache) > 10_000:  # bounded: unknown tokens are cached too
            _cache.clear()
        _cache[digest] = hit
    return None if hit[2] is None else await load_user(hit[2])
