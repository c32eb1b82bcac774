"""Bearer tokens for the JSON API: shown once, stored hashed, revocable."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from server.accounts.current import CurrentUser
from server.accounts.identity import load_user
from server.accounts.sessions import token_hash
from server.accounts.tables import ApiToken
from server.changelog import record

PREFIX = "atr_"


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
    return True


async def user_for_token(token: str) -> CurrentUser | None:
    if not token.startswith(PREFIX):
        return None
    row = (
        await ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.revoked_at)
        .where(ApiToken.token_hash == token_hash(token))
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        return None
    return await load_user(row["user"])
