"""A small in-process cache whose entries live a few seconds: who a session or API
token belongs to is asked on every request. Changes drop entries at once in this
process and, through cachesync.py, in every other one."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from server.accounts import cachesync

K = TypeVar("K")
V = TypeVar("V")

CACHE_SECONDS = 5.0


class ShortCache(Generic[K, V]):
    def __init__(self, seconds: float = CACHE_SECONDS, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries  # bounded: misses (unknown tokens) are cached too
        self._entries: dict[K, tuple[float, V]] = {}
        # Bumped on every drop: a load that was under way keeps its answer for its own
        # caller but does not store it, since it may have read the state before the change.
        self._generation = 0
        cachesync.on_change(self.clear)

    async def get(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        cachesync.watch.poll()
        if not cachesync.watch.trusted:
            return await load(key)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] <= self.seconds:
            return hit[1]
        generation = self._generation
        value = await load(key)
        if generation == self._generation:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
        self._generation += 1

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1
