"""The CSRF check of every non-API write (tokens: server/accounts/csrf.py)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.exceptions import PermissionDeniedException

from server.accounts.csrf import FIELD, HEADER, SAFE_METHODS, expected_token
from server.core.i18n import gettext as _
from server.web.bodies import read_form


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """App-wide before_request hook."""
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return
    expected = expected_token(request.scope, request.app.state.settings.secret_key)
    sent = request.headers.get(HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await read_form(request)
            sent = form.get(FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise PermissionDeniedException(_(
            "The form has expired or did not come from this site. Reload the page and try again."
        ))
