"""Several server processes on one database act as one server: a token revoked or a
role taken away through one is refused at once by the other (each caches identities
for a few seconds), and login throttling counts failures made through any of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import PG_ADMIN_URL
from tests.servers import cli, serving, shared_database
from tests.support import login, run_coroutine

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("two-servers")
    with (shared_database(root) as env, serving(env, root / "a.log") as a,
          serving(env, root / "b.log") as b):
        yield a, b, env


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=True, timeout=30)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_revoked_through_one_process_is_refused_by_the_other_at_once(
        two: tuple[str, str, dict[str, str]]) -> None:
    a, b, env = two
    token = cli(env, "users", "token", "auditor", "--name", "two-servers")
    with _client(a) as admin, _client(b) as other:
        for _ in range(3):  # both processes have the owner cached
            assert other.get("/api/v1/me", headers=_bearer(token)).status_code == 200
            assert admin.get("/api/v1/me", headers=_bearer(token)).status_code == 200
        csrf = login(admin, "admin")
        users = admin.get("/api/v1/users", headers=_bearer(cli(env, "users", "token", "admin")))
        auditor = next(u for u in users.json()["items"] if u["login"] == "auditor")
        page = admin.get(f"/admin/users/{auditor['id']}").text
        token_id = max(int(i) for i in re.findall(r"/admin/tokens/(\d+)/revoke", page))
        revoked = admin.post(f"/admin/tokens/{token_id}/revoke", data={"_csrf": csrf})
        assert revoked.status_code == 200, revoked.text[:300]
        assert other.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_a_role_taken_away_through_one_process_holds_at_once_in_the_other(
        two: tuple[str, str, dict[str, str]]) -> None:
    a, b, env = two
    admin_token = cli(env, "users", "token", "admin")
    token = cli(env, "users", "token", "quality_specialist")
    with _client(a) as one, _client(b) as other:
        me = other.get("/api/v1/me", headers=_bearer(token)).json()
        assert "quality_specialist" in me["roles"]
        changed = one.patch(f"/api/v1/users/{me['id']}", headers=_bearer(admin_token),
                            json={"roles": ["auditor"], "reason": "moved to audit"})
        assert changed.status_code == 200, changed.text
        assert other.get("/api/v1/me", headers=_bearer(token)).json()["roles"] == ["auditor"]
        gone = one.patch(f"/api/v1/users/{me['id']}", headers=_bearer(admin_token),
                         json={"active": False, "reason": "left"})
        assert gone.status_code == 200, gone.text
        assert other.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_login_failures_through_either_process_count_together(
        two: tuple[str, str, dict[str, str]]) -> None:
    a, b, _env = two

    def attempt(client: httpx.Client) -> Any:
        page = client.get("/login").text
        csrf = re.search(r'name="_csrf" value="([^"]*)"', page) or re.search(
            r'<meta name="csrf-token" content="([^"]*)">', page)
        assert csrf
        return client.post("/login", data={"login": "engineer", "password": "wrong",
                                           "_csrf": csrf.group(1), "next": "/"})

    with _client(a) as one, _client(b) as other:
        answers = [attempt(one if n % 2 else other).status_code for n in range(5)]
        assert answers == [401] * 5, answers
        throttled = attempt(one)
        assert throttled.status_code == 429, throttled.status_code
        assert int(throttled.headers["Retry-After"]) > 0
        assert attempt(other).status_code == 429


@pytest.mark.skipif(not PG_ADMIN_URL, reason="PostgreSQL's LISTEN connection")
def test_a_lost_listening_connection_serves_nothing_stale(
        two: tuple[str, str, dict[str, str]]) -> None:
    """A process that cannot hear of changes stops trusting its cache until it listens
    again (and then drops what it had)."""
    _a, b, env = two
    token = cli(env, "users", "token", "management_rep")
    with _client(b) as other:
        assert other.get("/api/v1/me", headers=_bearer(token)).status_code == 200
        cut = _value(env, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                     " WHERE datname = current_database() AND query LIKE 'LISTEN%'")
        assert cut == 2  # one listener per server process
        token_id = _value(env, "SELECT id FROM api_token WHERE prefix = $1", token[:12])
        cli(env, "users", "revoke-token", str(token_id))
        assert other.get("/api/v1/me", headers=_bearer(token)).status_code == 401



def _value(env: dict[str, str], sql: str, *args: Any) -> int:
    async def fetch() -> int:
        conn = await asyncpg.connect(env["AUDITRAIL_DATABASE_URL"])
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()
    return run_coroutine(fetch)
