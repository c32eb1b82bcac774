"""The app-wide guard: every handler declares who may use it (server/accounts/roles.py)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler

from server.core.i18n import gettext as _
from server.core.inputs import INT_MAX, is_clean

MAX_QUERY_VALUE = 2000


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
                    ) -> None:
    """Run before every handler: public, or a logged-in user holding one of its roles.
    Parameters no record can have are refused here, before they reach a query: a path
    names nothing (404), a query string is malformed (400).

    `async` though it awaits nothing: Litestar runs a plain-def guard in its thread pool,
    a crossing to another thread and back on every request for microseconds of work."""
    for value in connection.path_params.values():
        if (isinstance(value, int) and not -INT_MAX - 1 <= value <= INT_MAX) or (
                isinstance(value, str) and not is_clean(value)):
            raise NotFoundException()
    for _name, value in connection.query_params.multi_items():
        if not is_clean(value) or len(value) > MAX_QUERY_VALUE:
            raise ValidationException(_("The address holds a value that is not valid."))
    opt = handler.opt
    if opt.get("public"):
        return
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    allowed = opt.get("roles")
    if not allowed or not user.has_any(*allowed):
        raise PermissionDeniedException()
