"""The event buffer's bounds and accounting, under any interleaving (hypothesis)."""

from __future__ import annotations

import itertools
from typing import Any

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from audian_async.events import Event, Gap
from audian_async.events._buffer import EventBuffer
from audian_async.events._stream import EventStreamStats


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        self.t += 1.0
        return self.t

    def wall(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - unused
        raise AssertionError


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(1, 30)),
        st.tuples(st.just("pop"), st.integers(1, 30)),
        st.tuples(st.just("hold"), st.just(0)),
        st.tuples(st.just("release"), st.booleans()),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 12), ops=OPS)
def test_bounded_ordered_and_every_event_accounted_for(capacity: int, ops: list[Any]) -> None:
    async def main() -> None:
        stats = EventStreamStats()
        buffer = EventBuffer(capacity, _Clock(), stats)
        sent = 0
        popped: list[Event | Gap] = []
        gaps_released = 0
        for op, arg in ops:
            if op == "put":
                for _ in range(arg):
                    buffer.put(Event(name=str(sent), binding="b", data={}))
                    sent += 1
            elif op == "pop":
                for _ in range(arg):
                    item = buffer.pop()
                    if item is not None:
                        popped.append(item)
            elif op == "hold":
                buffer.hold()
            else:
                gap = Gap(reconnected=True, dropped=0, started_at=0.0, ended_at=0.0)
                buffer.release(gap if arg else None)
                gaps_released += bool(arg)
            items = list(buffer._items)
            held = buffer._held or []
            # memory bounded: at most `capacity` events buffered and `capacity` held back,
            # and never two markers side by side
            assert sum(not isinstance(i, Gap) for i in items) == len(buffer) <= capacity
            assert len(held) <= capacity
            assert not any(
                isinstance(a, Gap) and isinstance(b, Gap) for a, b in itertools.pairwise(items)
            )
        buffer.release(None)
        while (item := buffer.pop()) is not None:
            popped.append(item)
        events = [int(i.name) for i in popped if isinstance(i, Event)]
        assert events == sorted(events)  # arrival order kept
        assert stats.received == sent == len(events) + stats.dropped
        # every drop is counted and reported by a marker where it happened
        reported = sum(i.dropped for i in popped if isinstance(i, Gap))
        assert reported == stats.dropped

    anyio.run(main)
