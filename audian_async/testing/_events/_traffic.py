"""Demo call traffic: ``python -m audian_async.testing --emit-calls RATE``.

Starts calls at ``rate`` a second; each call is a CHANNEL_CREATE, a CHANNEL_ANSWER about a
second later and a CHANNEL_DESTROY a few seconds after that, with made-up caller and callee
numbers, in the master account. `CallTraffic.run_until` does the work for any moment, so
tests drive it on virtual time; `CallTraffic.start` runs it on a daemon thread.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._hub import Events

__all__ = ["CallTraffic"]

#: Seconds from CHANNEL_CREATE to CHANNEL_ANSWER.
ANSWER_AFTER = 1.0
#: Shortest and longest seconds a demo call stays up after the answer.
TALK_SECONDS = (2.0, 8.0)


class CallTraffic:
    """A steady stream of simulated calls."""

    def __init__(self, events: Events, rate: float, *, seed: int | None = None) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of calls a second: {rate!r}")
        self.events = events
        self.rate = rate
        self.calls_started = 0
        self._rng = random.Random(seed)
        self._pending: list[tuple[float, int, str, str]] = []
        self._next_start: float | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_until(self, now: float) -> int:
        """Publish every event due by ``now`` (seconds on any clock); returns how many."""
        if self._next_start is None:
            self._next_start = now
        published = 0
        while self._next_start <= now:
            self._start_call(self._next_start)
            self._next_start += 1.0 / self.rate
            published += 1
        while self._pending and self._pending[0][0] <= now:
            _, _, event, call_id = heapq.heappop(self._pending)
            self.events.publish_call(event, call_id=call_id, **self._ids(call_id))
            published += 1
        return published

    def _ids(self, call_id: str) -> dict[str, str]:
        digits = int(call_id[:6], 16) % 10_000
        return {
            "caller_id_number": f"+1415555{digits:04d}",
            "caller_id_name": f"Caller {digits:04d}",
            "callee_id_number": "+14155550199",
            "callee_id_name": "Front desk",
        }

    def _start_call(self, at: float) -> None:
        call_id = f"{self._rng.getrandbits(128):032x}"
        self.events.publish_call("CHANNEL_CREATE", call_id=call_id, **self._ids(call_id))
        self.calls_started += 1
        answer = at + ANSWER_AFTER
        hangup = answer + self._rng.uniform(*TALK_SECONDS)
        for due, event in ((answer, "CHANNEL_ANSWER"), (hangup, "CHANNEL_DESTROY")):
            self._seq += 1
            heapq.heappush(self._pending, (due, self._seq, event, call_id))

    def start(self) -> None:
        """Run on a daemon thread, on the real monotonic clock, until `stop`."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(min(0.1, 1.0 / self.rate)):
                self.run_until(time.monotonic())

        self._thread = threading.Thread(target=loop, name="audian-simulator-calls", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread started by `start`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
