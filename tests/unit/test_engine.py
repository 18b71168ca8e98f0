"""The request engine under concurrency, pushback and faults, on virtual time.

Each test reproduces one failure the engine had (issue 9) and runs on trio's MockClock, so
token lifetimes, deadlines and bucket refills are exact and no test depends on the machine's
speed.
"""

from __future__ import annotations

import email.utils
import math
from typing import Any

import anyio
import httpx
import pytest

from audian_async import (
    APITimeoutError,
    AsyncAudian,
    AuthenticationError,
    InternalServerError,
    RateLimitError,
)
from audian_async._clock import LoopClock
from tests.helpers import API_KEY, auth_body, envelope, make_jwt
from tests.virtual import EPOCH, FakeKazoo, run_virtual

BASE = "https://kazoo.test/v2"


def _client(clock: LoopClock, transport: httpx.AsyncBaseTransport, **kwargs: Any) -> AsyncAudian:
    return AsyncAudian(api_key=API_KEY, base_url=BASE, transport=transport, clock=clock, **kwargs)


# -- 1. token expiry under concurrency -------------------------------------------------------


@pytest.mark.parametrize(
    ("latency", "exchange_latency"),
    [
        (0.004, 0.003),
        # A loaded machine: a request takes longer than a fresh token has left, so the replay
        # with the new token can meet a 401 too (and must be replayed again, not raised).
        (0.6, 0.3),
    ],
)
def test_one_second_tokens_100_callers_600_calls_no_failure_one_exchange_per_lifetime(
    latency: float, exchange_latency: float
) -> None:
    async def main() -> tuple[int, int, int, float, float]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(
            clock, token_lifetime=1, latency=latency, exchange_latency=exchange_latency
        )
        failures = 0
        start = clock.wall()
        async with _client(clock, server.transport()) as audian:

            async def caller(n: int) -> None:
                nonlocal failures
                await anyio.sleep(n * 0.005)  # staggered: calls are always in flight
                for i in range(6):
                    try:
                        await audian.users.get(f"u{n}-{i}")
                    except Exception:
                        failures += 1
                    await anyio.sleep(0.5)

            async with anyio.create_task_group() as tg:
                for n in range(100):
                    tg.start_soon(caller, n)
        return failures, server.exchanges, server.requests, start, clock.wall()

    failures, exchanges, requests, start, end = run_virtual(main)
    crossed = int(end) - int(start)  # whole-second token lifetimes crossed by the run
    assert failures == 0
    assert crossed >= 3
    assert exchanges <= crossed + 2
    assert requests >= 600


# -- 2. an exchange abandoned by its caller --------------------------------------------------


def test_a_cancelled_caller_does_not_abandon_the_exchange_others_wait_on() -> None:
    exchanges = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal exchanges
        if request.url.path.endswith("/api_auth"):
            exchanges += 1
            await anyio.sleep(0.3)  # a slow exchange
            return httpx.Response(201, json=auth_body(make_jwt()))
        return httpx.Response(200, json=envelope({"id": "u1"}))

    async def main() -> list[bool]:
        clock = LoopClock(epoch=EPOCH)
        results: list[bool] = []
        async with _client(clock, httpx.MockTransport(handler)) as audian:
            for _ in range(10):  # web handlers with a 200 ms budget, one after another
                with anyio.move_on_after(0.2):
                    await audian.users.get("u1")
                    results.append(True)
                    continue
                results.append(False)
        return results

    results = run_virtual(main)
    assert exchanges == 1
    assert results[0] is False  # gave up at 200 ms; the exchange went on without it
    assert all(results[1:])


def test_waiters_of_a_failed_exchange_each_get_their_own_error_and_later_calls_retry() -> None:
    attempts = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        if request.url.path.endswith("/api_auth"):
            attempts += 1
            await anyio.sleep(0.05)
            if attempts == 1:
                return httpx.Response(
                    404, json={"status": "error", "error": "404", "message": "bad_identifier"}
                )
            return httpx.Response(201, json=auth_body(make_jwt()))
        return httpx.Response(200, json=envelope({"id": "u1"}))

    async def main() -> tuple[list[BaseException], str]:
        clock = LoopClock(epoch=EPOCH)
        errors: list[BaseException] = []
        async with _client(clock, httpx.MockTransport(handler)) as audian:

            async def one() -> None:
                try:
                    await audian.users.get("u1")
                except AuthenticationError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(one)
            # A later call starts its own exchange: the old failure is not handed to it.
            user = await audian.users.get("u1")
        return errors, user.id

    errors, user_id = run_virtual(main)
    assert len(errors) == 5
    assert len({id(e) for e in errors}) == 5  # five distinct exception objects
    assert all(e.status_code == 404 for e in errors)  # type: ignore[attr-defined]
    assert user_id == "u1" and attempts == 2


def test_waiting_for_credentials_counts_against_the_deadline() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api_auth"):
            await anyio.sleep(10)
            return httpx.Response(201, json=auth_body(make_jwt()))
        return httpx.Response(200, json=envelope({"id": "u1"}))

    async def main() -> float:
        clock = LoopClock(epoch=EPOCH)
        async with _client(clock, httpx.MockTransport(handler), deadline=2) as audian:
            started = clock.now()
            with pytest.raises(APITimeoutError, match="credentials"):
                await audian.users.get("u1")
            return clock.now() - started

    assert run_virtual(main) == pytest.approx(2.0, abs=0.01)


# -- 3. one Retry-After: 3600 must not wedge the client ---------------------------------------


