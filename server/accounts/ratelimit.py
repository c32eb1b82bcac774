"""Login rate limiting: too many failures for one login or one address -> 429.

Kept in process memory: enough for one server process; several processes would
each keep their own window (noted for the hardening work).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        entries = self._failures[key]
        cutoff = self.clock() - self.window_s
        while entries and entries[0] < cutoff:
            entries.popleft()
        return entries

    def blocked(self, *keys: str) -> float:
        """Seconds to wait before trying again (0 when not blocked)."""
        wait = 0.0
        for key in keys:
            entries = self._recent(key)
            if len(entries) >= self.max_failures:
                wait = max(wait, entries[0] + self.window_s - self.clock())
        return max(wait, 0.0)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            self._recent(key).append(now)

    def succeeded(self, login_key: str) -> None:
        self._failures.pop(login_key, None)
