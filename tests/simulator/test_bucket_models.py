"""The token bucket's refill models, on a clock the test moves (Kazoo's ``kz_token_bucket``)."""

from __future__ import annotations

from typing import Any

import pytest

from audian_async.testing import SimulatorConfig, create_app
from audian_async.testing._bucket import Buckets

from .conftest import asgi_client

KEY = ("account", "127.0.0.1")


class Frozen:
    """A simulator clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def buckets(**config: Any) -> tuple[Buckets, Frozen]:
    clock = Frozen()
    return Buckets(
        SimulatorConfig(bucket_size=100, bucket_refill_per_sec=10, **config), clock
    ), clock  # type: ignore[arg-type]


def drain(b: Buckets, n: int) -> list[bool]:
    return [b.consume(KEY, 1).allowed for _ in range(n)]


def test_default_is_kazoos_block_refill_on_the_buckets_own_timer() -> None:
    b, clock = buckets()
    assert all(drain(b, 100)) and b.peek(KEY) == 0
    clock.now += 0.99
    assert not b.consume(KEY, 1).allowed  # nothing arrives before the timer's second
    clock.now += 0.01
    assert b.peek(KEY) == 10  # the whole second's refill at once
    clock.now += 0.5
    assert b.peek(KEY) == 10  # and nothing in between
    clock.now += 0.5
    assert b.peek(KEY) == 20


def test_an_ordinary_refusal_leaves_the_level_alone() -> None:
    b, clock = buckets()
    drain(b, 95)
    assert not b.consume(KEY, 6).allowed
    assert b.peek(KEY) == 5  # refused without touching the level
    clock.now += 0.05
    for _ in range(50):  # hammering an empty bucket does not delay its refill
        drain(b, 10)
        clock.now += 0.019
    clock.now = 1001.0
    assert b.peek(KEY) == 10


def test_a_refused_login_empties_the_bucket() -> None:
    b, _ = buckets(auth_token_cost=35)
    drain(b, 70)
    refused = b.consume(KEY, 35, until=True)
    assert not refused.allowed and refused.remaining == 0 and b.peek(KEY) == 0


def test_token_model_adds_one_token_every_tenth_of_a_second() -> None:
    b, clock = buckets(bucket_refill="token")
    drain(b, 100)
    clock.now += 0.099
    assert b.peek(KEY) == 0
    clock.now += 0.001
    assert b.peek(KEY) == 1
    clock.now += 0.35
    assert b.peek(KEY) == 4
    assert drain(b, 5) == [True, True, True, True, False]
    assert b.peek(KEY) == 0


def test_continuous_model_that_empties_on_refusal_starves_a_fast_prober() -> None:
    b, clock = buckets(bucket_refill="continuous", bucket_empty_on_refusal=True)
    drain(b, 100)
    clock.now += 0.05
    assert b.peek(KEY) == 0  # half a token
    for _ in range(100):  # a probe every 50 ms never finds a whole token
        assert not b.consume(KEY, 1).allowed
        clock.now += 0.05
    clock.now += 0.1  # one token's refill time of quiet lets the next one through
    assert b.consume(KEY, 1).allowed


def test_retry_after_is_the_time_to_the_refill_that_covers_the_cost() -> None:
    b, clock = buckets()
    drain(b, 100)
    clock.now += 0.25
    assert b.consume(KEY, 1).retry_after == pytest.approx(0.75)
    assert b.consume(KEY, 15).retry_after == pytest.approx(1.75)
    t, clock = buckets(bucket_refill="token")
    drain(t, 100)
    clock.now += 0.03
    assert t.consume(KEY, 1).retry_after == pytest.approx(0.07)
    c, clock = buckets(bucket_refill="continuous")
    drain(c, 100)
    assert c.consume(KEY, 2).retry_after == pytest.approx(0.2)


def test_unknown_refill_model_is_refused() -> None:
    with pytest.raises(ValueError, match="bucket_refill must be"):
        SimulatorConfig(bucket_refill="smooth").validate()


async def test_refused_api_auth_empties_the_bucket_over_http() -> None:
    sim = create_app(SimulatorConfig(bucket_size=100, auth_token_cost=35))
    async with asgi_client(sim) as client:
        put = {"data": {"api_key": sim.default_api_key}}
        levels = [(await client.put("/api_auth", json=put)).json()["tokens"] for _ in range(2)]
        assert [t["remaining"] for t in levels] == [65, 30]
        refused = await client.put("/api_auth", json=put)
        assert refused.status_code == 429
        assert refused.json()["tokens"]["remaining"] == 0


def test_command_line_chooses_the_model() -> None:
    from audian_async.testing import Simulator
    from audian_async.testing.__main__ import banner, parse_args

    args = parse_args(
        ["--rate-limit", "kazoo", "--bucket-refill", "continuous", "--empty-on-refusal"]
    )
    assert (args.bucket_refill, args.empty_on_refusal) == ("continuous", True)
    config = SimulatorConfig(bucket_refill="continuous", bucket_empty_on_refusal=True)
    text = banner(Simulator(config), "http://127.0.0.1:8080")
    assert "100 tokens, 10/s (continuous refill, emptied on refusal)" in text
    assert "(block refill)" in banner(Simulator(SimulatorConfig()), "http://127.0.0.1:8080")
