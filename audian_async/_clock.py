"""Time as the request engine sees it: one object to read the clocks and to sleep.

Every wait of the SDK (backoff, rate limiting, credential refresh, deadlines) reads and
sleeps through a :class:`Clock`, so tests can run them on virtual time instead of the wall
clock (:class:`LoopClock` under trio's ``MockClock``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import anyio

__all__ = ["Clock", "LoopClock", "SystemClock", "run_until", "wait_event"]

T = TypeVar("T")


class Clock(Protocol):
    """What the engine needs of time."""

    def now(self) -> float:
        """Monotonic seconds (only differences are meaningful)."""
        ...

    def wall(self) -> float:
        """Unix time in seconds (to read a token's ``exp``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (cancellable)."""
        ...


class SystemClock:
    """The process clocks: ``time.monotonic``, ``time.time`` and ``anyio.sleep``."""

    __slots__ = ()

    now = staticmethod(time.monotonic)
    wall = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        import anyio

        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class LoopClock:
    """The running event loop's clock, with a wall clock that moves with it.

    Under trio's ``MockClock(autojump_threshold=0)`` time is virtual: a test can cross token
    lifetimes, backoffs and rate-limit windows of minutes in microseconds, deterministically.
    """

    __slots__ = ("_epoch",)

    def __init__(self, epoch: float | None = None) -> None:
        self._epoch = time.time() if epoch is None else epoch

    def now(self) -> float:
        """The event loop's current time."""
        import anyio

        return anyio.current_time()

    def wall(self) -> float:
        """``epoch`` plus the loop time elapsed since the loop started."""
        return self._epoch + self.now()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        import anyio

        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "LoopClock()"


SYSTEM_CLOCK = SystemClock()


async def run_until(
    clock: Clock, deadline: float | None, fn: Callable[..., Awaitable[T]], *args: Any
) -> tuple[bool, T | None]:
    """``(True, await fn(*args))``, or ``(False, None)`` once ``clock`` reaches ``deadline``
    (a ``clock.now()`` value; ``None``: no limit) first, ``fn`` then cancelled.

    The limit is measured on ``clock``, not on the event loop's clock: a clock of the SDK's own
    (``SystemClock``, ``LoopClock``) runs at the loop's pace and is waited on by a cancel scope;
    any other clock is waited on through its ``sleep``, in a task beside ``fn``.
    """
    if deadline is None:
        return True, await fn(*args)
    return await _run_for(clock, max(0.0, deadline - clock.now()), fn, *args)


async def _run_for(
    clock: Clock, seconds: float, fn: Callable[..., Awaitable[T]], *args: Any
) -> tuple[bool, T | None]:
    """`run_until` with the limit given as ``seconds`` from now on ``clock``."""
    import anyio

    if type(clock) in _LOOP_PACED:
        with anyio.move_on_after(seconds):
            return True, await fn(*args)
        return False, None
    done = False
    result: T | None = None
    error: Exception | None = None
    async with anyio.create_task_group() as group:

        async def ring() -> None:
            await clock.sleep(seconds)
            group.cancel_scope.cancel()

        group.start_soon(ring)
        try:
            result = await fn(*args)
            done = True
        except Exception as exc:  # raised as it is, not wrapped in the task group's group
            error = exc
        group.cancel_scope.cancel()
    if error is not None:
        raise error
    return done, result


# Clocks whose `now()` runs at the event loop's pace: a cancel scope measures their time.
_LOOP_PACED = (SystemClock, LoopClock)


async def wait_event(clock: Clock, event: anyio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` have passed on ``clock``; ``True`` if set.

    The timeout is slept by ``clock.sleep``: a clock of its own (virtual time in a test) decides
    when it ends. The two clocks that sleep on the event loop's timer wait in one cancel scope.
    """
    if event.is_set():
        return True
    if seconds <= 0:
        return False
    await _run_for(clock, seconds, event.wait)
    return event.is_set()
