"""NC references: NC-<year>-<4-digit sequence>, one sequence per year."""

from __future__ import annotations

from piccolo.engine.postgres import PostgresEngine

from server.db.engine import engine
from server.findings.tables import Nonconformance

# Arbitrary constant: the PostgreSQL advisory lock serialising reference allocation.
_PG_LOCK_KEY = 7_420_002


def format_ref(year: int, seq: int) -> str:
    return f"NC-{year}-{seq:04d}"


async def allocate(year: int) -> tuple[str, int]:
    """The next free reference of a year. Call inside a write transaction: on SQLite
    that transaction holds the write lock; on PostgreSQL an advisory lock held until
    commit keeps two writers from taking the same number (the unique (year, seq)
    index is the last line of defence)."""
    if isinstance(engine(), PostgresEngine):
        await Nonconformance.raw(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    rows = await Nonconformance.raw(
        "SELECT max(seq) AS top FROM nonconformance WHERE year = {}", year
    )
    seq = int(rows[0]["top"] or 0) + 1 if rows else 1
    return format_ref(year, seq), seq
