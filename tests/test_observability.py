"""Every request has an id (X-Request-ID, kept from a proxy when sane), one JSON
access-log line with its route, status, time and user, and its metrics; /metrics is
for the token's holder or this host only. With several workers a scrape sums them all."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core import logs
from tests.servers import serving, shared_database

TOKEN = "scrape-secret-0123456789"


@pytest.fixture
def written() -> Iterator[io.BytesIO]:
    """What structlog writes, as bytes, while the test runs (then stderr again)."""
    sink = io.BytesIO()
    logs.configure(stream=sink)
    yield sink
    logs.configure()


def _access(sink: io.BytesIO) -> list[dict[str, Any]]:
    lines = [json.loads(raw) for raw in sink.getvalue().splitlines()]
    return [line for line in lines if line.get("logger") == "auditrail.access"]


def test_each_response_carries_its_request_id(client: Any, api: Any) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", first) and first != second
    assert client.get("/api/v1/me", headers=api("auditor")).headers["x-request-id"]
    kept = client.get("/healthz", headers={"X-Request-ID": "caddy-4f1c2a9e-77"})
    assert kept.headers["x-request-id"] == "caddy-4f1c2a9e-77"
    for hostile in ("<script>alert(1)</script>", "x" * 65, "short", "a b c d e f g h"):
        answer = client.get("/healthz", headers={"X-Request-ID": hostile})
        assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["x-request-id"]), hostile
    unknown = client.get("/no/such/page")
    assert unknown.status_code == 404 and unknown.headers["x-request-id"]


def test_one_access_line_per_request_with_route_status_time_and_user(
        client: Any, api: Any, written: io.BytesIO) -> None:
    headers = api("auditor")
    answer = client.get("/api/v1/audits", headers=headers, params={"limit": 1})
    me = client.get("/api/v1/me", headers=headers).json()
    refused = client.get("/api/v1/audits", headers=headers, params={"limit": 0})
    lines = _access(written)
    listed = [line for line in lines if line["request_id"] == answer.headers["x-request-id"]]
    assert len(listed) == 1
    line = listed[0]
    assert (line["route"], line["status"], line["method"], line["path"], line["user"]) == (
        "api:audits:list", 200, "GET", "/api/v1/audits", me["id"])
    assert line["ms"] > 0 and "limit" not in json.dumps(line)  # no query strings logged
    bad = next(x for x in lines if x["request_id"] == refused.headers["x-request-id"])
    assert bad["status"] == 422


def test_log_lines_are_json_with_the_request_id(client: Any) -> None:
    """The handler's formatter, fed what structlog and the stdlib write."""
    logs.configure()
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logs._JsonHandler))
    import structlog

    structlog.contextvars.bind_contextvars(request_id="0123456789abcdef")
    try:
        foreign = logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1,
                                    "worker %s stopped", ("1",), None)
        line = json.loads(handler.format(foreign))
    finally:
        structlog.contextvars.clear_contextvars()
    assert line["event"] == "worker 1 stopped" and line["level"] == "warning"
    assert line["request_id"] == "0123456789abcdef" and line["pid"] > 0
    assert line["timestamp"].endswith("Z")


@pytest.fixture
def token_protected(client: Any) -> Iterator[None]:
    app = client.app
    before = app.state.settings
    app.state.settings = replace(before, metrics_token=TOKEN)
    yield
    app.state.settings = before


def test_metrics_need_the_token_or_this_host(client: Any, token_protected: None) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if metric.startswith(name + "{") and ",".join(
                sorted(metric[len(name) + 1:-1].split(","))) == wanted:
            return float(value)
        if metric == name and not labels:
            return float(value)
    return 0.0


def test_conflicts_and_latency_are_counted(client: Any, api: Any,
                                           token_protected: None) -> None:
    scrape = {"Authorization": f"Bearer {TOKEN}"}
    headers = api("auditor")
    started = client.post("/api/v1/audits", headers=headers,
                          json={"checklist": "project.startup", "project": 1})
    assert started.status_code == 201, started.text
    audit = started.json()
    detail = client.get(f"/api/v1/audits/{audit['id']}", headers=headers).json()
    checklist = client.get(f"/api/v1/checklists/{detail['checklist']}", headers=headers).json()
    item = checklist["sections"][0]["items"][0]["id"]
    before = client.get("/metrics", headers=scrape).text
    saved = client.put(f"/api/v1/audits/{audit['id']}/answers/{item}", headers=headers,
                       json={"value": None, "comment": "first"})
    assert saved.status_code == 200, saved.text
    stale = client.put(f"/api/v1/audits/{audit['id']}/answers/{item}", headers=headers,
                       json={"value": None, "comment": "late", "base_version": 0})
    assert stale.status_code == 409, stale.text
    after = client.get("/metrics", headers=scrape).text
    route = "api:audits:answer"
    assert _value(after, "auditrail_save_conflicts_total", route=route) - _value(
        before, "auditrail_save_conflicts_total", route=route) == 1
    assert _value(after, "auditrail_requests_total", method="PUT", route=route,
                  status="2xx") - _value(before, "auditrail_requests_total", method="PUT",
                                         route=route, status="2xx") == 1
    assert _value(after, "auditrail_request_duration_seconds_count", method="PUT",
                  route=route) - _value(before, "auditrail_request_duration_seconds_count",
                                        method="PUT", route=route) == 2


@pytest.mark.db
def test_a_scrape_sums_every_worker(tmp_path: Path) -> None:
    with shared_database(tmp_path) as env, serving(env, tmp_path / "serve.log",
                                                   "--workers", "2") as url:
        def health_count() -> float:
            return _value(httpx.get(url + "/metrics").text, "auditrail_requests_total",
                          method="GET", route="health", status="2xx")

        before = health_count()
        for _ in range(40):  # a new connection each: either worker may accept it
            assert httpx.get(url + "/healthz").status_code == 200
        assert health_count() - before == 40
        lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()
                 if line.startswith("{")]
        pids = {line["pid"] for line in lines if line.get("route") == "health"}
        assert len(pids) == 2, pids
