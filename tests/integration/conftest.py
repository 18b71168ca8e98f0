"""Integration fixtures: the simulator over real loopback HTTP (uvicorn in a thread)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from audian_async import AsyncAudian
from audian_async.testing import RunningServer, Simulator, SimulatorConfig, create_app, serve


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return create_app(SimulatorConfig(seed=7, bucket_size=None, strict_requests=True))


@pytest.fixture(scope="module")
def server(sim: Simulator) -> Iterator[RunningServer]:
    with serve(sim) as running:
        yield running


@pytest.fixture(autouse=True)
def _contract_clean(sim: Simulator) -> Iterator[None]:
    """Every test leaves the simulator with no contract violation and faults cleared."""
    before, requests_before = len(sim.contract_violations), len(sim.request_violations)
    yield
    sim.faults.clear()
    assert sim.contract_violations[before:] == []
    assert sim.request_violations[requests_before:] == []


@pytest.fixture
async def audian(sim: Simulator, server: RunningServer) -> AsyncIterator[AsyncAudian]:
    async with AsyncAudian(api_key=sim.default_api_key, base_url=f"{server.base_url}/v2") as client:
        yield client
