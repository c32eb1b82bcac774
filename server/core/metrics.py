"""The Prometheus metrics of a server process (prometheus_client).

With several workers, `serve` sets PROMETHEUS_MULTIPROC_DIR before they start: each
process then writes its values to files there and /metrics sums them, whichever
process answers the scrape.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("auditrail_requests", "HTTP requests answered, by route and status class.",
                   ["method", "route", "status"])
LATENCY = Histogram(
    "auditrail_request_duration_seconds", "Time to answer a request, by route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CONFLICTS = Counter("auditrail_save_conflicts",
                    "Saves refused because the record changed since it was read (409).",
                    ["route"])
WRITERS_WAITING = Gauge("auditrail_sqlite_writers_waiting",
                        "Write transactions queued for this process's SQLite writer.",
                        multiprocess_mode="livesum")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, f"{status // 100}xx").inc()
    LATENCY.labels(method, route).observe(seconds)
    if status == 409:
        CONFLICTS.labels(route).inc()


def exposition() -> tuple[bytes, str]:
    """The text a scrape receives: this process's metrics, or every worker's summed."""
    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
