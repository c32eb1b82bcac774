"""Searching text columns the same way on both engines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.db.engine import engine_name


def contains(columns: Sequence[Any], text: str) -> Any:
    """A where-clause: any of these columns contains the text, ignoring ASCII case
    (SQLite's LIKE does; PostgreSQL needs ILIKE)."""
    how = "ilike" if engine_name() == "postgresql" else "like"
    match: Any = None
    for column in columns:
        part = getattr(column, how)(f"%{text}%")
        match = part if match is None else match | part
    return match
