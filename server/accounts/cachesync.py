"""Keeping every server process's identity and token caches in step.

Who a session or token belongs to is cached per process for a few seconds
(shortcache.py). A change that takes rights away (a revoked token, a deactivated user,
new roles) must hold at once in every process, including those on other hosts:

- PostgreSQL: each server process LISTENs on one channel; `announce()` NOTIFYs it. While
  the listening connection is down the caches are bypassed, so nothing stale is served
  while we would not hear of a change.
- SQLite (all processes on one host, beside one file): `announce()` replaces a small
  file next to the database; each cache lookup compares the file's identity (one stat).

`announce()` is called after the change is committed, so a process that hears of it
reads the new state; the process that made the change has already dropped its entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.core.settings import Settings
from server.db import engine as db

CHANNEL = "auditrail_identity"
RECONNECT_S = 1.0
log = logging.getLogger(__name__)

_clearers: list[Callable[[], None]] = []


def on_change(clear: Callable[[], None]) -> None:
    """Register a cache's clear() to run when another process announces a change."""
    _clearers.append(clear)


def _clear_all() -> None:
    for clear in _clearers:
        clear()


def _resolver(done: asyncio.Future[None]) -> Callable[[Any], None]:
    def resolve(_conn: Any) -> None:
        if not done.done():
            done.set_result(None)
    return resolve


class _Watch:
    """This process's view of changes made elsewhere."""

    def __init__(self) -> None:
        self.trusted = True  # whether a change elsewhere would reach us now
        self.epoch_file: Path | None = None
        self._seen: tuple[int, int, int] | None = None
        self._listener: Any = None
        self._task: asyncio.Task[None] | None = None
        self._url = ""

    # --- SQLite ---------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int, int] | None:
        assert self.epoch_file is not None
        try:
            st = os.stat(self.epoch_file)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def poll(self) -> None:
        """Called before every cache lookup: clears the caches if another process has
        announced a change since the last look."""
        if self.epoch_file is None:
            return
        stamp = self._stamp()
        if stamp != self._seen:
            self._seen = stamp
            _clear_all()

    # --- PostgreSQL -----------------------------------------------------------------

    async def _listen(self) -> None:
        import asyncpg

        while True:
            try:
                conn = await asyncpg.connect(self._url)
                await conn.add_listener(CHANNEL, lambda *_args: _clear_all())
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(_resolver(done))
                self._listener = conn
                _clear_all()  # whatever changed while we were not listening
                self.trusted = True
                await done
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("identity cache: not listening for changes (%s)", exc)
            self.trusted = False
            _clear_all()
            self._listener = None
            await asyncio.sleep(RECONNECT_S)

    async def start(self, settings: Settings) -> None:
        if settings.engine == "postgresql":
            self._url = settings.database_url
            self.trusted = False
            self._task = asyncio.get_running_loop().create_task(self._listen())
            for _ in range(50):  # a moment to connect before the first request
                if self.trusted:
                    break
                await asyncio.sleep(0.02)
        else:
            self.epoch_file = epoch_file(settings)
            self._seen = self._stamp()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        self.epoch_file = None
        self.trusted = True


watch = _Watch()


def epoch_file(settings: Settings) -> Path:
    path = settings.sqlite_path
    return path.with_name(path.name + "-identity-epoch")


async def announce() -> None:
    """Tell every other server process that identities or tokens changed."""
    settings = db.current_settings()
    if settings.engine == "postgresql":
        await db.engine().run_ddl(f"NOTIFY {CHANNEL}")
        return
    target = epoch_file(settings)
    fresh = target.with_name(f"{target.name}.{secrets.token_hex(4)}")
    fresh.write_text(secrets.token_hex(8))
    os.replace(fresh, target)  # a new inode: seen even within one mtime tick
