"""ASGI middleware for the request's language; a send hook for security headers on every
response."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.core import i18n
from server.web.cookies import read_cookie

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "geolocation=(), microphone=()",
}
# Only over HTTPS: browsers ignore it on http://, and it must not pin a plain-HTTP site.
HSTS_HEADER = "strict-transport-security"
HSTS = "max-age=31536000; includeSubDomains"
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


def over_https(scope: Scope) -> bool:
    """The browser talks to us over HTTPS: the site's base URL says so, or the request came
    over https (uvicorn's proxy headers set the scheme from a trusted proxy)."""
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    base_url = str(getattr(settings, "base_url", ""))
    return base_url.startswith("https://") or scope.get("scheme") == "https"


async def security_headers(message: Message, scope: Scope) -> None:
    """A before_send hook, not middleware: Litestar's middleware wraps route handlers only,
    so responses of the router itself (404, 405) would go out without these."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
    if over_https(scope) and HSTS_HEADER not in headers:
        headers[HSTS_HEADER] = HSTS
    headers.setdefault("vary", "Cookie, Accept-Language")
