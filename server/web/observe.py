"""Around every request, routed or not: its id (X-Request-ID, taken from the proxy when
it sends a sane one), one JSON access-log line (route, status, time, user), and the
request metrics. It wraps the app's whole ASGI handler, as Litestar's own tracing does,
so a 404 for an unknown path is logged and counted too."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.core import logs, metrics

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{8,64}")


def _incoming(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == HEADER:
            return value.decode() if _SANE.fullmatch(value) else None
    return None


def observe(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = _incoming(scope) or secrets.token_hex(8)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (HEADER, request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            handler: Any = scope.get("route_handler")
            route = (handler.name or scope.get("path_template", "")) if handler else "unrouted"
            metrics.observe_request(scope["method"], route, status, seconds)
            user = scope.get("user")
            client = scope.get("client")
            logs.access.info("request", method=scope["method"], path=scope["path"], route=route,
                        status=status, ms=round(seconds * 1000, 2),
                        user=getattr(user, "id", None),
                        client=client[0] if client else None)
            structlog.contextvars.reset_contextvars(**bound)

    return middleware
