"""Login, sessions, rate limit, CSRF, tokens and the security baseline."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.accounts.sessions import COOKIE, IDLE_TIMEOUT
from server.accounts.tables import ApiToken, LoginSession, User
from tests.support import csrf_of, login


def _user_count(run: Any, login_name: str) -> int:
    return run(User.count().where(User.login == login_name).run)


def test_login_sets_a_fresh_httponly_samesite_session(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    client.cookies.set(COOKIE, "planted-by-an-attacker")
    response = client.post(
        "/login",
        data={"login": "auditor", "password": "demo", "_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "planted" not in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    first = response.cookies[COOKIE]
    client.cookies.clear()
    second_token = csrf_of(client.get("/login").text)
    again = client.post(
        "/login",
        data={"login": "auditor", "password": "demo", "_csrf": second_token},
        follow_redirects=False,
    )
    assert again.cookies[COOKIE] != first


def test_session_token_is_stored_hashed(client: Any, run: Any) -> None:
    login(client, "engineer")
    cookie = client.cookies[COOKIE]
    hashes = [r["token_hash"] for r in run(LoginSession.select(LoginSession.token_hash).run)]
    assert hashes and cookie not in hashes


def test_wrong_password_and_unknown_login_look_the_same(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"login": "auditor", "password": "nope", "_csrf": token})
    unknown = client.post("/login", data={"login": "nobody", "password": "nope", "_csrf": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "auditor" not in wrong.text.split("<main")[1].split("</main>")[0].replace(
        'value="/"', ""
    )


def test_login_rate_limit_is_429_and_blocks_even_the_right_password(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        assert (
            client.post(
                "/login", data={"login": "owner", "password": "bad", "_csrf": token}
            ).status_code
            == 401
        )
    blocked = client.post("/login", data={"login": "owner", "password": "demo", "_csrf": token})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


def test_idle_session_expires(client: Any, run: Any) -> None:
    login(client, "auditor")
    assert client.get("/account", follow_redirects=False).status_code == 200
    stale = datetime.now(UTC) - IDLE_TIMEOUT - timedelta(minutes=1)
    run(LoginSession.update({LoginSession.last_seen: stale}, force=True).run)
    response = client.get("/account", follow_redirects=False)
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


def test_logout_ends_the_session_on_the_server(client: Any, run: Any) -> None:
    token = login(client, "auditor")
    cookie = client.cookies[COOKIE]
    client.post("/logout", data={"_csrf": token})
    client.cookies.set(COOKIE, cookie)  # replaying the old cookie does not work
    assert client.get("/account", follow_redirects=False).status_code in (302, 303)


def _create_user_form(token: str | None, login_name: str) -> dict[str, str]:
    form = {
        "login": login_name,
        "name": "Test",
        "password": "long-enough-1",
        "roles": "auditor",
        "active": "on",
    }
    if token is not None:
        form["_csrf"] = token
    return form


def test_csrf_missing_wrong_and_foreign_tokens_are_refused(client: Any, run: Any) -> None:
    other = login(client, "admin")  # a token from another admin session
    client.cookies.clear()
    token = login(client, "admin")
    assert token != other
    for bad, name in ((None, "csrf-missing"), ("x" * 43, "csrf-wrong"), (other, "csrf-other")):
        response = client.post("/admin/users", data=_create_user_form(bad, name))
        assert response.status_code == 403, name
        assert _user_count(run, name) == 0, name
    ok = client.post("/admin/users", data=_create_user_form(token, "csrf-ok"))
    assert ok.status_code == 200 and _user_count(run, "csrf-ok") == 1


def test_csrf_header_as_htmx_sends_it(client: Any, run: Any) -> None:
    token = login(client, "admin")
    response = client.post(
        "/admin/users",
        data=_create_user_form(None, "via-header"),
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert response.status_code == 200 and _user_count(run, "via-header") == 1
    refused = client.post(
        "/admin/users",
        data=_create_user_form(None, "bad-header"),
        headers={"X-CSRF-Token": "nope", "HX-Request": "true"},
    )
    assert refused.status_code == 403 and _user_count(run, "bad-header") == 0


def test_login_form_itself_needs_a_csrf_token(client: Any) -> None:
    client.get("/login")
    response = client.post("/login", data={"login": "auditor", "password": "demo"})
    assert response.status_code == 403
    assert COOKIE not in response.cookies


def test_revoked_token_is_refused_and_tokens_are_stored_hashed(
    client: Any, run: Any, api: Any
) -> None:
    headers = api("auditor")
    assert client.get("/api/v1/me", headers=headers).json()["login"] == "auditor"
    plain = headers["Authorization"].split()[1]
    rows = run(ApiToken.select(ApiToken.id, ApiToken.token_hash).run)
    assert plain not in {r["token_hash"] for r in rows}
    admin_csrf = login(client, "admin")
    token_id = max(r["id"] for r in rows)
    client.post(f"/admin/tokens/{token_id}/revoke", data={"_csrf": admin_csrf})
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer atr_x"}).status_code == 401


def test_api_posts_need_no_csrf_token(client: Any, api: Any) -> None:
    # No API write exists for checklists: the refusal must be "method not allowed",
    # not the CSRF 403 a page would give.
    response = client.post("/api/v1/checklists", json={}, headers=api("auditor"))
    assert response.status_code == 405


def test_user_text_is_escaped(client: Any, run: Any) -> None:
    token = login(client, "admin")
    form = _create_user_form(token, "xss-user")
    form["name"] = "<script>alert(1)</script>"
    client.post("/admin/users", data=form)
    page = client.get("/admin/users").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_oversized_body_is_413(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        content=b"a=" + b"x" * (31 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token},
    )
    assert response.status_code == 413


def test_password_change_checks_the_old_one_and_logs_out_other_sessions(
    client: Any, run: Any
) -> None:
    admin = login(client, "admin")
    client.post("/admin/users", data=_create_user_form(admin, "pw-user"))
    client.cookies.clear()
    other_session = login(client, "pw-user", "long-enough-1")
    other_cookie = client.cookies[COOKIE]
    client.cookies.clear()
    token = login(client, "pw-user", "long-enough-1")
    bad = client.post(
        "/account/password",
        data={
            "_csrf": token,
            "current": "wrong",
            "new": "another-pass-2",
            "again": "another-pass-2",
        },
    )
    assert bad.status_code == 422
    ok = client.post(
        "/account/password",
        data={
            "_csrf": token,
            "current": "long-enough-1",
            "new": "another-pass-2",
            "again": "another-pass-2",
        },
    )
    assert ok.status_code == 200
    assert client.get("/account").status_code == 200  # this session carries on
    client.cookies.set(COOKIE, other_cookie)
    assert other_session and client.get("/account", follow_redirects=False).status_code == 302


def test_cli_creates_users_and_prints_tokens(client: Any, settings: Any) -> None:
    import os

    env = {
        **os.environ,
        "AUDITRAIL_DATA_DIR": str(settings.data_dir),
        "AUDITRAIL_DATABASE_URL": settings.database_url,
        # the app's key: the change log refuses rows keyed with another (record.WrongKey)
        "AUDITRAIL_SECRET_KEY": settings.secret_key,
    }
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "users",
            "create",
            "cli-user",
            "--name",
            "CLI",
            "--role",
            "auditor",
            "--password",
            "cli-password-1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    token = subprocess.run(
        [sys.executable, "-m", "server.cli", "users", "token", "cli-user"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert token.returncode == 0, token.stderr
    plain = token.stdout.strip()
    assert plain.startswith("atr_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.json()["login"] == "cli-user"
    unknown = subprocess.run(
        [sys.executable, "-m", "server.cli", "users", "token", "ghost"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode != 0 and "no user" in unknown.stderr


@pytest.mark.parametrize(("headers", "cookies", "title"), [
    ({"accept-language": "en"}, {}, "Page not found"),
    ({"accept-language": "zh-CN"}, {}, "页面不存在"),
    ({"accept-language": "zh-CN"}, {"lang": "en"}, "Page not found"),
])
def test_an_unknown_path_answers_in_the_readers_language(
    client: Any, headers: dict[str, str], cookies: dict[str, str], title: str
) -> None:
    """No route matched, so no middleware ran: the 404 page was always in Chinese."""
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    response = client.get("/no/such/page", headers=headers)
    assert response.status_code == 404
    assert title in response.text
