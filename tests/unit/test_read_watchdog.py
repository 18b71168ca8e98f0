"""The read-timeout watchdog of the aiohttp transport, on a controllable loop clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audian_async._read_watchdog import ReadWatchdog


class FakeTimer:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """``time()`` and ``call_at()``; ``advance(t)`` runs the timers due by then."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[FakeTimer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(when, callback)
        self.timers.append(timer)
        return timer

    def pending(self) -> list[FakeTimer]:
        return [t for t in self.timers if not t.cancelled]

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [t for t in self.pending() if t.when <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.when)
            self.now = max(self.now, timer.when)
            timer.cancelled = True  # ran
            timer.callback()
        self.now = end


class FakeTask:
    """Counts cancellation requests the way asyncio.Task does."""

    def __init__(self) -> None:
        self.requests = 0
        self.messages: list[Any] = []

    def cancel(self, msg: Any = None) -> bool:
        self.requests += 1
        self.messages.append(msg)
        return True

    def cancelling(self) -> int:
        return self.requests

    def uncancel(self) -> int:
        self.requests -= 1
        return self.requests


class Reader:
    def __init__(self) -> None:
        self.total_bytes = 0


def make() -> tuple[FakeLoop, ReadWatchdog]:
    loop = FakeLoop()
    return loop, ReadWatchdog(loop)  # type: ignore[arg-type]


def test_silence_past_the_read_timeout_cancels_the_task_once() -> None:
    loop, dog = make()
    task = FakeTask()
    watch = dog.watch(2.0, task)  # type: ignore[arg-type]
    dog.arm(watch)
    loop.advance(1.9)
    assert task.requests == 0
    loop.advance(0.2)
    assert task.requests == 1 and task.messages == ["read timeout"]
    loop.advance(10)
    assert task.requests == 1  # never twice
    assert watch.timed_out() is True
    assert task.requests == 0  # the watchdog's cancellation is taken back
    assert watch.timed_out() is False  # consumed


def test_progress_on_the_body_postpones_the_timeout() -> None:
    loop, dog = make()
    task = FakeTask()
    watch = dog.watch(2.0, task)  # type: ignore[arg-type]
    dog.arm(watch)
    reader = Reader()
    watch.reader = reader
    for _ in range(10):  # 10 bytes every second for 10 s: never 2 s of silence
        reader.total_bytes += 10
        loop.advance(1.0)
    assert task.requests == 0
    loop.advance(3.0)  # then silence: within 1.25 x the read timeout
    assert task.requests == 1


def test_a_watch_still_connecting_is_not_timed() -> None:
    loop, dog = make()
    connecting_task, armed_task = FakeTask(), FakeTask()
    dog.watch(1.0, connecting_task)  # type: ignore[arg-type]
    armed = dog.watch(1.0, armed_task)  # type: ignore[arg-type]
    dog.arm(armed)
    loop.advance(5.0)
    assert armed_task.requests == 1
    assert connecting_task.requests == 0  # pool and connect phases have their own timeouts


def test_someone_elses_cancellation_stays_a_cancellation() -> None:
    loop, dog = make()
    task = FakeTask()
    watch = dog.watch(1.0, task)  # type: ignore[arg-type]
    dog.arm(watch)
    task.cancel("the caller gave up")
    loop.advance(2.0)
    assert task.requests == 2
    assert watch.timed_out() is False  # the caller's cancellation is still pending
    assert task.requests == 1


def test_a_cancellation_requested_before_the_request_is_not_counted_as_ours() -> None:
    loop, dog = make()
    task = FakeTask()
    task.cancel("earlier")
    watch = dog.watch(1.0, task)  # type: ignore[arg-type]
    dog.arm(watch)
    loop.advance(2.0)
    assert watch.timed_out() is True and task.requests == 1


def test_one_timer_serves_many_requests_and_stops_when_none_is_left() -> None:
    loop, dog = make()
    watches = []
    for _ in range(200):
        watch = dog.watch(30.0, FakeTask())  # type: ignore[arg-type]
        dog.arm(watch)
        watches.append(watch)
        loop.now += 0.001
    assert len(loop.timers) == 1  # not one per request
    for watch in watches:
        dog.discard(watch)
    assert len(dog) == 0
    loop.advance(60.0)
    assert loop.pending() == []  # nothing in flight: no timer left running


def test_a_shorter_read_timeout_moves_the_timer_earlier() -> None:
    loop, dog = make()
    slow_task, quick_task = FakeTask(), FakeTask()
    dog.arm(dog.watch(30.0, slow_task))  # type: ignore[arg-type]
    dog.arm(dog.watch(0.5, quick_task))  # type: ignore[arg-type]
    loop.advance(0.6)
    assert quick_task.requests == 1 and slow_task.requests == 0


def test_close_cancels_the_timer() -> None:
    loop, dog = make()
    task = FakeTask()
    dog.arm(dog.watch(1.0, task))  # type: ignore[arg-type]
    dog.close()
    loop.advance(5.0)
    assert task.requests == 0 and loop.pending() == []
