"""Reading one cookie from a raw ASGI scope (before Litestar builds a Request)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from litestar.types import Scope


def read_cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed Cookie header counts as no cookie
                return None
            if name in jar:
                return jar[name].value
    return None
