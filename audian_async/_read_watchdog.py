"""Read timeouts for many requests in flight, enforced by one event-loop timer.

aiohttp's own read timeout (``sock_read``) schedules an event-loop timer when a request is
sent and reschedules it on every chunk received: two or three timers per request, each a
heap entry the loop later sifts out, which costs more CPU than the rest of a small request's
processing on the client side (``bench/RESULTS.md``). The aiohttp transport's ``send`` uses
this watchdog instead: each request registers a :class:`Watch`, and one timer per transport
checks all of them.

Semantics, as aiohttp's ``sock_read``: the limit is the longest silence once the request has
its connection (waiting for a pool slot and connecting have their own timeouts), through the
response head and body. Progress on the body is seen by the bytes its reader received. An
overdue request's task is cancelled, the way ``asyncio.timeout`` does it, and the transport
turns that cancellation into a read timeout; a cancellation from anyone else stays one.
Checks run at least every quarter of the shortest read timeout in flight, so a timeout fires
between ``read`` and ``1.25 * read`` after the last progress.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Protocol

__all__ = ["ReadWatchdog", "Watch"]

_current_task = asyncio.current_task

# Loop timers may run this early (the loop's clock resolution); a watch due within it is due.
_EARLY = 1e-3


class _Reader(Protocol):
    """What the watchdog reads of a response body: the bytes received so far."""

    total_bytes: int


class Watch:
    """One request's read timeout (created by :meth:`ReadWatchdog.watch`)."""

    __slots__ = ("cancelling", "expired", "read", "reader", "seen", "since", "task")

    def __init__(self, task: asyncio.Task[Any], read: float) -> None:
        self.task = task
        self.read = read
        self.cancelling = task.cancelling()  # cancellations requested before ours
        self.since: float | None = None  # the last progress; None until connected
        self.reader: _Reader | None = None
        self.seen = -1  # the reader's byte count at the last check
        self.expired = False

    def timed_out(self) -> bool:
        """Whether a cancellation the task received is this watch's own (consumes it).

        Call it on ``CancelledError`` (and on any failure after expiry): ``True`` means the
        watchdog cancelled the task and no one else did, so the caller raises a read timeout.
        """
        if not self.expired:
            return False
        self.expired = False
        return self.task.uncancel() <= self.cancelling


class ReadWatchdog:
    """The read timeouts of one transport's requests (see the module docstring).

    ``loop`` is the event loop the requests run on (only ``time()`` and ``call_at()`` are
    used).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._watches: dict[asyncio.Task[Any], Watch] = {}  # a task sends one request at a time
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def __len__(self) -> int:
        return len(self._watches)

    def watch(self, read: float, task: asyncio.Task[Any] | None = None) -> Watch:
        """Register a request of ``task`` (the running one by default); :meth:`arm` it once
        it has its connection, and :meth:`discard` it when done."""
        if task is None:
            task = _current_task(self._loop)  # given the loop: no getpid() syscall
            if task is None:  # pragma: no cover - aiohttp runs requests in tasks
                raise RuntimeError("a read watch needs a running task")
        watch = self._watches[task] = Watch(task, read)
        return watch

    def arm_current(self) -> None:
        """The running task's request (if watched) has its connection: see :meth:`arm`."""
        watch = self._watches.get(_current_task(self._loop))  # type: ignore[arg-type]
        if watch is not None:
            self.arm(watch)

    def arm(self, watch: Watch) -> None:
        """The request has its connection: silence counts from now."""
        now = self._loop.time()
        watch.since = now
        due = now + watch.read
        if due < self._timer_at:
            self._schedule(due)

    def discard(self, watch: Watch) -> None:
        """The request is done (its timer stays, for the other requests)."""
        if self._watches.get(watch.task) is watch:
            del self._watches[watch.task]

    def close(self) -> None:
        """Stop the timer (the transport is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = math.inf
        self._watches.clear()

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        now = self._loop.time()
        next_due = math.inf
        shortest = math.inf
        for watch in self._watches.values():
            since = watch.since
            if since is None or watch.expired:
                continue  # still connecting (bounded by its own timeouts), or already hit
            reader = watch.reader
            if reader is not None and reader.total_bytes != watch.seen:
                watch.seen = reader.total_bytes
                since = watch.since = now  # progress since the last check
            due = since + watch.read
            if due <= now + _EARLY:
                watch.expired = True
                watch.task.cancel("read timeout")
                continue
            next_due = min(next_due, due)
            shortest = min(shortest, watch.read)
        if next_due < math.inf:
            self._schedule(min(next_due, now + shortest / 4))
