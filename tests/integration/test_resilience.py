"""Token expiry mid-run, 429 bursts, 503s and dropped connections, counted on the server side."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from audian_async import APIOutcomeUnknownError, AsyncAudian
from audian_async.audian import User
from audian_async.bulk import run_bulk
from audian_async.testing import (
    RunningServer,
    Simulator,
    SimulatorConfig,
    create_app,
    drop_after,
    drop_before,
    serve,
    status,
)


@pytest.fixture
def sim() -> Simulator:  # a fresh simulator per test: user counts start at zero
    return create_app(SimulatorConfig(seed=11, bucket_size=None, strict_requests=True))


@pytest.fixture
def server(sim: Simulator) -> Iterator[RunningServer]:
    with serve(sim) as running:
        yield running


class SimTime:
    """The SDK's clock reading the simulator's, so both see ``sim.clock.advance`` (sleeps
    stay real: the SDK's backoffs)."""

    def __init__(self, sim: Simulator) -> None:
        self._clock = sim.clock

    def now(self) -> float:
        return self._clock.monotonic()

    def wall(self) -> float:
        return self._clock.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def client(sim: Simulator, server: RunningServer, **kwargs: Any) -> AsyncAudian:
    return AsyncAudian(api_key=sim.default_api_key, base_url=f"{server.base_url}/v2", **kwargs)


async def test_create_dropped_after_acting_is_reported_unknown_not_duplicated(
    sim: Simulator, server: RunningServer
) -> None:
    async with client(sim, server) as audian:
        await audian.authenticate()
        sim.faults.script(method="PUT", path_contains="/users", kind=drop_after)
        with pytest.raises(APIOutcomeUnknownError):
            await audian.users.create(first_name="Once", last_name="Only", username="once")
    assert sim.state.user_count(sim.master_account_id) == 1
    assert len(sim.requests.matching(method="PUT", path_contains="/users")) == 1


async def test_create_dropped_before_acting_is_also_unknown_and_creates_nothing(
    sim: Simulator, server: RunningServer
) -> None:
    async with client(sim, server) as audian:
        await audian.authenticate()
        sim.faults.script(method="PUT", path_contains="/users", kind=drop_before)
        with pytest.raises(APIOutcomeUnknownError):
            await audian.users.create(first_name="Never", last_name="Made", username="never")
    assert sim.state.user_count(sim.master_account_id) == 0


async def test_reads_survive_dropped_connections(sim: Simulator, server: RunningServer) -> None:
    async with client(sim, server, max_retries=3) as audian:
        user = await audian.users.create(first_name="Read", last_name="Me", username="readme")
        sim.faults.script(method="GET", path_contains=f"/users/{user.id}", times=2, kind=drop_after)
        assert (await audian.users.get(user.id)).id == user.id


async def test_bulk_run_through_expiry_429s_503s_and_drops_creates_each_user_exactly_once(
    sim: Simulator, server: RunningServer
) -> None:
    count = 300
    sim.config.token_lifetime = 2  # tokens expire during the run (each create moves time on)
    sim.faults.rate(status(429), 0.05, seed=1, method="PUT", path_contains="/users")
    sim.faults.rate(status(503), 0.05, seed=2, method="PUT", path_contains="/users")
    sim.faults.rate(drop_after, 0.03, seed=3, method="PUT", path_contains="/users")
    sim.faults.rate(status(503), 0.05, seed=4, method="GET")

    async with client(sim, server, max_retries=2, clock=SimTime(sim)) as audian:

        async def create(n: int) -> User:
            sim.clock.advance(0.005)  # 300 creates: 1.5 s more than the run takes
            return await audian.users.create(
                first_name="Bulk", last_name=f"User {n}", username=f"bulk{n:04d}"
            )

        async def find(n: int) -> User | None:
            return await audian.users.list(
                filters={"username": f"bulk{n:04d}"}, paginate=False
            ).first()

        summary = await run_bulk(
            create,
            range(count),
            concurrency=32,
            key=str,
            reconcile=find,
            max_attempts=8,
            progress=False,
        )

    assert summary.succeeded == count, summary.failures[:3]
    assert summary.failed == 0
    users = [d for d in sim.state.docs("user", sim.master_account_id)]
    usernames = [d.data["username"] for d in users]
    assert len(usernames) == count
    assert len(set(usernames)) == count
    assert sim.contract_violations == []
    assert (
        len(sim.requests.matching(method="PUT", path_contains="/api_auth")) >= 2
    )  # re-authenticated mid-run
