"""A SQLite engine that reuses connections.

Piccolo's SQLiteEngine opens a new aiosqlite connection (and with it a new thread)
for every query outside a transaction, and for every transaction. At a dozen queries
per request that dominated request time. This engine keeps a small pool of open
connections per event loop; with WAL, readers proceed while one writer commits.

Writers of this process queue in arrival order (server/db/engine.py) and, once it is
their turn, use one connection kept for writing: a writer holding the queue must not
wait behind a crowd of readers for a pooled connection. Writers in other processes
still meet the busy timeout.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

from server.core.settings import SQLITE_SYNCHRONOUS

POOL_SIZE = 8
# True while the current task holds this process's writer turn (engine._queued).
holding_writer: ContextVar[bool] = ContextVar("holding_writer", default=False)


class _PooledConnection:
    """Looks like an aiosqlite connection; close() hands it back to the pool."""

    def __init__(self, engine: PooledSQLiteEngine, conn: aiosqlite.Connection) -> None:
        self._engine = engine
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._conn.execute(*args, **kwargs)

    async def close(self) -> None:
        await self._engine._release(self._conn)


class _WriterConnection(_PooledConnection):
    """The writer's own connection: close() keeps it for the next writer."""

    async def close(self) -> None:
        if self._conn.in_transaction:
            await self._conn.rollback()


class PooledSQLiteEngine(SQLiteEngine):
    __slots__ = ("_pools", "_synchronous", "_writers")

    def __init__(self, path: str, synchronous: str = "FULL", **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        if synchronous not in SQLITE_SYNCHRONOUS:  # it goes into a PRAGMA: never free text
            raise ValueError(f"synchronous must be one of {SQLITE_SYNCHRONOUS}")
        self._synchronous = synchronous
        self._pools: dict[int, tuple[asyncio.Queue[aiosqlite.Connection], list[int]]] = {}
        self._writers: dict[int, aiosqlite.Connection] = {}

    def _pool(self) -> tuple[asyncio.Queue[aiosqlite.Connection], list[int]]:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._pools:
            self._pools[loop_id] = (asyncio.Queue(), [0])
        return self._pools[loop_id]

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(**self.connection_kwargs)
        conn.row_factory = dict_factory  # type: ignore[assignment]
        await conn.execute("PRAGMA foreign_keys = 1")
        # Per connection, not per file. With WAL, FULL syncs the log at every commit: an
        # acknowledged answer is on disk before the client hears so, and survives a power
        # cut. NORMAL (AUDITRAIL_SQLITE_SYNCHRONOUS) syncs only at checkpoints: a power cut
        # can lose the last commits, never corrupt the file.
        await conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        return conn

    async def _acquire(self) -> aiosqlite.Connection:
        queue, opened = self._pool()
        if queue.empty() and opened[0] < POOL_SIZE:
            opened[0] += 1
            try:
                return await self._connect()
            except Exception:
                opened[0] -= 1
                raise
        return await queue.get()

    async def _release(self, conn: aiosqlite.Connection) -> None:
        if conn.in_transaction:  # a failed statement left it open: never hand that on
            await conn.rollback()
        self._pool()[0].put_nowait(conn)

    async def get_connection(self) -> Any:
        if holding_writer.get():
            loop_id = id(asyncio.get_running_loop())
            if loop_id not in self._writers:
                self._writers[loop_id] = await self._connect()
            return _WriterConnection(self, self._writers[loop_id])
        return _PooledConnection(self, await self._acquire())

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        conn = await self._acquire()
        try:
            rows = await conn.execute_fetchall(query, args or [])
            if conn.in_transaction:  # sqlite3 opened one implicitly for a write
                await conn.commit()
            return rows
        finally:
            await self._release(conn)

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None,
        query_type: str = "generic", table: Any = None,
    ) -> Any:
        # foreign_keys is set once per pooled connection, not before every query
        return await connection.execute_fetchall(query, args or [])

    async def close_pools(self) -> None:
        writer = self._writers.pop(id(asyncio.get_running_loop()), None)
        if writer is not None:
            await writer.close()
        queue, opened = self._pool()
        while not queue.empty():
            await queue.get_nowait().close()
            opened[0] -= 1
