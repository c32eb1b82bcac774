"""Database engines: SQLite (embedded default) and PostgreSQL (multi-user)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from server.core.metrics import WRITERS_WAITING
from server.core.settings import Settings
from server.db.sqlite_pool import PooledSQLiteEngine, holding_writer

os.environ.setdefault("PICCOLO_CONF", "server.db.piccolo_conf")

SQLITE_BUSY_TIMEOUT_S = 30

_current: Engine | None = None
_settings: Settings | None = None


def make_engine(settings: Settings) -> Engine:
    if settings.engine == "postgresql":
        return PostgresEngine(config={"dsn": settings.database_url})
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # `timeout` is sqlite3's busy timeout: writers wait instead of failing at once.
    return PooledSQLiteEngine(
        path=str(path), synchronous=settings.sqlite_synchronous, timeout=SQLITE_BUSY_TIMEOUT_S
    )


def _prepare_sqlite(path: str) -> None:
    # WAL lets readers carry on while one writer commits; it is a property of the
    # file, so setting it once per start is enough. (synchronous is per connection:
    # PooledSQLiteEngine sets it on each one.)
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def configure(settings: Settings, tables: Iterable[type[Table]]) -> Engine:
    """Point Piccolo and every table at the engine for these settings."""
    global _current, _settings
    engine = make_engine(settings)
    if isinstance(engine, SQLiteEngine):
        _prepare_sqlite(engine.path)
    for table in tables:
        table._meta.db = engine
    _current, _settings = engine, settings
    return engine


def current_settings() -> Settings:
    """The Settings the engine was configured with (the change log derives its key and
    finds its checkpoint through them); the environment's when nothing configured it."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def engine() -> Engine:
    """The configured engine; Piccolo's own command line (not configured by us) gets the
    one the environment's Settings describe."""
    global _current
    if _current is None:
        _current = make_engine(Settings.from_env())
    return _current


def engine_name() -> str:
    return "postgresql" if isinstance(engine(), PostgresEngine) else "sqlite"


def row_lock(of: str | None = None) -> str:
    """SQL that makes a read inside write_transaction() hold its rows until commit:
    " FOR UPDATE" on PostgreSQL, whose READ COMMITTED lets two writers read the same
    version and then both write (a lost update); nothing on SQLite, whose write
    transactions take the database's write lock before their first read."""
    if not isinstance(engine(), PostgresEngine):
        return ""
    return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"


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
    WRITERS_WAITING.inc()
    try:
        await lock.acquire()
    finally:
        WRITERS_WAITING.dec()
    try:
        token = holding_writer.set(True)
        try:
            async with transaction:
                yield transaction
        finally:
            holding_writer.reset(token)
    finally:
        lock.release()


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


@asynccontextmanager
async def read_snapshot() -> AsyncIterator[None]:
    """Every read inside sees one state of the database, while writers carry on: a
    deferred transaction on SQLite (with WAL, its snapshot is fixed by the first read),
    REPEATABLE READ READ ONLY on PostgreSQL. Checks that compare one table with another
    (the change log with the records) need it, or a write between two reads looks like a
    discrepancy."""
    db = engine()
    async with db.transaction():
        if isinstance(db, PostgresEngine):  # must come before the first query
            await db.run_ddl("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


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
