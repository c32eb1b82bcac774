"""Error responses: JSON for the API, a friendly page for people. Never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.core import i18n
from server.core.errors import DomainError
from server.core.i18n import gettext as _
from server.web.middleware import choose_language

log = logging.getLogger("auditrail")


def wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def _title(status: int) -> str:
    return {
        400: _("The request could not be understood"),
        401: _("Please log in"),
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        409: _("This record has changed or is locked"),
        413: _("The upload is too large"),
        415: _("This file type is not accepted"),
        422: _("Some values are not valid"),
        429: _("Too many attempts; please wait a moment"),
    }.get(status, _("Something went wrong"))


def error_response(
    request: Request[Any, Any, Any], status: int, detail: str | None = None, extra: Any = None
) -> Response[Any]:
    message = detail or _title(status)
    if wants_json(request):
        body: dict[str, Any] = {"error": {"status": status, "message": message}}
        if extra is not None:
            body["error"]["details"] = extra
        return Response(body, status_code=status, media_type=MediaType.JSON)
    return Template(
        template_name="error.html",
        context={"status": status, "title": _title(status), "detail": detail},
        status_code=status,
        media_type=MediaType.HTML,
    )  # type: ignore[return-value]


def login_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    """Where an anonymous page request goes: the login page, then straight back."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(b"", status_code=401, headers={"HX-Redirect": location})
    return Redirect(location)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if "user" not in request.scope:
        # Refused before any route matched (an unknown path), so the language middleware
        # never ran: take the language from the cookie or the browser here.
        i18n.current_language.set(choose_language(request.scope))
    if exc.status_code == 401 and not wants_json(request):
        return login_redirect(request)
    extra = None
    detail: str | None = None
    if isinstance(exc, ValidationException):
        extra = exc.extra
        detail = _("Some values are not valid")
    elif exc.detail and exc.detail != _default_detail(exc.status_code):
        detail = str(exc.detail)
    response = error_response(request, exc.status_code, detail, extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """A rule's refusal that no handler turned into a form with its problems."""
    return error_response(request, exc.status, exc.message, exc.details or None)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR)


def _default_detail(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    DomainError: domain_error_handler,
    Exception: internal_error_handler,
}
