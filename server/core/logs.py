"""Logs as one JSON object per line (structlog), for every logger (ours, uvicorn's,
the libraries'), each with the request's id when it is written during a request.

structlog's own loggers (the access log: a line per request) render straight to
stderr, at about a third of the cost of going through the stdlib's logging; the
stdlib's loggers (warnings, errors, uvicorn) go through its handler with the same
fields."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, BinaryIO

import msgspec
import structlog


def _add_pid(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    event["pid"] = os.getpid()  # which worker wrote it
    return event


def _add_name(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """A stdlib record's logger name; structlog's loggers bind theirs (logger=...)."""
    record = event.get("_record")
    if record is not None:
        event["logger"] = record.name
    return event


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    _add_pid,
    structlog.processors.add_log_level,
    _add_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


_encode = msgspec.json.Encoder().encode


def _serialize(event: dict[str, Any], **_options: Any) -> bytes:
    return _encode(event)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so configuring twice (tests build several apps) replaces rather than adds."""


# The access log (a line per request, web/observe.py). Built by configure(), not at
# import: a logger bound before structlog is configured keeps structlog's defaults.
access: Any = structlog.get_logger()


def configure(level: int = logging.INFO, stream: BinaryIO | None = None) -> None:
    """`stream` is where structlog's own lines go (stderr unless a test reads them)."""
    global access
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(serializer=_serialize)],
        logger_factory=structlog.BytesLoggerFactory(stream or sys.stderr.buffer),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    access = structlog.get_logger().bind(logger="auditrail.access")
    handler = _JsonHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False)],
    ))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _JsonHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own messages write through ours (serve passes log_config=None); its
    # access log is replaced by the app's own (web/observe.py), which knows the route,
    # the user and the request's id.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
