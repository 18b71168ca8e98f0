"""Kazoo-style token buckets keyed by (account, client ip)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ._config import SimulatorConfig
from ._sim_clock import Clock

__all__ = ["Buckets", "Consumption"]

#: What ``tokens.remaining`` reports while rate limiting is disabled.
UNLIMITED_REPORT = 100


@dataclass(frozen=True)
class Consumption:
    """Outcome of one attempt to take tokens from a bucket."""

    allowed: bool
    remaining: int
    retry_after: float


class Buckets:
    """One continuously refilling bucket per key; reads its limits from the live config."""

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._levels: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Refill every bucket (forget all of them)."""
        with self._lock:
            self._levels.clear()

    def consume(self, key: tuple[str, str], cost: int) -> Consumption:
        """Take ``cost`` tokens; an insufficient bucket is drained to zero and refused."""
        size = self._config.bucket_size
        if size is None:
            return Consumption(True, UNLIMITED_REPORT, 0.0)
        with self._lock:
            level = self._level(key, size)
            now = self._clock.monotonic()
            if level >= cost:
                level -= cost
                self._levels[key] = (level, now)
                return Consumption(True, math.floor(level), 0.0)
            self._levels[key] = (0.0, now)
            rate = self._config.bucket_refill_per_sec
            wait = math.inf if rate <= 0 else max(cost, 1) / rate
            return Consumption(False, 0, wait)

    def peek(self, key: tuple[str, str]) -> int:
        """Current whole-token level of a bucket without consuming."""
        size = self._config.bucket_size
        if size is None:
            return UNLIMITED_REPORT
        with self._lock:
            return math.floor(self._level(key, size))

    def _level(self, key: tuple[str, str], size: int) -> float:
        now = self._clock.monotonic()
        level, since = self._levels.get(key, (float(size), now))
        level = min(float(size), level + (now - since) * self._config.bucket_refill_per_sec)
        self._levels[key] = (level, now)
        return level
