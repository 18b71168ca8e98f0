"""Kazoo-style token buckets keyed by (account, client ip).

By default a bucket behaves as Kazoo's ``kz_token_bucket`` does: it starts full, refills on its
own timer whatever requests arrive (the whole refill as one block each second,
``fill_as_block``), and refuses an ordinary request that finds too few tokens without touching
the level (``consume``). The login endpoints (``api_auth``, ``user_auth``) take
``consume_until``: a refused login empties the bucket.

Other models are options of :class:`~audian_async.testing.SimulatorConfig`:
``bucket_refill="token"`` (one token every ``1 / rate`` seconds, Kazoo with ``fill_as_block``
off), ``bucket_refill="continuous"`` (a fractional refill at every read, as many gateways do),
and ``bucket_empty_on_refusal=True`` (every refused request empties the bucket).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ._config import SimulatorConfig
from ._sim_clock import Clock

__all__ = ["REFILL_MODELS", "Buckets", "Consumption"]

#: What ``tokens.remaining`` reports while rate limiting is disabled.
UNLIMITED_REPORT = 100

#: The refill models a bucket can follow (``SimulatorConfig.bucket_refill``).
REFILL_MODELS = ("block", "token", "continuous")


@dataclass(frozen=True)
class Consumption:
    """Outcome of one attempt to take tokens from a bucket."""

    allowed: bool
    remaining: int
    retry_after: float


class _Bucket:
    __slots__ = ("level", "origin", "since", "ticks")

    def __init__(self, level: float, now: float) -> None:
        self.level = level
        self.origin = now  # the bucket's own refill timer starts with it
        self.ticks = 0  # timer ticks already added to the level
        self.since = now  # continuous model: when the level was last brought up to date


class Buckets:
    """One bucket per key; reads its limits and refill model from the live config."""

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Refill every bucket (forget all of them)."""
        with self._lock:
            self._buckets.clear()

    def consume(self, key: tuple[str, str], cost: int, *, until: bool = False) -> Consumption:
        """Take ``cost`` tokens. A refused request leaves the level as it was, unless ``until``
        (Kazoo's ``consume_until``, used for logins) or ``bucket_empty_on_refusal`` is set:
        then the bucket is emptied."""
        config = self._config
        size = config.bucket_size
        if size is None:
            return Consumption(True, UNLIMITED_REPORT, 0.0)
        with self._lock:
            now = self._clock.monotonic()
            bucket = self._current(key, size, now)
            if bucket.level >= cost:
                bucket.level -= cost
                return Consumption(True, math.floor(bucket.level), 0.0)
            if until or config.bucket_empty_on_refusal:
                bucket.level = 0.0
            return Consumption(False, math.floor(bucket.level), self._wait(bucket, cost, now))

    def peek(self, key: tuple[str, str]) -> int:
        """Current whole-token level of a bucket without consuming."""
        size = self._config.bucket_size
        if size is None:
            return UNLIMITED_REPORT
        with self._lock:
            return math.floor(self._current(key, size, self._clock.monotonic()).level)

    def _current(self, key: tuple[str, str], size: int, now: float) -> _Bucket:
        """The bucket of ``key`` with its refills up to ``now`` applied."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(size), now)
            return bucket
        rate = self._config.bucket_refill_per_sec
        if rate <= 0:
            return bucket
        model = self._config.bucket_refill
        if model == "continuous":
            bucket.level = min(float(size), bucket.level + (now - bucket.since) * rate)
            bucket.since = now
            return bucket
        interval, amount = self._tick(rate)
        ticks = math.floor((now - bucket.origin) / interval)
        if ticks > bucket.ticks:
            bucket.level = min(float(size), bucket.level + (ticks - bucket.ticks) * amount)
            bucket.ticks = ticks
        return bucket

    def _tick(self, rate: float) -> tuple[float, float]:
        """(seconds between timer ticks, tokens each tick adds) for the timer models."""
        if self._config.bucket_refill == "token":
            return 1.0 / rate, 1.0
        return 1.0, rate  # "block": the second's whole refill at once

    def _wait(self, bucket: _Bucket, cost: int, now: float) -> float:
        """Seconds until the bucket holds ``cost`` tokens (for ``Retry-After``)."""
        rate = self._config.bucket_refill_per_sec
        if rate <= 0:
            return math.inf
        needed = max(cost, 1) - bucket.level
        if self._config.bucket_refill == "continuous":
            return needed / rate
        interval, amount = self._tick(rate)
        ticks = math.ceil(needed / amount)
        return max(0.0, bucket.origin + (bucket.ticks + ticks) * interval - now)
