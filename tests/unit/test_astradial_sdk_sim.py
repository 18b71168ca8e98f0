"""The SDK against the in-process Astradial simulator (httpx.ASGITransport), in both shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest

from audian_async import (
    AsyncAstradial,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IgnoredFieldWarning,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RouteNotFoundError,
    UnprocessableEntityError,
    ValidationError,
)
from audian_async.astradial import CallDirection, CallDisposition, IvrActionType, QueueStrategy
from audian_async.testing import Simulator, SimulatorConfig, create_app
from audian_async.testing._astradial import astradial_state
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY

ROOT = "http://pbx.test:8000"
EMAIL = "owner@astradial.test"
PASSWORD = "simulator-password"


@pytest.fixture(params=[False, True], ids=["docs", "oss"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    simulator = create_app(SimulatorConfig(seed=5, astradial_oss_shapes=request.param))
    yield simulator
    assert simulator.contract_violations == []


def key_client(sim: Simulator, **kw: object) -> AsyncAstradial:
    return AsyncAstradial(
        base_url=ROOT,
        api_key=DEFAULT_ASTRADIAL_API_KEY,
        transport=httpx.ASGITransport(app=sim),
        **kw,  # type: ignore[arg-type]
    )


def password_client(sim: Simulator, email: str = EMAIL, **kw: object) -> AsyncAstradial:
    return AsyncAstradial(
        base_url=ROOT,
        email=email,
        password=PASSWORD,
        transport=httpx.ASGITransport(app=sim),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def astra(sim: Simulator) -> AsyncIterator[AsyncAstradial]:
    async with key_client(sim) as client:
        yield client


def oss(sim: Simulator) -> bool:
    return sim.config.astradial_oss_shapes


def _days_with_calls(sim: Simulator) -> int:
    """The UTC days, today and the 7 before on the simulator clock, that its calls began on."""
    state = astradial_state(sim)
    today = datetime.fromtimestamp(state.now(), tz=UTC).date()
    days = {datetime.fromtimestamp(c["start"], tz=UTC).date() for c in state.calls}
    found = len([d for d in days if d >= today - timedelta(days=7)])
    assert found in (7, 8)  # 45 calls 5 hours apart cover every one of the 7 days before
    return found


async def test_users_round_trip(astra: AsyncAstradial, sim: Simulator) -> None:
    extra = {"username": "alice", "password": "pw-123456"} if oss(sim) else {}
    user = await astra.users.create(
        extension="1099",
        full_name="Alice Agent",
        email="alice@example.com",
        role="agent",
        ring_target="ext" if oss(sim) else "sip",
        **extra,
    )
    assert user.extension == "1099"
    assert user.created_at is not None  # created_at or createdAt
    if oss(sim):
        assert user.sip_password is not None and user.sip_password not in repr(user)
        assert user.ring_target == "ext"
    creds = await astra.users.sip_credentials(user.id)
    assert creds.password is not None and len(creds.password) == 12
    assert creds.username is not None
    assert creds.password not in repr(creds)
    if oss(sim):
        assert creds.password == user.sip_password

    if oss(sim):
        # The OSS server ignores both fields and answers 200: the SDK says so.
        with pytest.warns(IgnoredFieldWarning) as caught:
            updated = await astra.users.update(
                user.id, ring_target="phone", phone_number="+919944421125"
            )
        assert sorted(w.message.field for w in caught.list) == ["phone_number", "ring_target"]  # type: ignore[union-attr]
        assert updated.ring_target == "ext" and updated.phone_number is None
    else:
        updated = await astra.users.update(
            user.id, ring_target="phone", phone_number="+919944421125"
        )
        assert updated.ring_target == "phone" and updated.phone_number == "+919944421125"
    assert [u.extension for u in await astra.users.list().collect()] == ["1001", "1002", "1099"]

    with pytest.raises(ConflictError):
        await astra.users.create(
            extension="1099",
            full_name="Dup",
            email="dup@example.com",
            **{**extra, "username": "dup"},
        )
    if oss(sim):
        with pytest.raises(InternalServerError) as sql:
            await astra.users.create(
                extension="1098", email="b@example.com", role="owner", username="b", password="pw"
            )
        assert "INSERT INTO" in str(sql.value.server_message)
    else:
        with pytest.raises(UnprocessableEntityError, match="Invalid role"):
            await astra.users.create(
                extension="1098", full_name="B", email="b@example.com", role="overlord"
            )
    assert await astra.users.delete(user.id) is None
    with pytest.raises(NotFoundError):
        await astra.users.delete(user.id)


async def test_client_side_validation_sends_nothing(astra: AsyncAstradial, sim: Simulator) -> None:
    before = len(sim.requests)
    with pytest.raises(ValidationError, match="when ring_target is 'phone'"):
        await astra.users.create(extension="1099", email="a@example.com", ring_target="phone")
    with pytest.raises(ValidationError):
        await astra.users.create(extension="10 99", email="a@example.com")
    assert len(sim.requests) == before


async def test_call_history_pages_through_both_envelopes(
    astra: AsyncAstradial, sim: Simulator
) -> None:
    calls = [c async for c in astra.calls.list(page_size=10)]
    assert len(calls) == 45
    assert len({str(c.id) for c in calls}) == 45
    assert len(sim.requests.matching("GET", "/api/v1/calls")) == 5
    inbound = [
        c
        async for c in astra.calls.list(direction=CallDirection.INBOUND, date_from=date(2026, 3, 1))
    ]
    assert len(inbound) == 15 and all(c.direction is CallDirection.INBOUND for c in inbound)
    answered = [c async for c in astra.calls.list(disposition="ANSWERED", page_size=200)]
    field = "disposition" if oss(sim) else "status"
    assert {getattr(c, field) for c in answered} == {CallDisposition.ANSWERED}
    pages = [p async for p in astra.calls.list(page_size=20).pages()]
    assert [len(p.items) for p in pages] == [20, 20, 5] and pages[0].total == 45

    count = await astra.calls.count()
    # The open-source server counts its own call_records table (empty), not the CDRs.
    assert count.total == (0 if oss(sim) else 45)
    stats = await astra.calls.stats()
    totals = stats.totals if oss(sim) else stats
    assert totals is not None and totals.total_calls == 45
    # Open-source: the days of the last week (today and the 7 before) that had calls. The seeds
    # run every 5 hours up to now, so today has calls only once its first hours are past: 7
    # or 8 days, by the time of day the test runs at.
    assert stats.weekly is not None and len(stats.weekly) == (
        _days_with_calls(sim) if oss(sim) else 7
    )


async def test_live_calls_and_call_control(astra: AsyncAstradial, sim: Simulator) -> None:
    live = await astra.calls.live()
    assert [c.channel_id for c in live] == ["PJSIP/1001-00000001", "PJSIP/trunk-00000002"]
    if oss(sim):
        result = await astra.calls.transfer(
            destination="1002",
            extra_body={"channel_id": live[0].channel_id, "destination_type": "extension"},
        )
    else:
        result = await astra.calls.transfer(
            call_id=live[0].channel_id, destination="1002", transfer_type="blind"
        )
    assert result.success is True
    hung = await astra.calls.hangup_channel(channel_id=live[0].channel_id or "")
    assert hung.channel_id == live[0].channel_id
    assert len(await astra.calls.live()) == 1

    started = await astra.calls.click_to_call(from_="1001", to="9944421125", to_type="external")
    assert started.status == "success" or started.success is True
    ai = await astra.calls.originate_to_ai(to="9944421125", wss_url="wss://bot.example/ws/o/b")
    assert ai.channel_id is not None or (ai.call is not None and ai.call["channel"])
    with pytest.raises(InternalServerError if oss(sim) else BadRequestError) as info:
        await astra.calls.click_to_call(from_="1777", to="1001")
    assert "extension not registered" in str(info.value)

    astradial_state(sim).pbx_up = False
    with pytest.raises(InternalServerError):
        await astra.calls.live()


async def test_journey(astra: AsyncAstradial, sim: Simulator) -> None:
    linked = next(
        c["linkedid"] for c in astradial_state(sim).calls if c["disposition"] == "ANSWERED"
    )
    journey = await astra.calls.journey(linked)
    assert journey.linkedid == linked and journey.status == "answered"
    assert journey.steps is not None and journey.steps[-1].action == "Bridged"


async def test_recording_download(sim: Simulator, tmp_path: Path) -> None:
    call_id = str(next(c["id"] for c in astradial_state(sim).calls if c["has_recording"]))
    size = sim.config.astradial_recording_size
    async with key_client(sim) as astra:
        if oss(sim):  # the OSS server refuses API keys on this route
            with pytest.raises(AuthenticationError, match="Authentication required"):
                await astra.calls.download_recording(call_id, tmp_path / "r.wav")
        else:
            path = await astra.calls.download_recording(call_id, tmp_path / "r.wav")
            assert path.stat().st_size == size
    async with password_client(sim) as astra:
        path = await astra.calls.download_recording(call_id, tmp_path / "jwt.wav")
        assert path.read_bytes()[:4] == b"RIFF" and path.stat().st_size == size
        async with astra.calls.recording(call_id) as stream:
            assert sum([len(c) async for c in stream.iter_bytes()]) == size
    if oss(sim):
        async with password_client(sim, "agent@astradial.test") as agent:
            with pytest.raises(PermissionDeniedError):
                await agent.calls.download_recording(call_id, tmp_path / "agent.wav")
    assert not list(tmp_path.glob("*.part"))


async def test_dids(astra: AsyncAstradial, sim: Simulator) -> None:
    dids = await astra.dids.list().collect()
    assert [d.number for d in dids] == ["+918065978015", "+918065978016"]
    updated = await astra.dids.update(dids[1].id, routing_type="queue", routing_destination="5001")
    assert updated.routing_type == "queue"
    pool = next(d["id"] for d in astradial_state(sim).dids.values() if d["org_id"] is None)
    taken = await astra.dids.request_from_pool(pool)
    if oss(sim):  # a request awaiting an administrator
        assert taken is not None and taken.message == "Number requested, awaiting admin approval"
    else:
        assert taken is not None and taken.success is True
    with pytest.raises(ConflictError):
        await astra.dids.request_from_pool(pool)
    if oss(sim):  # no such route on the OSS server: a distinct NotFoundError
        with pytest.raises(RouteNotFoundError):
            await astra.dids.release_to_pool(pool)
    else:
        released = await astra.dids.release_to_pool(pool)
        assert released is not None and released.success is True
    if oss(sim):
        assert dids[0].created_at is not None and dids[0].extra == {}


async def test_queues(astra: AsyncAstradial, sim: Simulator) -> None:
    if oss(sim):
        queue = await astra.queues.create(
            number="5002",
            name="Sales",
            extra_body={"strategy": "leastrecent", "music_on_hold": "jazz"},
        )
    else:
        queue = await astra.queues.create(
            number="5002",
            name="Sales",
            ring_strategy="leastrecent",
            moh_class="jazz",
            ring_timeout=20,
        )
    assert queue.ring_strategy is QueueStrategy.LEASTRECENT  # `strategy` read as ring_strategy
    assert queue.moh_class == "jazz"
    assert (await astra.queues.update(queue.id, ring_timeout=60)).timeout == 60
    with pytest.raises(ConflictError):
        await astra.queues.create(number="5002", name="Dup")
    users = {u.extension: u.id for u in await astra.users.list().collect()}
    if oss(sim):
        member = await astra.queues.add_member(queue.id, extra_body={"user_id": users["1001"]})
        assert member.user_id == users["1001"]
        with pytest.raises(ConflictError) as dup:
            await astra.queues.add_member(queue.id, extra_body={"user_id": users["1001"]})
        assert dup.value.details == {"skipped": [users["1001"]]}
        listed = next(q for q in await astra.queues.list().collect() if q.id == queue.id)
        assert listed.members is not None and listed.members[0].user is not None
        with pytest.raises(NotFoundError):
            await astra.queues.list_members(queue.id)
        assert await astra.queues.remove_member_by_user(queue.id, user_id=users["1001"]) is None
    else:
        member = await astra.queues.add_member(queue.id, extension="1001", penalty=1)
        assert member.extension == "1001"
        with pytest.raises(ConflictError):
            await astra.queues.add_member(queue.id, extension="1001")
        assert [m.extension for m in await astra.queues.list_members(queue.id)] == ["1001"]
        assert await astra.queues.remove_member(queue.id, "1001") is None
        assert await astra.queues.list_members(queue.id) == []
    assert await astra.queues.delete(queue.id) is None


async def test_ivrs(astra: AsyncAstradial, sim: Simulator, tmp_path: Path) -> None:
    if oss(sim):  # the open-source server has no IVR API
        with pytest.raises(NotFoundError, match="not found"):
            await astra.ivrs.list().collect()
        return
    ivr = await astra.ivrs.create(name="Main menu", extension="6000", input_timeout=5)
    assert ivr.timeout == 5 and ivr.created_at is not None  # createdAt
    with pytest.raises(ConflictError):
        await astra.ivrs.create(name="Clash", extension="1001")
    await astra.ivrs.replace_menu(
        ivr.id,
        options=[
            {"digit": "1", "action_type": "queue", "action_destination": "5001"},
            {"digit": "0", "action_type": "ai_agent", "action_destination": "wss://bot.example/ws"},
            {"digit": "#", "action_type": "hangup", "action_destination": None},
        ],
    )
    full = await astra.ivrs.get(ivr.id)
    assert full.menu_options is not None
    assert [o.action_type for o in full.menu_options] == [
        IvrActionType.QUEUE,
        IvrActionType.AI_AGENT,
        IvrActionType.HANGUP,
    ]
    with pytest.raises(NotFoundError):
        await astra.ivrs.download_greeting_audio(ivr.id, tmp_path / "none.wav")
    greeting = await astra.ivrs.generate_greeting(ivr.id, text="Welcome to Acme")
    assert greeting.greeting_prompt == f"greeting_ivr_{ivr.id}"
    path = await astra.ivrs.download_greeting_audio(ivr.id, tmp_path / "greeting.wav")
    assert path.read_bytes()[:4] == b"RIFF"
    published = await astra.ivrs.publish(ivr.id)
    assert published.success is True and "Simulated Org" in (published.message or "")
    assert (await astra.ivrs.update(ivr.id, name="Renamed")).name == "Renamed"
    assert [i.name for i in await astra.ivrs.list().collect()] == ["Renamed"]
    assert await astra.ivrs.delete(ivr.id) is None


async def test_another_organisation_gets_404(astra: AsyncAstradial, sim: Simulator) -> None:
    user = (await astra.users.list().collect())[0]
    async with AsyncAstradial(
        base_url=ROOT,
        api_key=astradial_state(sim).other_api_key,
        transport=httpx.ASGITransport(app=sim),
    ) as other:
        with pytest.raises(NotFoundError):
            await other.users.update(user.id, full_name="Hijack")
        with pytest.raises(NotFoundError):
            await other.users.sip_credentials(user.id)


# -- password mode ------------------------------------------------------------------------------


async def test_fifty_concurrent_calls_one_login(sim: Simulator) -> None:
    async with password_client(sim) as astra:

        async def one() -> None:
            assert len(await astra.users.list().collect()) == 2

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
        info = await astra.authenticate()
    assert len(sim.requests.matching("POST", "/auth/user-login")) == 1
    assert info.account_id == astradial_state(sim).main_org_id


async def test_expired_jwt_is_replaced_once_and_the_call_replayed(sim: Simulator) -> None:
    sim.config.astradial_token_lifetime = 3600
    async with password_client(sim) as astra:
        await astra.users.list().collect()  # proves the token
        sim.advance_clock(3601)  # the simulator's clock: our token is now expired there

        async def one() -> None:
            await astra.queues.list().collect()

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
    logins = sim.requests.matching("POST", "/auth/user-login")
    assert len(logins) == 2
    assert [r.status for r in sim.requests.matching("GET", "/queues")].count(401) >= 1


@pytest.mark.parametrize(
    ("email", "password", "status"),
    [
        ("owner@astradial.test", "wrong", 401),
        ("ghost@example.com", PASSWORD, 404),
        ("noorg@astradial.test", PASSWORD, 404),
        ("pending@astradial.test", PASSWORD, 202),
    ],
)
async def test_login_failures(sim: Simulator, email: str, password: str, status: int) -> None:
    async with AsyncAstradial(
        base_url=ROOT, email=email, password=password, transport=httpx.ASGITransport(app=sim)
    ) as astra:
        with pytest.raises(AuthenticationError) as info:
            await astra.users.list().collect()
    assert info.value.status_code == status
    assert info.value.server_message
    assert password not in str(info.value)
    assert sim.requests.matching("GET", "/users") == []


async def test_a_server_without_the_login_table_fails_loudly_without_the_password() -> None:
    sim = create_app(
        SimulatorConfig(seed=5, astradial_oss_shapes=True, astradial_org_users_table=False)
    )
    async with password_client(sim) as astra:
        with pytest.raises(InternalServerError, match="org_users") as info:
            await astra.users.list().collect()
    assert PASSWORD not in str(info.value)
    # The organisation key + secret login still works there.
    config = sim.config
    async with AsyncAstradial(
        base_url=ROOT,
        api_key=config.astradial_org_api_key,
        api_secret=config.astradial_org_api_secret,
        transport=httpx.ASGITransport(app=sim),
    ) as org:
        assert len(await org.users.list().collect()) == 2
