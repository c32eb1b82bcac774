"""Logging in: checking the password under the attempt limiter, and opening a session."""

from __future__ import annotations

from server.accounts import sessions
from server.accounts.passwords import verify_password
from server.accounts.ratelimit import LoginLimiter
from server.accounts.tables import User
from server.core.errors import DomainError
from server.core.i18n import gettext as _


class LoginRefused(DomainError):
    status = 401


class TooManyAttempts(DomainError):
    status = 429

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(_("Too many attempts; please wait a moment"))
        self.retry_after = int(wait_seconds) + 1


async def log_in(login: str, password: str, address: str, limiter: LoginLimiter,
                 user_agent: str = "", old_session: str | None = None) -> str:
    """A new session's cookie value for a correct login and password; the old session
    (if any) ends, so a session id never survives a login."""
    login, password = login.strip().lower()[:80], password[:200]
    wait = await limiter.wait(login, address)
    if wait:
        raise TooManyAttempts(wait)
    user = await User.objects().get(User.login == login) if login else None
    # The password is checked whoever asks (a dummy hash for unknown logins), so an
    # unknown or inactive login takes as long as a wrong password: no enumeration.
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not user.active or not matches:
        await limiter.failed(login, address)
        raise LoginRefused(_("The login or password is not correct."))
    await limiter.succeeded(login, address)
    if old_session:
        await sessions.end_session(old_session)
    return await sessions.start_session(user.id, user_agent)
