"""CSRF tokens for every state-changing page request, htmx included (checked by
server/web/csrf.py).

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
