"""Database engines: SQLite (embedded default) and PostgreSQL (multi-user)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.db.sqlite_pool import PooledSQLiteEngine, holding_writer
from server.settings import Settings

os.environ.setdefault("PICCOLO_CONF", "server.db.piccolo_conf")

SQLITE_BUSY_TIMEOUT_S = 30

_current: Engine | None = None


def make_engine(settings: Settings) -> Engine:
    if settings.engine == "postgresql":
        return PostgresEngine(config={"dsn": settings.database_url})
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # `timeout` is sqlite3's busy timeout: writers wait instead of failing at once.
    return PooledSQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_S)


def _prepare_sqlite(path: str) -> None:
    # WAL lets readers carry on while one writer commits; it is a property of the
    # file, so setting it once per start is enough.
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")


def configure(settings: Settings) -> Engine:
    """Point Piccolo and every table at the engine for these settings."""
    global _current
    from server.db import piccolo_app, piccolo_conf

    engine = make_engine(settings)
    if isinstance(engine, SQLiteEngine):
        _prepare_sqlite(engine.path)
    piccolo_conf.DB = engine
    for table in piccolo_app.APP_CONFIG.table_classes:
        table._meta.db = engine
    _current = engine
    return engine


def engine() -> Engine:
    if _current is None:
        raise RuntimeError("database not configured: call server.db.engine.configure() first")
    return _current


def engine_name() -> str:
    return "postgresql" if isinstance(engine(), PostgresEngine) else "sqlite"


# One SQLite writer at a time per process, first come first served. SQLite's own busy
# handler retries with growing sleeps, which under load starved unlucky writers for
# seconds while others went straight through; an asyncio.Lock queues them in order.
# The busy timeout still covers writers in other processes.
_writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def _queued(transaction: Any) -> AsyncIterator[Any]:
    if holding_writer.get():  # nested: this task already holds the writer's place
        async with transaction:
            yield transaction
        return
    lock = _writer_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        token = holding_writer.set(True)
        try:
            async with transaction:
                yield transaction
        finally:
            holding_writer.reset(token)


def write_transaction() -> Any:
    """A transaction for read-then-write work.

    On SQLite it is opened IMMEDIATE so the write lock is taken up front: two
    deferred transactions that both read and then write would deadlock into
    SQLITE_BUSY instead of queueing on the busy timeout. Writers of this process
    queue in arrival order before that (see _queued).
    """
    db = engine()
    if isinstance(db, SQLiteEngine):
        return _queued(db.transaction(transaction_type=TransactionType.immediate))
    return db.transaction()


async def start(settings: Settings) -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(max_size=20)


async def stop() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()
    elif isinstance(db, PooledSQLiteEngine):
        await db.close_pools()
