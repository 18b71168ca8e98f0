"""The rate limiter on a clock the test owns: probing that backs off, and waits that go
through the client's clock (issue 25 §1, issue 24 item 8)."""

from __future__ import annotations

from typing import Any

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


# -- per-account limiters are not kept forever (issue 24 item 9) ------------------------------


def _kazoo_client(status_for: dict[str, int] | None = None) -> Any:
    import httpx

    from audian_async import AsyncAudian
    from tests.helpers import API_KEY, auth_body

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api_auth"):
            return httpx.Response(201, json=auth_body("tok"))
        account = request.url.path.split("/accounts/")[1].split("/")[0]
        status = (status_for or {}).get(account, 200)
        if status == 429:
            return httpx.Response(429, json={"status": "error", "error": "429"})
        body = {"data": {"id": "u1"}, "status": "success"}
        body["tokens"] = {"consumed": 1, "remaining": 42}  # type: ignore[assignment]
        return httpx.Response(200, json=body)

    return AsyncAudian(
        api_key=API_KEY,
        base_url="https://kazoo.test/v2",
        transport=httpx.MockTransport(handler),
        max_retries=0,
    )


async def test_limiters_of_idle_accounts_are_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every account used kept its limiter forever: 200,000 accounts through for_account kept
    200,000 of them (+150 MB). Idle ones are now let go, so the table stays bounded."""
    from audian_async import _engine

    monkeypatch.setattr(_engine, "SWEEP_BUCKETS", 64)
    async with _kazoo_client() as audian:
        engine = audian._core.engine
        engine._sweep_at = 64
        sizes = []
        for i in range(2000):
            await audian.for_account(f"{i:032x}").users.get("u1")
            sizes.append(len(engine._buckets))
        assert max(sizes) <= 4 * 64
        # A let-go account starts again from an open limiter, as a new one would.
        again = audian.for_account(f"{0:032x}").rate_limiter
        assert again.level is None and not again.empty


async def test_a_held_limiter_is_taken_back_with_its_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """A running bulk job holds its buckets' limiters: letting one go must not split an account
    over two limiters (the job reading one while requests go through another)."""
    from audian_async import _engine

    monkeypatch.setattr(_engine, "SWEEP_BUCKETS", 16)
    async with _kazoo_client() as audian:
        engine = audian._core.engine
        engine._sweep_at = 16
        held = audian.for_account("f" * 32).rate_limiter
        await audian.for_account("f" * 32).users.get("u1")
        assert held.level == 42
        for i in range(500):
            await audian.for_account(f"{i:032x}").users.get("u1")
        assert "f" * 32 not in engine._buckets  # let go while idle ...
        assert audian.for_account("f" * 32).rate_limiter is held  # ... and taken back
        assert held.level == 42


async def test_a_limiter_that_believes_its_bucket_empty_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from audian_async import RateLimitError, _engine

    monkeypatch.setattr(_engine, "SWEEP_BUCKETS", 16)
    empty = "e" * 32
    async with _kazoo_client({empty: 429}) as audian:
        engine = audian._core.engine
        engine._sweep_at = 16
        with pytest.raises(RateLimitError):
            await audian.for_account(empty).users.get("u1")
        for i in range(500):
            await audian.for_account(f"{i:032x}").users.get("u1")
        assert engine._buckets[empty].empty
