"""A gate shared by every request of one client, so a 429 slows all of them down together.

Kazoo's token bucket sends no ``Retry-After``: when one request is told to slow down, the
others would hit the same empty bucket. The gate pauses new sends until the pause ends; the
pause grows with consecutive 429s and resets on success.
"""

from __future__ import annotations

import random
import time

import anyio

__all__ = ["SharedThrottle"]


class SharedThrottle:
    """Pause-all gate driven by 429 answers."""

    __slots__ = ("_paused_until", "_rng", "_streak", "base", "maximum", "rate_limited_count")

    def __init__(self, base: float = 0.25, maximum: float = 5.0) -> None:
        self.base = base
        self.maximum = maximum
        self._paused_until = 0.0
        self._streak = 0
        self._rng = random.Random()
        self.rate_limited_count = 0

    @property
    def paused_until(self) -> float:
        """When (monotonic) the current pause ends; 0.0 when the gate was never closed."""
        return self._paused_until

    async def wait(self) -> None:
        """Sleep while the gate is closed (returns immediately on the fast path)."""
        until = self._paused_until
        if until:
            delay = until - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)

    def rate_limited(self, retry_after: float | None) -> float:
        """Close the gate after a 429; returns the pause (seconds) applied."""
        self.rate_limited_count += 1
        self._streak += 1
        if retry_after is not None:
            pause = retry_after
        else:
            ceiling = min(self.maximum, self.base * (2 ** (self._streak - 1)))
            pause = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        until = time.monotonic() + pause
        if until > self._paused_until:
            self._paused_until = until
        return pause

    def succeeded(self) -> None:
        """Record a success: the next 429 starts a fresh streak."""
        if self._streak:
            self._streak = 0
