"""ASGI middleware: the request's language, and security headers on every response."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server import i18n
from server.web.cookies import read_cookie

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "geolocation=(), microphone=()",
}
LANG_COOKIE = "lang"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def choose_language(scope: Scope) -> str:
    """The user's preference, then an explicit choice (cookie), then the browser."""
    user = scope.get("user")
    return (
        i18n.normalise(getattr(user, "language", None))
        or i18n.normalise(read_cookie(scope, LANG_COOKIE))
        or i18n.from_accept_language(_header(scope, b"accept-language"))
        or i18n.DEFAULT_LANGUAGE
    )


def language_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = i18n.current_language.set(choose_language(scope))
            try:
                await app(scope, receive, send)
            finally:
                i18n.current_language.reset(token)
        else:
            await app(scope, receive, send)

    return middleware


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                headers.setdefault("vary", "Cookie, Accept-Language")
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
