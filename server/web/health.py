"""Liveness and readiness for load balancers and `make run`'s smoke check."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from server.accounts.roles import PUBLIC
from server.checklists import store
from server.db.engine import engine_name


@get("/healthz", name="health", opt=PUBLIC)
async def healthz() -> Response[dict[str, Any]]:
    try:
        checklists = await store.count_keys()
    except Exception:  # the database is down: say so instead of a 500 page
        return Response({"status": "error", "database": engine_name()}, status_code=503)
    return Response({"status": "ok", "database": engine_name(), "checklists": checklists})
