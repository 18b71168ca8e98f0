"""Retries: what is retried, Retry-After, creates after an unknown outcome, the deadline."""

from __future__ import annotations

import email.utils
import math
import time

import httpx
import pytest
import respx

from audian_async import (
    APIConnectionError,
    APIOutcomeUnknownError,
    APIOutcomeUnknownTimeoutError,
    APITimeoutError,
    AsyncAudian,
    InternalServerError,
    RateLimitError,
)
from audian_async._clock import SystemClock
from audian_async._policy import RetryPolicy, parse_retry_after
from tests.helpers import ACCOUNT, API_KEY, envelope, record_sleeps

USERS = f"/accounts/{ACCOUNT}/users"
USER = USERS + "/u1"
CREATED = envelope({"id": "u9", "first_name": "J", "last_name": "S"})


async def test_get_is_retried_on_503_then_succeeds(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(USER).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(502),
            httpx.Response(200, json=envelope({"id": "u1"})),
        ]
    )
    user = await audian.users.get("u1")
    assert user.id == "u1"
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)


async def test_retry_after_seconds_is_honoured(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(USER).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=envelope({"id": "u1"})),
        ]
    )
    await audian.users.get("u1")
    assert sleeps and sleeps[0] == pytest.approx(7.0, abs=0.01)


async def test_retry_after_http_date_is_honoured(
    audian: AsyncAudian, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps = record_sleeps(monkeypatch, frozen=True)  # the date is read at a known moment
    wall = SystemClock.wall()
    when = email.utils.formatdate(wall + 5, usegmt=True)  # whole seconds: truncated
    mock.get(USER).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": when}),
            httpx.Response(200, json=envelope({"id": "u1"})),
        ]
    )
    await audian.users.get("u1")
    assert sleeps == [pytest.approx(math.floor(wall + 5) - wall, abs=1e-6)]


def test_parse_retry_after_variants() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "-1"}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after({"retry-after": past}) == 0.0


async def test_create_is_not_retried_after_a_read_timeout(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.put(USERS).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APIOutcomeUnknownTimeoutError) as info:
        await audian.users.create(first_name="J", last_name="S")
    assert route.call_count == 1
    assert sleeps == []
    assert "outcome is unknown" in str(info.value)
    assert isinstance(info.value, APITimeoutError)
    assert isinstance(info.value, APIOutcomeUnknownError)


async def test_create_is_not_retried_after_a_dropped_connection(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).mock(
        side_effect=httpx.RemoteProtocolError("Server disconnected without sending a response.")
    )
    with pytest.raises(APIOutcomeUnknownError) as info:
        await audian.users.create(first_name="J", last_name="S")
    assert not isinstance(info.value, APITimeoutError)
    assert route.call_count == 1


async def test_create_is_retried_when_the_server_cannot_have_acted(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.put(USERS).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ConnectTimeout("connect"),
            httpx.Response(201, json=CREATED),
        ]
    )
    audian = audian.with_options(max_retries=3)
    user = await audian.users.create(first_name="J", last_name="S")
    assert user.id == "u9"
    assert route.call_count == 3


async def test_create_is_retried_on_429_and_503_but_not_502(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.put(USERS).mock(
        side_effect=[httpx.Response(429), httpx.Response(503), httpx.Response(201, json=CREATED)]
    )
    await audian.users.create(first_name="J", last_name="S")
    assert route.call_count == 3
    route.mock(side_effect=[httpx.Response(502), httpx.Response(201, json=CREATED)])
    with pytest.raises(InternalServerError) as info:
        await audian.users.create(first_name="J", last_name="S")
    assert info.value.status_code == 502
    assert route.call_count == 4  # the 502 was not retried


async def test_get_connection_errors_are_retried_then_raised(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(USER).mock(side_effect=httpx.ReadError("reset"))
    with pytest.raises(APIConnectionError):
        await audian.users.get("u1")
    assert route.call_count == 3  # one try + max_retries=2


async def test_timeouts_become_api_timeout_errors(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(USER).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await audian.users.get("u1")


async def test_rate_limit_error_carries_retry_after_and_retry_count(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    body = {
        "status": "error",
        "error": "429",
        "message": "too_many_requests",
        "data": {"message": "too many requests"},
    }
    mock.get(USER).respond(429, json=body, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError) as info:
        await audian.users.get("u1")
    assert info.value.retry_after == 1.0
    assert info.value.retries_taken == 2
    assert info.value.server_message == "too many requests"


async def test_retry_after_beyond_the_cap_raises_at_once(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(USER).respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError) as info:
        await audian.users.get("u1")
    assert route.call_count == 1
    assert info.value.retry_after == 3600.0
    assert sleeps == []


async def test_backoff_never_stretches_a_call_past_its_deadline(
    mock: respx.MockRouter, auth_route: respx.Route, sleeps: list[float]
) -> None:
    route = mock.get(USER).respond(503, headers={"Retry-After": "0.4"})
    async with AsyncAudian(api_key=API_KEY, max_retries=50, deadline=1.0) as audian:
        with pytest.raises(InternalServerError):
            await audian.users.get("u1")
    assert sleeps == [0.4, 0.4]  # a third wait would end past the deadline
    assert route.call_count == 3


async def test_max_retries_zero_disables_retries(
    mock: respx.MockRouter, auth_route: respx.Route
) -> None:
    route = mock.get(USER).respond(503)
    async with AsyncAudian(api_key=API_KEY, max_retries=0) as audian:
        with pytest.raises(InternalServerError):
            await audian.users.get("u1")
    assert route.call_count == 1


def test_invalid_max_retries_is_rejected() -> None:
    with pytest.raises(TypeError, match="max_retries"):
        AsyncAudian(api_key=API_KEY, max_retries=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=8.0)
    values = [policy.backoff(10) for _ in range(200)]
    assert max(values) <= 8.0
    assert min(values) >= 0.0
    assert max(values) - min(values) > 2.0  # spread, not a fixed delay


async def test_a_429_without_retry_after_marks_the_bucket_empty_until_a_probe_succeeds(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(USER).mock(
        side_effect=[httpx.Response(429), httpx.Response(200, json=envelope({"id": "u1"}))]
    )
    await audian.users.get("u1")
    limiter = audian.rate_limiter  # the bucket of the client's account, known once authenticated
    assert limiter.rate_limited == 1
    assert limiter.refills == 1 and not limiter.empty


async def test_each_account_has_its_own_bucket(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Kazoo keeps one token bucket per account in the URL: an empty bucket for one account
    # must not hold back requests for another.
    other = "b" * 32
    mock.get(USER).mock(
        side_effect=[httpx.Response(429), httpx.Response(200, json=envelope({"id": "u1"}))]
    )
    theirs = mock.get(f"/accounts/{other}/users/u2").respond(200, json=envelope({"id": "u2"}))
    await audian.users.get("u1")
    view = audian.for_account(other)
    await view.users.get("u2")
    assert theirs.call_count == 1
    assert audian.rate_limiter.rate_limited == 1
    assert view.rate_limiter is not audian.rate_limiter
    assert view.rate_limiter.rate_limited == 0 and not view.rate_limiter.empty