def test_a_long_retry_after_raises_at_once_and_later_calls_fail_fast() -> None:
    sent = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        if request.url.path.endswith("/api_auth"):
            return httpx.Response(201, json=auth_body(make_jwt()))
        sent += 1
        return httpx.Response(429, headers={"Retry-After": "3600"})

    async def main() -> tuple[RateLimitError, RateLimitError, float]:
        clock = LoopClock(epoch=EPOCH)
        async with _client(clock, httpx.MockTransport(handler), deadline=2) as audian:
            started = clock.now()
            with pytest.raises(RateLimitError) as first:
                await audian.users.get("u1")
            with pytest.raises(RateLimitError) as second:
                await audian.with_options(deadline=5).users.get("u2")
            return first.value, second.value, clock.now() - started

    first, second, elapsed = run_virtual(main)
    assert first.retry_after == 3600
    assert second.retry_after is not None and 3500 < second.retry_after <= 3600
    assert elapsed < 1.0  # virtual seconds: nobody waited for the hour
    assert sent == 1  # the second call was refused without being sent


def test_a_short_retry_after_is_waited_for_within_the_deadline() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "1.5"})])

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api_auth"):
            return httpx.Response(201, json=auth_body(make_jwt()))
        return next(answers, httpx.Response(200, json=envelope({"id": "u1"})))

    async def main() -> float:
        clock = LoopClock(epoch=EPOCH)
        async with _client(clock, httpx.MockTransport(handler), deadline=5) as audian:
            started = clock.now()
            await audian.users.get("u1")
            return clock.now() - started

    assert run_virtual(main) == pytest.approx(1.5, abs=0.01)


@pytest.mark.parametrize("status", [429, 503])
def test_an_http_date_retry_after_is_read_on_the_clients_clock(status: int) -> None:
    # The server's clock is the client's (virtual time here): a Retry-After date 5 s ahead
    # of it is a 5 s wait, however far the machine's own clock is from it.
    answers: list[float] = []

    async def main() -> tuple[str, float]:
        clock = LoopClock(epoch=EPOCH)

        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/api_auth"):
                return httpx.Response(201, json=auth_body(make_jwt()))
            answers.append(clock.now())
            if len(answers) == 1:
                when = email.utils.formatdate(clock.wall() + 5, usegmt=True)
                return httpx.Response(status, headers={"Retry-After": when})
            return httpx.Response(200, json=envelope({"id": "u1"}))

        async with _client(clock, httpx.MockTransport(handler), deadline=30) as audian:
            user = await audian.users.get("u1")
        return user.id, answers[1] - answers[0]

    user_id, waited = run_virtual(main)
    assert user_id == "u1"
    # HTTP dates have whole seconds: the date names the second 5 s ahead, truncated.
    expected = math.floor(EPOCH + 5) - EPOCH
    assert waited == pytest.approx(expected, abs=0.01)


def test_an_http_date_retry_after_on_a_rate_limit_error_is_read_on_the_clients_clock() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api_auth"):
            return httpx.Response(201, json=auth_body(make_jwt()))
        when = email.utils.formatdate(EPOCH + 100, usegmt=True)
        return httpx.Response(429, headers={"Retry-After": when})

    async def main() -> RateLimitError:
        clock = LoopClock(epoch=EPOCH)
        async with _client(clock, httpx.MockTransport(handler), max_retries=0) as audian:
            with pytest.raises(RateLimitError) as info:
                await audian.users.get("u1")
        return info.value

    error = run_virtual(main)
    assert error.retry_after == pytest.approx(math.floor(EPOCH + 100) - EPOCH, abs=0.01)


# -- 4. pace to the bucket: near its ideal time; 503 is not a rate limit ----------------------


@pytest.mark.parametrize("report_tokens", [True, False])
def test_bulk_creates_finish_near_the_buckets_ideal_time(report_tokens: bool) -> None:
    n, size, refill = 1000, 200, 100

    async def main() -> tuple[float, int, FakeKazoo]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(
            clock, bucket=size, refill=refill, report_tokens=report_tokens, latency=0.003
        )
        failures = 0
        limit = anyio.Semaphore(64)
        async with _client(clock, server.transport()) as audian:
            await audian.authenticate()
            started = clock.now()

            async def create(i: int) -> None:
                nonlocal failures
                async with limit:
                    try:
                        await audian.users.create(
                            first_name="U", last_name=str(i), username=f"u{i}"
                        )
                    except Exception:
                        failures += 1

            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(create, i)
            return clock.now() - started, failures, server

    elapsed, failures, server = run_virtual(main)
    ideal = (n - size) / refill
    assert failures == 0 and len(server.users) == n
    assert elapsed <= 1.2 * ideal
    # A bucket drained right after a refill is probed again just before the next one, not
    # every few milliseconds in between.
    assert server.rejected_429 <= (60 if report_tokens else 330)


def test_503_faults_neither_pause_nor_limit_other_calls() -> None:
    async def main() -> tuple[int, int, Any]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(clock, fail_503=0.3, latency=0.002)
        ok = failed = 0
        async with _client(clock, server.transport(), max_retries=0) as audian:

            async def one(i: int) -> None:
                nonlocal ok, failed
                try:
                    await audian.users.get(f"u{i}")
                    ok += 1
                except InternalServerError:
                    failed += 1

            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(one, i)
            limiter = audian.rate_limiter
            return ok, failed, (limiter.rate_limited, limiter.empty, limiter.held_for())

    ok, failed, limiter_state = run_virtual(main)
    assert ok + failed == 200 and failed > 20
    assert limiter_state == (0, False, 0.0)
