"""The simulator's open-source flavour against exchanges recorded from the real server.

Each recording in ``recordings/astradial_oss`` is replayed, request by request, against a fresh
simulator in the open-source flavour (see :mod:`.oss_replay` for the comparison rules).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from audian_async.testing import Simulator, SimulatorConfig, create_app

from .oss_replay import RECORDINGS, Replayer, load

NAMES = sorted(p.stem for p in RECORDINGS.glob("*.json"))


@pytest.fixture
def sim() -> Simulator:
    # The recorded server ran without its phone system (Asterisk).
    config = SimulatorConfig(
        seed=21, bucket_size=None, astradial_oss_shapes=True, astradial_pbx_up=False
    )
    return create_app(config)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield http


def test_every_recording_is_replayed() -> None:
    assert NAMES == [
        "api_keys",
        "did_pool",
        "flavour",
        "media",
        "org_users",
        "outbound_routes",
        "sql_errors",
        "trunks",
        "webhooks",
    ]


@pytest.mark.parametrize("name", NAMES)
async def test_the_flavour_answers_as_the_recorded_server(
    name: str, sim: Simulator, client: httpx.AsyncClient
) -> None:
    config = sim.config
    replayer = Replayer(
        client,
        org_key=config.astradial_org_api_key,
        login=(config.astradial_email, config.astradial_password),
    )
    problems = await replayer.run(load(name))
    assert problems == []
