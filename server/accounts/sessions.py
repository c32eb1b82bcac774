"""Server-side login sessions. The cookie holds a random token; the database
holds only its SHA-256, so a leaked table does not leak live sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from server.accounts.current import CurrentUser
from server.accounts.identity import load_user
from server.accounts.tables import LoginSession

COOKIE = "auditrail_session"
IDLE_TIMEOUT = timedelta(hours=8)
ABSOLUTE_TIMEOUT = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def start_session(user_id: int, user_agent: str = "") -> str:
    """A new session with a new id; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    await LoginSession.insert(
        LoginSession(
            token_hash=token_hash(token),
            user=user_id,
            csrf_secret=secrets.token_urlsafe(32),
            user_agent=user_agent[:300],
        )
    )
    return token


async def end_session(token: str) -> None:
    await LoginSession.delete().where(LoginSession.token_hash == token_hash(token))


async def end_all_sessions(user_id: int, except_id: int | None = None) -> None:
    query = LoginSession.delete().where(LoginSession.user == user_id)
    if except_id is not None:
        query = query.where(LoginSession.id != except_id)
    await query


async def user_for_session(token: str) -> CurrentUser | None:
    # A plain statement: every page request runs it, and building it with Piccolo's
    # select cost as much as running it.
    rows = await LoginSession.raw(
        'SELECT id, "user", csrf_secret, created_at, last_seen FROM login_session'
        " WHERE token_hash = {}", token_hash(token))
    if not rows:
        return None
    row = rows[0]
    now = _now()
    if now - row["last_seen"] > IDLE_TIMEOUT or now - row["created_at"] > ABSOLUTE_TIMEOUT:
        await LoginSession.delete().where(LoginSession.id == row["id"])
        return None
    if now - row["last_seen"] > TOUCH_EVERY:
        await LoginSession.update({LoginSession.last_seen: now}).where(LoginSession.id == row["id"])
    return await load_user(row["user"], row["id"], row["csrf_secret"])
