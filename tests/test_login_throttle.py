"""Login throttling: by (login, address) with growing delays and a ceiling per address,
kept in the database; nobody can lock another person out from an address that person
does not use. Inactive accounts cost the same work as any other; a deactivated
account's API tokens stay revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.accounts import login as login_rules
from server.accounts.ratelimit import ADDRESS_CEILING, LoginLimiter, delay_after
from server.accounts.tables import User
from server.accounts.tokens import issue_token
from server.accounts.users import UserInput, create_user, get_user, input_of, update_user
from server.changelog.record import SYSTEM

PASSWORD = "correct-horse"


class Clock(LoginLimiter):
    moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    @classmethod
    def now(cls) -> datetime:  # type: ignore[override]
        return cls.moment


async def _user(login: str, active: bool = True) -> int:
    existing = await User.objects().get(User.login == login)
    if existing is None:
        existing = await create_user(UserInput(login=login, name=login, roles=["auditor"],
                                               active=active), PASSWORD, SYSTEM)
    return int(existing.id)


async def attempt(limiter: LoginLimiter, login: str, password: str, address: str) -> str:
    try:
        await login_rules.log_in(login, password, address, limiter)
    except login_rules.TooManyAttempts as exc:
        return f"wait {exc.retry_after}"
    except login_rules.LoginRefused:
        return "refused"
    return "in"


def test_delays_grow_from_the_sixth_failure() -> None:
    assert [delay_after(n).total_seconds() for n in (1, 4, 5, 6, 7)] == [0, 0, 30, 60, 120]
    assert delay_after(40) == timedelta(hours=1)


def test_a_stranger_cannot_lock_the_user_out_of_their_own_address(client: Any, run: Any
                                                                   ) -> None:
    run(_user, "throttled")
    limiter = Clock()
    for _ in range(5):
        assert run(attempt, limiter, "throttled", "guess", "203.0.113.9") == "refused"
    assert run(attempt, limiter, "throttled", PASSWORD, "203.0.113.9").startswith("wait")
    # From the office, where the real person works, nothing is blocked.
    assert run(attempt, limiter, "throttled", PASSWORD, "198.51.100.20") == "in"


def test_the_wait_doubles_and_is_shared_by_every_process(client: Any, run: Any) -> None:
    run(_user, "doubling")
    limiter = Clock()
    for _ in range(5):
        run(attempt, limiter, "doubling", "guess", "192.0.2.1")
    assert run(limiter.wait, "doubling", "192.0.2.1") == pytest.approx(30, abs=1)
    # Another worker, or the same one after a restart, sees the same block.
    assert run(Clock().wait, "doubling", "192.0.2.1") == pytest.approx(30, abs=1)
    Clock.moment += timedelta(seconds=31)
    assert run(attempt, limiter, "doubling", "guess", "192.0.2.1") == "refused"
    assert run(limiter.wait, "doubling", "192.0.2.1") == pytest.approx(60, abs=1)
    Clock.moment += timedelta(hours=2)  # long after the last failure: forgotten
    assert run(attempt, limiter, "doubling", PASSWORD, "192.0.2.1") == "in"


def test_an_address_sweeping_many_logins_hits_the_ceiling(client: Any, run: Any) -> None:
    run(_user, "sweep-victim")
    limiter = Clock()
    for n in range(ADDRESS_CEILING):
        assert run(attempt, limiter, f"nobody{n}", "guess", "192.0.2.77") == "refused"
    assert run(attempt, limiter, "sweep-victim", PASSWORD, "192.0.2.77").startswith("wait")
    assert run(attempt, limiter, "sweep-victim", PASSWORD, "192.0.2.78") == "in"


def test_unknown_inactive_and_wrong_logins_cost_one_password_check_each(
    client: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(_user, "sleeping", False)
    run(_user, "awake")
    checks: list[str | None] = []
    real = login_rules.verify_password

    def counted(password_hash: str | None, password: str) -> bool:
        checks.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(login_rules, "verify_password", counted)
    limiter = Clock()
    for login, password in (("ghost", "x"), ("sleeping", PASSWORD), ("awake", "x")):
        assert run(attempt, limiter, login, password, "192.0.2.5") == "refused"
    assert len(checks) == 3
    assert checks[0] is None and checks[1] and checks[2]  # a real argon2 check each time


def test_tokens_of_a_deactivated_account_stay_revoked(client: Any, run: Any) -> None:
    user_id = run(_user, "tokenholder")
    token = run(issue_token, user_id, "ci", SYSTEM)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    async def set_active(active: bool) -> None:
        user = await get_user(user_id)
        data = await input_of(user)
        data.active = active
        await update_user(user, data, SYSTEM, "test")

    run(set_active, False)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    run(set_active, True)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
