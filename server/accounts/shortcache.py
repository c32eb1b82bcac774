"""A small in-process cache whose entries live a few seconds: who a session or API
token belongs to is asked on every request, and a few seconds of staleness across
processes is the accepted price (changes made in this process drop entries at once)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

CACHE_SECONDS = 5.0


class ShortCache(Generic[K, V]):
    def __init__(self, seconds: float = CACHE_SECONDS, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries  # bounded: misses (unknown tokens) are cached too
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is None or now - hit[0] > self.seconds:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            hit = (now, await load(key))
            self._entries[key] = hit
        return hit[1]

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
