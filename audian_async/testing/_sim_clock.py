"""A clock that tests can move forward (token expiry, bucket refill, timestamps)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

__all__ = ["GREGORIAN_OFFSET", "Clock", "iso_from_gregorian"]

#: Seconds between 0000-01-01 (Kazoo's Gregorian epoch) and 1970-01-01.
GREGORIAN_OFFSET = 62_167_219_200


class Clock:
    """Wall and monotonic time shifted by an adjustable offset."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        #: Every fault delay slept, in order (seconds).
        self.sleeps: list[float] = []
        #: Set when a fault delay starts: the request was acted on (for ``after`` delays).
        self.sleeping = threading.Event()
        #: Fault delays move the clock forward instead of taking real time.
        self.virtual_sleep = False
        self._frozen: tuple[float, float] | None = None

    @property
    def offset(self) -> float:
        """Seconds the clock has been moved forward."""
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move the simulated time forward by ``seconds``."""
        with self._lock:
            self._offset += seconds

    async def sleep(self, seconds: float) -> None:
        """A fault's delay: real time, or the clock moved forward when ``virtual_sleep``."""
        import anyio
        import anyio.lowlevel

        self.sleeps.append(seconds)
        self.sleeping.set()
        if self.virtual_sleep:
            self.advance(seconds)
            await anyio.lowlevel.checkpoint()
            return
        await anyio.sleep(seconds)

    def freeze(self) -> None:
        """Stop following real time: from now on only :meth:`advance` moves the clock.

        Tests of time-driven rules (the event socket's message bucket, its idle and send
        timeouts) freeze the clock so that no real delay can refill or expire anything.
        """
        with self._lock:
            if self._frozen is None:
                self._frozen = (time.time(), time.monotonic())

    def unfreeze(self) -> None:
        """Follow real time again (keeping the offset)."""
        with self._lock:
            self._frozen = None

    def reset(self) -> None:
        """Undo every :meth:`advance`."""
        with self._lock:
            self._offset = 0.0

    def time(self) -> float:
        """Unix time in seconds."""
        frozen = self._frozen
        return (frozen[0] if frozen else time.time()) + self._offset

    def monotonic(self) -> float:
        """Monotonic seconds (for the token bucket)."""
        frozen = self._frozen
        return (frozen[1] if frozen else time.monotonic()) + self._offset

    def unix(self) -> int:
        """Whole unix seconds."""
        return int(self.time())

    def gregorian(self) -> int:
        """Whole Gregorian seconds (unix + 62167219200), Kazoo's timestamp unit."""
        return self.unix() + GREGORIAN_OFFSET

    def iso(self, unix: float | None = None) -> str:
        """ISO-8601 UTC with second precision, e.g. ``2026-11-25T10:00:00Z``."""
        moment = datetime.fromtimestamp(self.time() if unix is None else unix, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_from_gregorian(seconds: int) -> str:
    """ISO-8601 UTC text of a Gregorian-seconds timestamp."""
    moment = datetime.fromtimestamp(seconds - GREGORIAN_OFFSET, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
