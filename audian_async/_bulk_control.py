"""The bulk runner's shared concurrency controller and its error classification.

:class:`AdaptiveLimiter` is a semaphore whose size moves with the server's answers (AIMD),
plus a pause-all gate:

* every attempt takes a slot (``acquire`` / ``release``); at most ``cap`` are in flight;
* a congestion answer (429, 503) halves the allowed concurrency (floor 1) and closes the gate
  for a backoff that grows with consecutive congestion events (jittered; an advised
  ``Retry-After`` is honoured as is);
* a transient failure (connection error, 502, 504) closes the gate the same way, without the
  cut;
* a success clears the streak and raises the allowed concurrency by ``1 / limit`` (about one
  slot per full window of successes, TCP congestion-avoidance style), up to the maximum.

Answers to attempts that were already in flight when an event was handled are echoes of that
event: they do not cut again or grow the backoff, so a burst of 64 simultaneous 429s counts as
one event, not 64.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections import deque

import anyio

from ._errors import (
    APIConnectionError,
    APIOutcomeUnknownError,
    APIStatusError,
    InternalServerError,
    RateLimitError,
)

__all__ = ["AdaptiveLimiter", "ErrorKind", "classify", "retry_after_of"]


class ErrorKind(enum.Enum):
    """How the bulk runner treats an exception raised by one attempt."""

    FATAL = "fatal"  # report a Failure at once
    UNKNOWN = "unknown"  # a create may have been applied: reconcile, never blind-retry
    CONGESTION = "congestion"  # 429 / 503: pause everyone, cut concurrency, retry
    TRANSIENT = "transient"  # connection error: pause everyone, retry
    GATEWAY = "gateway"  # 502 / 504: pause everyone, retry (reconcile first when possible)


def classify(exc: BaseException) -> ErrorKind:
    """Classify an attempt's exception."""
    if isinstance(exc, APIOutcomeUnknownError):
        return ErrorKind.UNKNOWN
    if isinstance(exc, RateLimitError):
        return ErrorKind.CONGESTION
    if isinstance(exc, InternalServerError):
        if exc.status_code == 503:
            return ErrorKind.CONGESTION
        if exc.status_code in (502, 504):
            return ErrorKind.GATEWAY
        return ErrorKind.FATAL
    if isinstance(exc, APIConnectionError):
        return ErrorKind.TRANSIENT
    return ErrorKind.FATAL


def retry_after_of(exc: BaseException) -> float | None:
    """The server's advised wait carried by ``exc``, if any (seconds, finite, >= 0)."""
    value = getattr(exc, "retry_after", None)
    if value is None and isinstance(exc, APIStatusError):
        raw = exc.headers.get("retry-after") if exc.headers else None
        if raw is not None:
            try:
                value = float(raw)
            except ValueError:
                value = None
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


class AdaptiveLimiter:
    """AIMD concurrency limit plus a shared pause gate (see the module docstring)."""

    __slots__ = (
        "_gate_until",
        "_last_event",
        "_limit",
        "_rng",
        "_waiters",
        "backoff_base",
        "backoff_max",
        "in_flight",
        "maximum",
        "min_cap",
        "streak",
        "throttled",
    )

    def __init__(
        self, maximum: int, *, backoff_base: float = 0.5, backoff_max: float = 30.0
    ) -> None:
        if maximum < 1:
            raise ValueError("maximum must be >= 1")
        self.maximum = maximum
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._limit = float(maximum)
        self._gate_until = 0.0
        self._last_event = -math.inf
        self._waiters: deque[anyio.Event] = deque()
        self._rng = random.Random()
        self.in_flight = 0
        self.streak = 0
        self.throttled = 0
        self.min_cap = maximum

    @property
    def cap(self) -> int:
        """How many attempts may be in flight now."""
        return max(1, int(self._limit))

    @property
    def gated(self) -> bool:
        """Whether the pause gate is closed right now."""
        return self._gate_until > time.monotonic()

    def backoff(self, streak: int) -> float:
        """Jittered exponential backoff for the ``streak``-th consecutive event (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** max(0, streak - 1)))
        return ceiling / 2 + self._rng.uniform(0.0, ceiling / 2)

    async def acquire(self) -> float:
        """Wait for the gate and a free slot; return the attempt's start (``time.monotonic``).

        Returns without yielding on the fast path (gate open, slot free, nobody queued).
        """
        while True:
            now = time.monotonic()
            if self._gate_until > now:
                await anyio.sleep(self._gate_until - now)
                continue
            if self.in_flight < self.cap and not self._waiters:
                self.in_flight += 1
                return now
            event = anyio.Event()
            self._waiters.append(event)
            try:
                await event.wait()
            except BaseException:
                if event.is_set():  # a slot was handed to us: pass it on
                    self.in_flight -= 1
                    self._wake()
                else:
                    self._waiters.remove(event)
                raise
            # _wake() reserved a slot for us; give it back if a pause began meanwhile.
            now = time.monotonic()
            if self._gate_until > now:
                self.in_flight -= 1
                self._wake()
                continue
            return now

    def release(self) -> None:
        """Give back a slot taken by :meth:`acquire`."""
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.cap:
            self.in_flight += 1
            self._waiters.popleft().set()

    def on_success(self, started: float) -> None:
        """An attempt started at ``started`` succeeded: clear the streak, grow the limit."""
        if started < self._last_event:
            return  # it was in flight during the last event: no signal either way
        self.streak = 0
        if self._limit < self.maximum:
            before = self.cap
            self._limit = min(float(self.maximum), self._limit + 1.0 / self._limit)
            if self.cap > before:
                self._wake()

    def on_retryable(self, started: float, *, cut: bool, retry_after: float | None) -> float:
        """An attempt started at ``started`` failed transiently: pause everyone (and cut).

        Returns the pause applied (0 when the answer only echoed an event already handled).
        """
        now = time.monotonic()
        if cut:
            self.throttled += 1
        if started < self._last_event:
            # An echo of an event already handled; only a longer advised wait extends the gate.
            if retry_after is not None and now + retry_after > self._gate_until:
                self._gate_until = now + retry_after
                return retry_after
            return 0.0
        self.streak += 1
        self._last_event = now
        if cut:
            self._limit = max(1.0, self._limit / 2.0)
            self.min_cap = min(self.min_cap, self.cap)
        pause = retry_after if retry_after is not None else self.backoff(self.streak)
        if now + pause > self._gate_until:
            self._gate_until = now + pause
        return pause
