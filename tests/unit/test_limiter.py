"""The rate limiter on a clock the test owns: probing that backs off, and waits that go
through the client's clock (issue 25 §1, issue 24 item 8)."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from audian_async._limiter import RateLimiter


class StepClock:
    """A clock that moves only when slept on (and records each sleep)."""

    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_800_000_000.0 + self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


def _refuse_probe(limiter: RateLimiter, clock: StepClock) -> float:
    """Send the due probe, have it refused; return the wait before the next one."""
    wait = limiter.ready_in()
    assert wait is not None
    clock.t += wait
    ticket = limiter.try_acquire()
    assert ticket is None  # the bucket is believed empty: only a probe may go
    from audian_async._limiter import Ticket

    probe = Ticket(clock.t, probe=True)
    limiter._probe_out = True  # what acquire() does when it hands out a probe
    limiter._in_flight += 1
    limiter.on_answer(probe, 429, None, None)
    next_wait = limiter.ready_in()
    assert next_wait is not None
    return next_wait


def test_probes_back_off_while_they_keep_failing_and_recover_after_a_refill() -> None:
    clock = StepClock()
    limiter = RateLimiter(clock)  # type: ignore[arg-type]
    first = limiter.try_acquire()
    assert first is not None
    limiter.on_answer(first, 429, None, None)  # an empty bucket, found by a refusal
    waits = [_refuse_probe(limiter, clock) for _ in range(12)]
    assert waits == sorted(waits)  # never faster while probes keep failing
    assert waits[0] == pytest.approx(limiter.probe_interval)
    assert waits[-1] > 5 * limiter.probe_interval  # well past one token's refill time
    assert limiter.probe_gap <= limiter.max_probe_gap
    # A probe that finds a refill of several tokens: the gap is forgotten.
    clock.t += limiter.ready_in() or 0.0
    from audian_async._limiter import Ticket

    limiter._probe_out = True
    limiter._in_flight += 1
    limiter.on_answer(Ticket(clock.t, probe=True), 201, 9, None)
    assert not limiter.empty and limiter.probe_gap == 0.0


def test_the_gap_is_capped() -> None:
    clock = StepClock()
    limiter = RateLimiter(clock, max_probe_gap=0.3)  # type: ignore[arg-type]
    first = limiter.try_acquire()
    assert first is not None
    limiter.on_answer(first, 429, None, None)
    waits = [_refuse_probe(limiter, clock) for _ in range(20)]
    assert max(waits) == pytest.approx(0.3)


async def test_waiting_for_a_probe_sleeps_on_the_clients_clock() -> None:
    """With requests in flight the limiter waited on the event loop's timer for a duration
    read from the client's clock: on a clock of its own it never reached the probe time."""
    clock = StepClock()
    limiter = RateLimiter(clock)  # type: ignore[arg-type]
    refused = limiter.try_acquire()
    other = limiter.try_acquire()  # still in flight while we wait
    assert refused is not None and other is not None
    limiter.on_answer(refused, 429, None, None)
    with anyio.fail_after(5):
        ticket = await limiter.acquire(deadline=None)
    assert ticket.probe
    assert clock.slept == [pytest.approx(limiter.probe_interval)]
