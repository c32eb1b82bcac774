"""Login throttling, kept in the database so every server process sees the same counts
and a restart forgets nothing.

- Per (login, address): the first FREE failures cost nothing; each one after makes the
  next attempt wait, twice as long each time (30 s, 1 min, 2 min ... at most an hour).
  Someone guessing a password from another address never locks the real user out of
  the addresses they use: the count belongs to the pair.
- Per address: a ceiling on failures of all logins together, high enough for an office
  behind one NAT, low enough to stop a sweep over many logins.
- Failures are forgotten an hour after the last one; a successful login clears its pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.accounts.tables import LoginAttempt
from server.db.engine import write_transaction

FREE = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
FORGET_AFTER = timedelta(hours=1)
ADDRESS_CEILING = 100


def _pair(login: str, address: str) -> str:
    return f"login:{login}|ip:{address}"[:300]


def _address(address: str) -> str:
    return f"ip:{address}"[:300]


def delay_after(failures: int) -> timedelta:
    """How long the next attempt waits after this many failures in a row."""
    if failures < FREE:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - FREE, 20), MAX_DELAY)


@dataclass
class LoginLimiter:
    """The throttle's rules; `now` is injectable for tests."""

    free: int = FREE
    address_ceiling: int = ADDRESS_CEILING

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    async def wait(self, login: str, address: str) -> float:
        """Seconds before this login may be tried from this address (0: go ahead)."""
        now = self.now()
        rows = await LoginAttempt.select(
            LoginAttempt.key, LoginAttempt.failures, LoginAttempt.last_failed_at,
            LoginAttempt.blocked_until,
        ).where(LoginAttempt.key.is_in([_pair(login, address), _address(address)]))
        wait = 0.0
        for row in rows:
            if now - row["last_failed_at"] > FORGET_AFTER:
                continue
            if row["key"].startswith("login:") and row["blocked_until"]:
                wait = max(wait, (row["blocked_until"] - now).total_seconds())
            elif row["key"].startswith("ip:") and row["failures"] >= self.address_ceiling:
                wait = max(wait, (row["last_failed_at"] + FORGET_AFTER - now).total_seconds())
        return max(wait, 0.0)

    async def failed(self, login: str, address: str) -> None:
        now = self.now()
        async with write_transaction():
            for key in (_pair(login, address), _address(address)):
                failures = await _count(key, now)
                if key.startswith("login:") and failures >= self.free:
                    await LoginAttempt.update(
                        {LoginAttempt.blocked_until: now + delay_after(failures)}
                    ).where(LoginAttempt.key == key)

    async def succeeded(self, login: str, address: str) -> None:
        await LoginAttempt.delete().where(LoginAttempt.key == _pair(login, address))


async def _count(key: str, now: datetime) -> int:
    """One more failure for `key` (starting over when the last one is forgotten); one
    statement, so concurrent failures of one key are all counted."""
    rows = await LoginAttempt.raw(
        "INSERT INTO login_attempt (key, failures, last_failed_at, blocked_until)"
        " VALUES ({}, 1, {}, NULL) ON CONFLICT (key) DO UPDATE SET"
        " failures = CASE WHEN login_attempt.last_failed_at < {} THEN 1"
        " ELSE login_attempt.failures + 1 END,"
        " last_failed_at = excluded.last_failed_at RETURNING failures",
        key, now, now - FORGET_AFTER,
    )
    return int(rows[0]["failures"])
