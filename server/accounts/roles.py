"""Roles and the route guard: every route declares who may use it.

Handlers declare access in `opt`: `opt=allow(Role.auditor, Role.quality_manager)`,
`opt=ANY_USER` (any logged-in user) or `opt=PUBLIC`. A route that declares
nothing is refused to everyone: forgetting is a 403, not an open door.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler


class Role(StrEnum):
    admin = "admin"
    quality_manager = "quality_manager"
    auditor = "auditor"
    engineer = "engineer"
    owner = "owner"


ALL_ROLES = tuple(Role)
PUBLIC: dict[str, Any] = {"public": True}
ANY_USER: dict[str, Any] = {"roles": ALL_ROLES}


def allow(*roles: Role) -> dict[str, Any]:
    return {"roles": tuple(roles)}


def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """App-wide guard run before every handler."""
    opt = handler.opt
    if opt.get("public"):
        return
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    allowed = opt.get("roles")
    if not allowed or not user.has_any(*allowed):
        raise PermissionDeniedException()
