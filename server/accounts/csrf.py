"""CSRF protection for every state-changing page request, htmx included.

Pages carry the token in a meta tag and in forms (`_csrf`); app.js sends it as
the X-CSRF-Token header on htmx requests. A logged-in user's token is their
session's secret, so another session's token never matches. Before login the
token is derived from a random cookie (login forms are protected too).
The JSON API accepts only bearer tokens and no cookies, so it needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Request
from litestar.exceptions import PermissionDeniedException

HEADER = "x-csrf-token"
FIELD = "_csrf"
ANON_COOKIE = "auditrail_pre"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def expected_token(scope: Any, secret_key: str) -> str:
    user = scope.get("user")
    if user is not None and user.csrf_secret:
        return str(user.csrf_secret)
    anon = scope.get("anon_token") or ""
    if not anon:
        return ""
    return hmac.new(secret_key.encode(), f"anon:{anon}".encode(), hashlib.sha256).hexdigest()


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """App-wide before_request hook."""
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return
    expected = expected_token(request.scope, request.app.state.settings.secret_key)
    sent = request.headers.get(HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = form.get(FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise PermissionDeniedException(
            "The form has expired or did not come from this site. Reload the page and try again."
        )
