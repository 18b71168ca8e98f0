"""A clock only the test moves: the SDK's time stands still until ``advance`` is called.

Unlike the event loop's clock, nothing else can move it, so a wait that reads this clock but
sleeps on the loop's (the defect of issue 24, item 8) shows up: it ends when the loop's time
has passed, not when this clock says so.
"""

from __future__ import annotations

import anyio
import anyio.lowlevel

from tests.virtual import EPOCH


class ManualClock:
    """``now()`` is what the test set; ``sleep`` returns once ``advance`` passed its end."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self._sleepers: list[tuple[float, anyio.Event]] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return EPOCH + self.t

    async def sleep(self, seconds: float) -> None:
        until = self.t + seconds
        if until <= self.t:
            await anyio.lowlevel.checkpoint()
            return
        entry = (until, anyio.Event())
        self._sleepers.append(entry)
        try:
            await entry[1].wait()
        finally:
            self._sleepers.remove(entry)

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting on this clock."""
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleep that has ended."""
        self.t += seconds
        for until, event in self._sleepers:
            if until <= self.t:
                event.set()
