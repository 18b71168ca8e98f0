"""The token bucket."""

from __future__ import annotations

from audian_async.testing import SimulatorConfig, create_app

from .conftest import asgi_client, login


async def test_bucket_drains_to_429_and_refills() -> None:
    sim = create_app(SimulatorConfig(bucket_size=5, bucket_refill_per_sec=1))
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        remaining = [(await s.get("/users")).json()["tokens"]["remaining"] for _ in range(5)]
        assert remaining == [4, 3, 2, 1, 0]
        limited = await s.get("/users")
        assert limited.status_code == 429
        body = limited.json()
        assert body["message"] == "too_many_requests" and body["data"] == {
            "message": "too many requests"
        }
        assert "retry-after" not in limited.headers
        sim.advance_clock(2.5)
        assert (await s.get("/users")).status_code == 200


async def test_retry_after_flag_and_auth_cost() -> None:
    sim = create_app(
        SimulatorConfig(
            bucket_size=10, bucket_refill_per_sec=2, send_retry_after=True, auth_token_cost=4
        )
    )
    async with asgi_client(sim) as client:
        first = await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
        assert first.json()["tokens"] == {"consumed": 4, "remaining": 6}
        await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
        drained = await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
        assert drained.status_code == 429 and drained.headers["retry-after"] == "2"


async def test_buckets_are_per_account() -> None:
    sim = create_app(SimulatorConfig(bucket_size=2, bucket_refill_per_sec=0))
    async with asgi_client(sim) as client:
        master = await login(client, sim.default_api_key)
        child = sim.create_account("Child")
        other = await login(client, sim.api_key_for(child))
        assert [(await master.get("/users")).status_code for _ in range(3)] == [200, 200, 429]
        assert (await other.get("/users")).status_code == 200


async def test_disabled_limiting() -> None:
    sim = create_app(SimulatorConfig(bucket_size=None))
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        for _ in range(150):
            response = await s.get("/users")
        assert response.status_code == 200 and response.json()["tokens"]["remaining"] == 100


async def test_a_sub_accounts_requests_spend_that_accounts_bucket() -> None:
    """Kazoo keys its buckets by the account in the URL: a reseller's token acting on a
    sub-account spends the sub-account's bucket, not its own (it spent its own before)."""
    sim = create_app(SimulatorConfig(bucket_size=2, bucket_refill_per_sec=0))
    async with asgi_client(sim) as client:
        master = await login(client, sim.default_api_key)
        child = sim.create_account("Child")
        statuses = [
            (await client.get(master.url("/users", child), headers=master.headers)).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        assert (await master.get("/users")).status_code == 200  # the master's own is full
