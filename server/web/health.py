"""Liveness and readiness for load balancers and `make run`'s smoke check; metrics for
Prometheus."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from litestar import Request, Response, get

from server.accounts.roles import PUBLIC
from server.checklists import store
from server.core import metrics
from server.db.engine import engine_name


@get("/healthz", name="health", opt=PUBLIC)
async def healthz() -> Response[dict[str, Any]]:
    try:
        checklists = await store.count_keys()
    except Exception:  # the database is down: say so instead of a 500 page
        return Response({"status": "error", "database": engine_name()}, status_code=503)
    return Response({"status": "ok", "database": engine_name(), "checklists": checklists})


def _may_scrape(request: Request[Any, Any, Any]) -> bool:
    """With AUDITRAIL_METRICS_TOKEN, whoever sends it; without, only this host (behind a
    proxy the client is the forwarded address, so outsiders are refused)."""
    token = request.app.state.settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(sent.encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@get("/metrics", name="metrics", opt=PUBLIC, include_in_schema=False)
async def scrape(request: Request[Any, Any, Any]) -> Response[bytes]:
    if not _may_scrape(request):
        return Response(b"not found\n", status_code=404, media_type="text/plain")
    body, media_type = metrics.exposition()
    return Response(body, media_type=media_type)
