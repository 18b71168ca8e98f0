"""Every Astradial operation of the spec, through the SDK, over loopback HTTP to the simulator.

Each scenario runs four times: against the documented flavour and the open-source (OSS)
flavour of the simulator, over the httpx and the aiohttp transport. Operations the OSS server
does not have are still sent there, and must raise :class:`RouteNotFoundError`. At teardown
the operations each flavour actually served are recorded; ``test_zz_coverage`` checks that
every spec operation reached both.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audian_async import (
    AsyncAstradial,
    AsyncPaginator,
    BadRequestError,
    IgnoredFieldWarning,
    NotFoundError,
    RouteNotFoundError,
)
from audian_async.astradial import QueueMember, QueueMemberBatch
from audian_async.testing import RunningServer, Simulator, SimulatorConfig, create_app, serve
from audian_async.testing._astradial import astradial_state
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY

from .coverage_registry import covers, record_served

FLAVOURS = ("docs", "oss")
TRANSPORTS = ("httpx", "aiohttp")
_numbers = itertools.count(1)


def uniq() -> int:
    """A number no other scenario of this module uses (the simulators are shared)."""
    return next(_numbers)


@dataclass
class Target:
    """One simulator flavour over one transport."""

    flavour: str
    transport: str
    sim: Simulator
    base_url: str

    @property
    def oss(self) -> bool:
        return self.flavour == "oss"

    def client(self, **auth: str) -> AsyncAstradial:
        credentials = auth or {"api_key": DEFAULT_ASTRADIAL_API_KEY}
        return AsyncAstradial(base_url=self.base_url, transport=self.transport, **credentials)


@pytest.fixture(scope="module")
def flavour_sims() -> dict[str, Simulator]:
    return {
        flavour: create_app(
            SimulatorConfig(
                seed=8,
                bucket_size=None,
                strict_requests=True,
                astradial_oss_shapes=flavour == "oss",
            )
        )
        for flavour in FLAVOURS
    }


@pytest.fixture(scope="module")
def flavour_servers(flavour_sims: dict[str, Simulator]) -> Iterator[dict[str, RunningServer]]:
    with serve(flavour_sims["docs"]) as docs, serve(flavour_sims["oss"]) as oss:
        yield {"docs": docs, "oss": oss}
    for flavour, sim in flavour_sims.items():
        record_served(f"astradial@{flavour}", sim)


@pytest.fixture(params=[(f, t) for f in FLAVOURS for t in TRANSPORTS], ids=lambda p: "-".join(p))
def target(
    request: pytest.FixtureRequest,
    flavour_sims: dict[str, Simulator],
    flavour_servers: dict[str, RunningServer],
) -> Iterator[Target]:
    flavour, transport = request.param
    sim = flavour_sims[flavour]
    before, requests_before = len(sim.contract_violations), len(sim.request_violations)
    yield Target(flavour, transport, sim, flavour_servers[flavour].base_url)
    assert sim.contract_violations[before:] == []
    assert sim.request_violations[requests_before:] == []


@pytest.fixture
async def astra(target: Target) -> AsyncIterator[AsyncAstradial]:
    async with target.client() as client:
        yield client


@pytest.fixture
async def astra_jwt(target: Target) -> AsyncIterator[AsyncAstradial]:
    config = target.sim.config
    async with target.client(
        email=config.astradial_email, password=config.astradial_password
    ) as client:
        yield client


# -- auth --------------------------------------------------------------------------------------


@covers("astradial", "auth.user_login", "auth.login")
async def test_three_auth_modes(target: Target, astra_jwt: AsyncAstradial) -> None:
    main_org = astradial_state(target.sim).main_org_id
    info = await astra_jwt.authenticate()
    assert info.account_id == main_org and astra_jwt.auth_mode == "password"
    assert len(await astra_jwt.users.list().collect()) >= 2
    config = target.sim.config
    async with target.client(
        api_key=config.astradial_org_api_key, api_secret=config.astradial_org_api_secret
    ) as org:
        assert org.auth_mode == "org_login"
        assert (await org.authenticate()).account_id == main_org
        assert (await org.users.list().first()) is not None
        assert config.astradial_org_api_secret not in repr(org._core.shared.authenticator)
    # The organisation key alone also works in X-API-Key.
    async with target.client(api_key=config.astradial_org_api_key) as keyed:
        assert keyed.auth_mode == "api_key"
        assert (await keyed.users.list().first()) is not None


# -- users -------------------------------------------------------------------------------------


@covers(
    "astradial",
    "users.list",
    "users.get",
    "users.create",
    "users.update",
    "users.delete",
    "users.sip_credentials",
)
async def test_users(astra: AsyncAstradial) -> None:
    n = uniq()
    user = await astra.users.create(
        extension=str(3000 + n),
        full_name="Alice Agent",
        email=f"alice{n}@example.com",
        username=f"alice{n}",  # the OSS server requires username and password
        password="pw-123456",
        role="agent",
    )
    assert (await astra.users.get(user.id)).extension == str(3000 + n)
    creds = await astra.users.sip_credentials(user.id)
    assert creds.password and creds.password not in repr(creds)
    # Read-modify-write with the fetched model: server-owned fields stay home.
    updated = await astra.users.update(user.id, user, full_name="Alice B.")
    assert updated.full_name == "Alice B." and updated.id == user.id
    listing = astra.users.list()
    assert isinstance(listing, AsyncPaginator)
    assert user.id in {u.id async for u in listing}
    assert await astra.users.delete(user.id) is None
    with pytest.raises(NotFoundError) as missing:
        await astra.users.get(user.id)
    assert not isinstance(missing.value, RouteNotFoundError)  # a missing record, not a route


async def test_user_fields_the_oss_server_ignores_are_reported(
    target: Target, astra: AsyncAstradial
) -> None:
    n = uniq()
    kwargs = {
        "extension": str(3000 + n),
        "full_name": "Phone Person",
        "email": f"phone{n}@example.com",
        "username": f"phone{n}",
        "password": "pw-123456",
        "ring_target": "phone",
        "phone_number": "+919944421125",
        "outbound_did": "+918065978015",
        "call_recording": False,
    }
    if target.oss:
        with pytest.warns(IgnoredFieldWarning) as caught:
            user = await astra.users.create(**kwargs)  # type: ignore[arg-type]
        ignored = {w.message.field for w in caught.list}  # type: ignore[union-attr]
        assert ignored == {"ring_target", "phone_number", "outbound_did", "call_recording"}
        # recording_enabled (sent with call_recording) is honoured on update.
        assert (await astra.users.update(user.id, call_recording=False)).call_recording is False
    else:
        user = await astra.users.create(**kwargs)  # type: ignore[arg-type]
        assert user.ring_target == "phone" and user.call_recording is False
    await astra.users.delete(user.id)


# -- DIDs --------------------------------------------------------------------------------------


@covers(
    "astradial",
    "dids.list",
    "dids.get",
    "dids.create",
    "dids.update",
    "dids.set_routing",
    "dids.delete",
    "dids.request_from_pool",
    "dids.release_to_pool",
)
async def test_dids(target: Target, astra: AsyncAstradial) -> None:
    n = uniq()
    did = await astra.dids.create(number=f"+9180659{n:05d}", description="Sales line")
    assert (await astra.dids.get(did.id)).number == f"+9180659{n:05d}"
    routed = await astra.dids.set_routing(
        did.id, routing_type="extension", routing_destination="1001"
    )
    assert (routed.routing_type, routed.routing_destination) == ("extension", "1001")
    assert (await astra.dids.update(did.id, description="Support")).description == "Support"
    assert did.id in {d.id async for d in astra.dids.list()}
    assert await astra.dids.delete(did.id) is None
    with pytest.raises(NotFoundError):
        await astra.dids.get(did.id)

    state = astradial_state(target.sim)
    pool = next(
        d for d in state.dids.values() if d["org_id"] is None and d["pool_status"] == "available"
    )
    assert (await astra.dids.request_from_pool(pool["id"])) is not None
    if target.oss:
        with pytest.raises(RouteNotFoundError):
            await astra.dids.release_to_pool(pool["id"])
        with state.lock:  # give it back by hand for the next scenario
            pool.update(org_id=None, pool_status="available", status="inactive")
    else:
        assert (await astra.dids.release_to_pool(pool["id"])) is not None


# -- queues ------------------------------------------------------------------------------------


@covers(
    "astradial",
    "queues.list",
    "queues.get",
    "queues.create",
    "queues.update",
    "queues.delete",
    "queues.list_members",
    "queues.add_member",
    "queues.remove_member",
    "queues.remove_member_by_user",
)
async def test_queues(target: Target, astra: AsyncAstradial) -> None:
    n = uniq()
    agents = [
        await astra.users.create(
            extension=str(4000 + 10 * n + i),
            full_name=f"Agent {i}",
            email=f"agent{n}.{i}@example.com",
            username=f"agent{n}x{i}",
            password="pw-123456",
        )
        for i in range(3)
    ]
    queue = await astra.queues.create(
        number=str(5100 + n),
        name="Sales",
        ring_strategy="linear",
        moh_class="jazz",
        ring_timeout=20,
    )
    # No silent loss on either server: both spellings were sent.
    assert (queue.ring_strategy, queue.moh_class, queue.timeout) == ("linear", "jazz", 20)
    assert (await astra.queues.get(queue.id)).ring_strategy == "linear"
    assert (await astra.queues.update(queue.id, ring_strategy="rrmemory")).ring_strategy == (
        "rrmemory"
    )
    renamed = await astra.queues.update(queue.id, queue, name="Sales 2")  # the fetched model
    assert (renamed.name, renamed.moh_class) == ("Sales 2", "jazz")
    assert queue.id in {q.id async for q in astra.queues.list()}

    member = await astra.queues.add_member(queue.id, user_id=agents[0].id, penalty=1)
    assert isinstance(member, QueueMember) and member.user_id == agents[0].id
    if target.oss:
        assert member.created_at is not None  # the server says `added_at`
        batch = await astra.queues.add_member(queue.id, user_ids=[agents[1].id, agents[2].id])
        assert isinstance(batch, QueueMemberBatch)
        assert {m.user_id for m in batch.created} == {agents[1].id, agents[2].id}
        embedded = (await astra.queues.get(queue.id)).members or []
        assert {m.user_id for m in embedded} == {a.id for a in agents}
        with pytest.raises(RouteNotFoundError):
            await astra.queues.list_members(queue.id)
        with pytest.raises(RouteNotFoundError):
            await astra.queues.remove_member(queue.id, agents[1].extension or "")
        with pytest.raises(BadRequestError) as unknown:
            await astra.queues.add_member(queue.id, user_id="no-such-user")
        assert unknown.value.error == "invalid_user"
    else:
        await astra.queues.add_member(queue.id, extension=agents[1].extension or "")
        members = await astra.queues.list_members(queue.id)
        assert [m.user_id for m in members] == [agents[0].id, agents[1].id]
        assert await astra.queues.remove_member(queue.id, agents[1].extension or "") is None
    assert await astra.queues.remove_member_by_user(queue.id, user_id=agents[0].id) is None
    assert await astra.queues.delete(queue.id) is None
    with pytest.raises(NotFoundError) as gone:
        await astra.queues.get(queue.id)
    assert not isinstance(gone.value, RouteNotFoundError)
    for agent in agents:
        await astra.users.delete(agent.id)


async def test_queue_settings_the_oss_server_ignores_are_reported(
    target: Target, astra: AsyncAstradial
) -> None:
    n = uniq()
    kwargs = {
        "number": str(5100 + n),
        "name": "Overflow",
        "timeout_destination_type": "queue",
        "timeout_destination": "5001",
    }
    if target.oss:
        with pytest.warns(IgnoredFieldWarning) as caught:
            queue = await astra.queues.create(**kwargs)  # type: ignore[arg-type]
        assert {w.message.field for w in caught.list} == {  # type: ignore[union-attr]
            "timeout_destination_type",
            "timeout_destination",
        }
        assert queue.timeout_destination_type == "hangup"  # the server's default
        # ... and `update` stores them there: no warning, the values come back.
        with warnings.catch_warnings():
            warnings.simplefilter("error", IgnoredFieldWarning)
            stored = await astra.queues.update(
                queue.id, timeout_destination_type="queue", timeout_destination="5001"
            )
        assert (stored.timeout_destination_type, stored.timeout_destination) == ("queue", "5001")
    else:
        queue = await astra.queues.create(**kwargs)  # type: ignore[arg-type]
        assert queue.timeout_destination == "5001"
    await astra.queues.delete(queue.id)


# -- IVRs --------------------------------------------------------------------------------------


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
async def test_ivrs(target: Target, astra: AsyncAstradial) -> None:
    if target.oss:  # no IVR API on the open-source server: every call says so
        calls = [
            astra.ivrs.list().collect(),
            astra.ivrs.get("i1"),
            astra.ivrs.create(name="Main", extension="6100"),
            astra.ivrs.update("i1", name="x"),
            astra.ivrs.delete("i1"),
            astra.ivrs.replace_menu("i1", options=[]),
            astra.ivrs.generate_greeting("i1", text="Hello"),
            astra.ivrs.publish("i1"),
        ]
        for call in calls:
            with pytest.raises(RouteNotFoundError):
                await call
        with pytest.raises(RouteNotFoundError):
            async with astra.ivrs.greeting_audio("i1"):
                pass
        return
    ivr = await astra.ivrs.create(name="Main", extension=str(6100 + uniq()))
    await astra.ivrs.replace_menu(
        ivr.id, options=[{"digit": "1", "action_type": "extension", "action_destination": "1001"}]
    )
    assert len((await astra.ivrs.get(ivr.id)).menu_options or []) == 1
    await astra.ivrs.generate_greeting(ivr.id, text="Hello")
    async with astra.ivrs.greeting_audio(ivr.id) as stream:
        assert (await stream.read())[:4] == b"RIFF"
    assert (await astra.ivrs.publish(ivr.id)).success is True
    assert (await astra.ivrs.update(ivr.id, enable_direct_dial=True)).enable_direct_dial is True
    assert ivr.id in {i.id async for i in astra.ivrs.list()}
    assert await astra.ivrs.delete(ivr.id) is None


# -- calls -------------------------------------------------------------------------------------


@covers(
    "astradial",
    "calls.list",
    "calls.history",
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
async def test_calls(
    target: Target, astra: AsyncAstradial, astra_jwt: AsyncAstradial, tmp_path: Path
) -> None:
    seeded = target.sim.config.astradial_calls
    calls = [c async for c in astra.calls.list(page_size=7)]
    assert len(calls) == seeded
    assert all(c.status is not None for c in calls)  # OSS: read from `disposition`
    page = await astra.calls.history(page=1, per_page=10)
    assert (len(page.items or []), page.total, page.has_more) == (10, seeded, True)
    # The open-source server counts its own (empty) call_records table, not the CDRs.
    assert (await astra.calls.count()).total == (0 if target.oss else seeded)
    assert (await astra.calls.stats()).total_calls == seeded  # OSS: from `totals`
    answered = next(c for c in calls if c.recording_url)
    # The OSS server serves recordings to a JWT only: log in with email and password.
    path = await astra_jwt.calls.download_recording(str(answered.id), tmp_path / "call.wav")
    assert path.stat().st_size == target.sim.config.astradial_recording_size
    state = astradial_state(target.sim)
    linked = next(c["linkedid"] for c in state.calls if str(c["id"]) == str(answered.id))
    assert (await astra.calls.journey(linked)).linkedid == linked
    if target.oss:
        assert (await astra.calls.journey("no-such-call")).status == "missed"
    else:
        with pytest.raises(NotFoundError):
            await astra.calls.journey("no-such-call")
    await astra.calls.click_to_call(from_="1001", to="1002")
    await astra.calls.originate_to_ai(to="9944421125", wss_url="wss://bot.example/ws")
    live = await astra.calls.live()
    await astra.calls.transfer(channel_id=live[-1].channel_id or "", destination="1002")
    await astra.calls.hangup_channel(channel_id=live[-1].channel_id or "")
    assert len(await astra.calls.live()) == len(live) - 1
