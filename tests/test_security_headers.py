"""Security headers on every response (404 and 405 included), HSTS and Secure cookies
when the site is served over HTTPS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from server.accounts import csrf
from server.core.settings import Settings

HSTS = "max-age=31536000; includeSubDomains"


def assert_security_headers(headers: Any) -> None:
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"


def anon_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie")
               if c.startswith(csrf.ANON_COOKIE + "=")]
    assert len(cookies) == 1, response.headers
    return cookies[0]


@pytest.fixture
def https_client(settings: Settings, client: TestClient[Any]) -> Iterator[TestClient[Any]]:
    """The app built for https://, on the test database, with a lifespan and an engine of
    its own: its requests run on another event loop, and a connection pool must never be
    shared between loops (asyncpg crashes the process when two threads drive one pool).
    The module's engine and settings are put back afterwards."""
    from server import runtime, schema
    from server.app import create_app
    from server.db import engine as db

    started = db.engine()
    try:
        app = create_app(dataclasses.replace(settings, base_url="https://audit.example.com"))
        with TestClient(app, base_url="https://audit.example.com") as https:
            yield https
    finally:
        runtime.configure(settings)  # the clock and settings of the module's app
        for table in schema.APP_CONFIG.table_classes:
            table._meta.db = started
        db._current = started


@pytest.mark.parametrize("path", ["/no-such-page", "/static/no-such-file.css",
                                  "/api/v1/no-such-endpoint", "/audits/abc"])
def test_not_found_has_security_headers(client: TestClient[Any], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert_security_headers(response.headers)


def test_method_not_allowed_has_security_headers(client: TestClient[Any]) -> None:
    response = client.delete("/login")
    assert response.status_code == 405
    assert_security_headers(response.headers)


def test_routed_responses_keep_their_headers(client: TestClient[Any]) -> None:
    for path in ("/login", "/healthz", "/static/app.css"):
        response = client.get(path)
        assert response.status_code == 200
        assert_security_headers(response.headers)
        assert "strict-transport-security" not in response.headers  # plain HTTP: no HSTS


def test_plain_http_csrf_cookie_is_not_secure(client: TestClient[Any]) -> None:
    cookie = anon_cookie(client.get("/login"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # a browser on http:// would drop a Secure cookie


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/static/app.css"])
def test_https_site_sends_hsts(https_client: TestClient[Any], path: str) -> None:
    response = https_client.get(path)
    assert response.headers["strict-transport-security"] == HSTS
    assert_security_headers(response.headers)


def test_https_site_csrf_cookie_is_secure(https_client: TestClient[Any]) -> None:
    assert "; Secure" in anon_cookie(https_client.get("/login"))


def test_https_behind_a_proxy_sends_hsts_and_secure_cookie(client: TestClient[Any]) -> None:
    """base_url says http, but the request came over https (uvicorn's proxy headers set the
    scheme): the browser is on HTTPS, so HSTS and a Secure cookie are right."""
    response = client.get("https://testserver.local/login")
    assert response.headers["strict-transport-security"] == HSTS
    assert "; Secure" in anon_cookie(response)
