"""The write path's transactions: nesting, and on SQLite the in-process writer queue
(first come, first served, one at a time) that keeps busy-handler starvation away."""

from __future__ import annotations

import asyncio
from typing import Any

from server.changelog.tables import ChangeLog
from server.db.engine import engine_name, write_transaction


def test_writers_queue_in_arrival_order_and_nest(client: Any, run: Any) -> None:
    events: list[str] = []

    async def writer(name: str) -> None:
        async with write_transaction():
            events.append(f"{name} in")
            async with write_transaction():  # nested: must not wait for itself
                await ChangeLog.count()
            await asyncio.sleep(0.02)  # let the others try to get in meanwhile
            events.append(f"{name} out")

    async def all_writers() -> None:
        tasks = []
        for name in "abcde":
            tasks.append(asyncio.create_task(writer(name)))
            await asyncio.sleep(0.001)  # a known arrival order
        await asyncio.gather(*tasks)

    run(all_writers)
    assert sorted(events) == sorted(f"{n} {w}" for n in "abcde" for w in ("in", "out"))
    if engine_name() == "sqlite":
        # One at a time and in arrival order; PostgreSQL runs them side by side.
        assert events == [f"{n} {w}" for n in "abcde" for w in ("in", "out")]
