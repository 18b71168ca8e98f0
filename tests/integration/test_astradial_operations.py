"""Every Astradial operation of the spec, through the SDK, over loopback HTTP to the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from audian_async import AsyncAstradial, InternalServerError, NotFoundError
from audian_async.testing import RunningServer, Simulator, SimulatorConfig, create_app, serve
from audian_async.testing._astradial import astradial_state
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY

from .coverage_registry import covers


@pytest.fixture(scope="module")
def oss_sim() -> Simulator:
    return create_app(SimulatorConfig(seed=8, bucket_size=None, astradial_oss_shapes=True))


@pytest.fixture(scope="module")
def oss_server(oss_sim: Simulator) -> Iterator[RunningServer]:
    with serve(oss_sim) as running:
        yield running


@pytest.fixture
async def astra(server: RunningServer) -> AsyncIterator[AsyncAstradial]:
    async with AsyncAstradial(
        base_url=server.base_url, api_key=DEFAULT_ASTRADIAL_API_KEY
    ) as client:
        yield client


@pytest.fixture
async def astra_jwt(server: RunningServer, sim: Simulator) -> AsyncIterator[AsyncAstradial]:
    async with AsyncAstradial(
        base_url=f"{server.base_url}/api/v1",
        email=sim.config.astradial_email,
        password=sim.config.astradial_password,
    ) as client:
        yield client


@covers("astradial", "auth.user_login")
async def test_password_login(astra_jwt: AsyncAstradial, sim: Simulator) -> None:
    info = await astra_jwt.authenticate()
    assert info.account_id == astradial_state(sim).main_org_id
    assert astra_jwt.auth_mode == "password"
    assert len(await astra_jwt.users.list()) >= 2


@covers(
    "astradial",
    "users.list",
    "users.create",
    "users.update",
    "users.delete",
    "users.sip_credentials",
)
async def test_users(astra: AsyncAstradial) -> None:
    user = await astra.users.create(
        extension="1199", full_name="Alice Agent", email="alice.int@example.com", role="agent"
    )
    creds = await astra.users.sip_credentials(user.id)
    assert creds.password and creds.password not in repr(creds)
    assert (await astra.users.update(user.id, full_name="Alice B.")).full_name == "Alice B."
    assert user.id in {u.id for u in await astra.users.list()}
    assert await astra.users.delete(user.id) is None


@covers("astradial", "dids.list", "dids.update", "dids.request_from_pool", "dids.release_to_pool")
async def test_dids(astra: AsyncAstradial, sim: Simulator) -> None:
    did = (await astra.dids.list())[0]
    assert (
        await astra.dids.update(did.id, routing_type="extension", routing_destination="1002")
    ).routing_destination == "1002"
    pool = next(d["id"] for d in astradial_state(sim).dids.values() if d["org_id"] is None)
    assert (await astra.dids.request_from_pool(pool)) is not None
    assert (await astra.dids.release_to_pool(pool)) is not None


@covers(
    "astradial",
    "queues.list",
    "queues.create",
    "queues.update",
    "queues.delete",
    "queues.list_members",
    "queues.add_member",
    "queues.remove_member",
    "queues.remove_member_by_user",
)
async def test_queues(astra: AsyncAstradial) -> None:
    queue = await astra.queues.create(number="5102", name="Sales", ring_strategy="linear")
    assert (await astra.queues.update(queue.id, ring_timeout=30)).timeout == 30
    assert queue.id in {q.id for q in await astra.queues.list()}
    await astra.queues.add_member(queue.id, extension="1001")
    await astra.queues.add_member(queue.id, extension="1002", penalty=2)
    members = await astra.queues.list_members(queue.id)
    assert [m.extension for m in members] == ["1001", "1002"]
    assert await astra.queues.remove_member(queue.id, "1001") is None
    assert (
        await astra.queues.remove_member_by_user(queue.id, user_id=members[1].user_id or "") is None
    )
    assert await astra.queues.delete(queue.id) is None


@covers(
    "astradial",
    "ivrs.list",
    "ivrs.get",
    "ivrs.create",
    "ivrs.update",
    "ivrs.delete",
    "ivrs.replace_menu",
    "ivrs.generate_greeting",
    "ivrs.greeting_audio",
    "ivrs.publish",
)
async def test_ivrs(astra: AsyncAstradial) -> None:
    ivr = await astra.ivrs.create(name="Main", extension="6100")
    await astra.ivrs.replace_menu(
        ivr.id, options=[{"digit": "1", "action_type": "extension", "action_destination": "1001"}]
    )
    assert len((await astra.ivrs.get(ivr.id)).menu_options or []) == 1
    await astra.ivrs.generate_greeting(ivr.id, text="Hello")
    async with astra.ivrs.greeting_audio(ivr.id) as stream:
        assert (await stream.read())[:4] == b"RIFF"
    assert (await astra.ivrs.publish(ivr.id)).success is True
    assert (await astra.ivrs.update(ivr.id, enable_direct_dial=True)).enable_direct_dial is True
    assert ivr.id in {i.id for i in await astra.ivrs.list()}
    assert await astra.ivrs.delete(ivr.id) is None


@covers(
    "astradial",
    "calls.list",
    "calls.live",
    "calls.count",
    "calls.stats",
    "calls.recording",
    "calls.journey",
    "calls.transfer",
    "calls.hangup_channel",
    "calls.click_to_call",
    "calls.originate_to_ai",
)
async def test_calls(astra: AsyncAstradial, sim: Simulator, tmp_path: Path) -> None:
    calls = [c async for c in astra.calls.list(page_size=7)]
    assert len(calls) == sim.config.astradial_calls
    assert (await astra.calls.count()).total == len(calls)
    assert (await astra.calls.stats()).total_calls == len(calls)
    answered = next(c for c in calls if c.recording_url)
    path = await astra.calls.download_recording(str(answered.id), tmp_path / "call.wav")
    assert path.stat().st_size == sim.config.astradial_recording_size
    linked = next(c["linkedid"] for c in astradial_state(sim).calls if str(c["id"]) == answered.id)
    assert (await astra.calls.journey(linked)).linkedid == linked
    await astra.calls.click_to_call(from_="1001", to="1002")
    await astra.calls.originate_to_ai(to="9944421125", wss_url="wss://bot.example/ws")
    live = await astra.calls.live()
    await astra.calls.transfer(
        call_id=live[0].channel_id, destination="1002", transfer_type="blind"
    )
    await astra.calls.hangup_channel(channel_id=live[0].channel_id or "")
    assert len(await astra.calls.live()) == len(live) - 1


async def test_oss_shapes_over_http(oss_server: RunningServer, oss_sim: Simulator) -> None:
    async with AsyncAstradial(
        base_url=oss_server.base_url, api_key=DEFAULT_ASTRADIAL_API_KEY
    ) as astra:
        assert (
            len([c async for c in astra.calls.list(page_size=20)]) == oss_sim.config.astradial_calls
        )
        assert len(await astra.calls.live()) == 2  # {count, calls}
        user = await astra.users.create(
            extension="1299", email="oss@example.com", username="oss", password="pw-123456"
        )
        assert user.created_at and user.sip_password
        with pytest.raises(InternalServerError):
            await astra.users.create(
                extension="1298", email="o2@example.com", username="o2", password="pw", role="owner"
            )
        with pytest.raises(NotFoundError):
            await astra.ivrs.list()
    assert oss_sim.contract_violations == []
