"""The bounded buffer between the socket's reader and the application.

Overflow policy: **drop the oldest event**. The reader never waits for the application (the
server drops events for, and then kills, a socket that is not read promptly), so when the
application falls behind by ``capacity`` events the oldest buffered one is discarded, counted
in ``stats.dropped``, and a ``Gap`` marker takes its place at the
head of the buffer, so the application learns of the loss where it happened. Markers next to
each other merge, so the buffer never holds more than ``capacity`` events and ``capacity + 1``
markers.

Hand-off: the reader wakes the application only when it is waiting on an empty buffer (one
wake-up per batch of events, not one per event), and the application takes buffered items
without awaiting anything.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ._models import Event, Gap

if TYPE_CHECKING:
    import anyio

    from .._clock import Clock
    from ._stream import EventStreamStats

__all__ = ["EventBuffer"]


class EventBuffer:
    """Events and gap markers in arrival order, at most ``capacity`` events."""

    def __init__(self, capacity: int, clock: Clock, stats: EventStreamStats) -> None:

        self.capacity = capacity
        self._clock = clock
        self._stats = stats
        self._items: deque[Event | Gap] = deque()
        self._events = 0
        self._held: list[Event] | None = None
        self._held_dropped = 0
        self._waiter: anyio.Event | None = None

    def __len__(self) -> int:
        return self._events

    def put(self, event: Event) -> None:
        """Add an event (held back while a new socket resubscribes: see ``hold``)."""
        self._stats.received += 1
        if self._held is None and self._events < self.capacity:  # the common case, inline
            self._items.append(event)
            self._events += 1
            if self._waiter is not None:
                self._wake()
            return
        if self._held is not None:
            self._held.append(event)
            if len(self._held) > self.capacity:
                del self._held[0]
                self._stats.dropped += 1
                self._held_dropped += 1
            return
        self._append(event)

    def _append(self, event: Event) -> None:
        if self._events >= self.capacity:
            self._drop_oldest()
        self._items.append(event)
        self._events += 1
        if self._waiter is not None:
            self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()

    def _drop_oldest(self) -> None:
        now = self._clock.now()
        marker = Gap(reconnected=False, dropped=1, started_at=now, ended_at=now)
        while self._items:
            item = self._items.popleft()
            if isinstance(item, Gap):
                marker = item.merge(marker)
                continue
            self._events -= 1
            self._stats.dropped += 1
            break
        head = self._items[0] if self._items else None
        if isinstance(head, Gap):
            self._items.popleft()
            marker = marker.merge(head)
        self._items.appendleft(marker)

    def hold(self) -> None:
        """Hold events back (a new socket is resubscribing: they come after its gap)."""
        if self._held is None:
            self._held = []

    def release(self, gap: Gap | None) -> None:
        """Add ``gap`` (if any, merged with the events dropped while held back), then the
        events held back since ``hold``."""
        held, self._held = self._held or [], None
        dropped, self._held_dropped = self._held_dropped, 0
        if dropped:
            now = self._clock.now()
            overflow = Gap(reconnected=False, dropped=dropped, started_at=now, ended_at=now)
            gap = overflow if gap is None else gap.merge(overflow)
        if gap is not None:
            tail = self._items[-1] if self._items else None
            if isinstance(tail, Gap):
                self._items.pop()
                gap = tail.merge(gap)
            self._items.append(gap)
            self._wake()
        for event in held:
            self._append(event)

    def pop(self) -> Event | Gap | None:
        """The oldest item (an event is counted as delivered), or ``None`` when empty."""
        if not self._items:
            return None
        item = self._items.popleft()
        if type(item) is not Gap:
            self._events -= 1
            self._stats.delivered += 1
        return item

    def wake(self) -> None:
        """Wake a waiting reader (the stream ended or failed)."""
        self._wake()

    async def wait(self) -> None:
        """Wait until something was added (or ``wake``); at once if something is buffered."""
        if self._items:
            return
        waiter = self._waiter
        if waiter is None:
            import anyio

            waiter = self._waiter = anyio.Event()
        await waiter.wait()
