"""Who is making the request: a session cookie for pages, a bearer token for the API.

Sets scope["user"] (a CurrentUser or None). Route guards decide what follows.
"""

from __future__ import annotations

import secrets

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.accounts import csrf, sessions, tokens
from server.web.cookies import read_cookie
from server.web.middleware import over_https


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def auth_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        user = None
        set_anon: str | None = None
        if scope["path"].startswith("/api/"):
            token = _bearer(scope)
            user = await tokens.user_for_token(token) if token else None
        elif not scope["path"].startswith("/static/"):
            cookie = read_cookie(scope, sessions.COOKIE)
            user = await sessions.user_for_session(cookie) if cookie else None
            if user is None:
                anon = read_cookie(scope, csrf.ANON_COOKIE)
                if not anon:
                    anon = set_anon = secrets.token_urlsafe(24)
                scope["anon_token"] = anon  # type: ignore[typeddict-unknown-key]
        scope["user"] = user
        if not set_anon:
            await app(scope, receive, send)
            return

        # Secure over HTTPS, like the session cookie: never sent back over plain HTTP.
        cookie = f"{csrf.ANON_COOKIE}={set_anon}; Path=/; HttpOnly; SameSite=Lax"
        if over_https(scope):
            cookie += "; Secure"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie)
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware
