"""The open-source server's own operations (``x-astradial-oss``), through the SDK, over loopback.

Each scenario runs against both simulator flavours (the documented flavour serves these routes
too, in the open-source server's shapes) and over both transports, like
``test_astradial_operations``; the operations each flavour served are recorded for
``test_zz_coverage``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

from audian_async import (
    APIStatusError,
    AsyncAstradial,
    AuthenticationError,
    BadRequestError,
    IgnoredFieldWarning,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from audian_async.testing import RunningServer, Simulator, SimulatorConfig, create_app, serve
from audian_async.testing._astradial import astradial_state
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY

from .coverage_registry import covers, record_served
from .test_astradial_operations import FLAVOURS, TRANSPORTS, Target

_numbers = itertools.count(1)


def uniq() -> int:
    """A number no other scenario of this module uses (the simulators are shared)."""
    return next(_numbers)


@pytest.fixture(scope="module")
def oss_sims() -> dict[str, Simulator]:
    return {
        flavour: create_app(
            SimulatorConfig(
                seed=9,
                bucket_size=None,
                strict_requests=True,
                astradial_oss_shapes=flavour == "oss",
            )
        )
        for flavour in FLAVOURS
    }


@pytest.fixture(scope="module")
def oss_servers(oss_sims: dict[str, Simulator]) -> Iterator[dict[str, RunningServer]]:
    with serve(oss_sims["docs"]) as docs, serve(oss_sims["oss"]) as oss:
        yield {"docs": docs, "oss": oss}
    for flavour, sim in oss_sims.items():
        record_served(f"astradial@{flavour}", sim)


@pytest.fixture(params=[(f, t) for f in FLAVOURS for t in TRANSPORTS], ids=lambda p: "-".join(p))
def target(
    request: pytest.FixtureRequest,
    oss_sims: dict[str, Simulator],
    oss_servers: dict[str, RunningServer],
) -> Iterator[Target]:
    flavour, transport = request.param
    sim = oss_sims[flavour]
    before, requests_before = len(sim.contract_violations), len(sim.request_violations)
    yield Target(flavour, transport, sim, oss_servers[flavour].base_url)
    assert sim.contract_violations[before:] == []
    assert sim.request_violations[requests_before:] == []


@pytest.fixture
async def astra(target: Target) -> AsyncIterator[AsyncAstradial]:
    async with target.client(api_key=DEFAULT_ASTRADIAL_API_KEY) as client:
        yield client


# -- trunks and outbound routes ------------------------------------------------------------------


@covers(
    "astradial",
    "trunks.list",
    "trunks.create",
    "trunks.get",
    "trunks.update",
    "trunks.delete",
)
async def test_trunks(target: Target, astra: AsyncAstradial) -> None:
    n = uniq()
    with pytest.raises(ValidationError) as invalid:  # caught before sending
        await astra.trunks.create(name="x", host="h.example", username="u", password="p")
    assert invalid.value.field == "name"
    with pytest.raises(BadRequestError) as refused:
        await astra.trunks.create(name=f"Carrier {n}", host="sip.example.net")
    assert "Username and password" in str(refused.value.message)
    trunk = await astra.trunks.create(
        name=f"Carrier {n}", host="sip.example.net", username="acct", password="trunk-secret"
    )
    assert (trunk.trunk_type, trunk.port, trunk.transport) == ("outbound", 5060, "udp")
    assert trunk.password == "trunk-secret" and "trunk-secret" not in repr(trunk)
    assert trunk.asterisk_peer_name and trunk.created_at
    assert (await astra.trunks.get(trunk.id)).name == f"Carrier {n}"
    updated = await astra.trunks.update(trunk.id, max_channels=20, name=f"Carrier {n}b")
    assert (updated.max_channels, updated.name) == (20, f"Carrier {n}b")
    assert trunk.id in {t.id async for t in astra.trunks.list()}
    assert await astra.trunks.delete(trunk.id) is None
    with pytest.raises(NotFoundError):
        await astra.trunks.get(trunk.id)


async def test_trunk_settings_applied_by_update_only_are_reported(astra: AsyncAstradial) -> None:
    n = uniq()
    with pytest.warns(IgnoredFieldWarning) as caught:
        trunk = await astra.trunks.create(
            name=f"Peer {n}", host="10.0.0.5", trunk_type="peer2peer", max_channels=30
        )
    assert [w.message.field for w in caught] == ["max_channels"]  # type: ignore[union-attr]
    assert trunk.max_channels == 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredFieldWarning)
        assert (await astra.trunks.update(trunk.id, max_channels=30)).max_channels == 30
    await astra.trunks.delete(trunk.id)


@covers(
    "astradial",
    "outbound_routes.list",
    "outbound_routes.create",
    "outbound_routes.get",
    "outbound_routes.update",
    "outbound_routes.delete",
)
async def test_outbound_routes(target: Target, astra: AsyncAstradial) -> None:
    n = uniq()
    trunk = await astra.trunks.create(
        name=f"Route trunk {n}", host="sip.example.net", username="a", password="route-secret"
    )
    with pytest.raises(NotFoundError):
        await astra.outbound_routes.create(
            name="Mobiles", trunk_id=target.sim.config.astradial_org_api_key, dial_pattern="_9X."
        )
    route = await astra.outbound_routes.create(
        name=f"Mobiles {n}", trunk_id=trunk.id, dial_pattern="_9XXXXXXXXX", priority=5
    )
    assert (route.route_type, route.strip_digits, route.status) == ("custom", 0, "active")
    assert route.trunk is not None and route.trunk.password == "route-secret"
    assert "route-secret" not in repr(route)
    listed = [r async for r in astra.outbound_routes.list()]
    mine = next(r for r in listed if r.id == route.id)
    assert mine.trunk is not None and mine.trunk.password is None  # the listing's summary
    changed = await astra.outbound_routes.update(route.id, priority=20, status="inactive")
    assert (changed.priority, changed.status) == (20, "inactive")
    assert (await astra.outbound_routes.get(route.id)).dial_pattern == "_9XXXXXXXXX"
    assert await astra.outbound_routes.delete(route.id) is None
    with pytest.raises(NotFoundError):
        await astra.outbound_routes.delete(route.id)
    await astra.trunks.delete(trunk.id)


# -- webhooks and API keys -----------------------------------------------------------------------


@covers(
    "astradial",
    "webhooks.list",
    "webhooks.create",
    "webhooks.get",
    "webhooks.update",
    "webhooks.delete",
)
async def test_webhooks(astra: AsyncAstradial) -> None:
    hook = await astra.webhooks.create(
        url="https://hooks.example.com/pbx", events=["call.answered", "call.ended"]
    )
    assert hook.secret and hook.secret not in repr(hook)  # made by the server, masked
    assert (hook.active, hook.retry_count) == (True, 3)
    with pytest.raises(InternalServerError):  # the model refuses an unknown event
        await astra.webhooks.create(url="https://hooks.example.com/x", events=["call.teleported"])
    off = await astra.webhooks.update(hook.id, active=False, retry_count=5)
    assert (off.active, off.retry_count) == (False, 5)
    assert (await astra.webhooks.get(hook.id)).events == ["call.answered", "call.ended"]
    assert hook.id in {w.id async for w in astra.webhooks.list()}
    assert await astra.webhooks.delete(hook.id) is None
    with pytest.raises(NotFoundError):
        await astra.webhooks.get(hook.id)


@covers("astradial", "api_keys.list", "api_keys.create", "api_keys.update", "api_keys.revoke")
async def test_api_keys(target: Target, astra: AsyncAstradial) -> None:
    n = uniq()
    created = await astra.api_keys.create(name=f"CRM sync {n}", permissions=["calls.read"])
    assert created.api_key and created.api_key.startswith("ak_")
    assert created.api_secret and created.api_secret.startswith("as_")
    assert created.api_key not in repr(created) and created.api_secret not in repr(created)
    listing = await astra.api_keys.list()
    assert "calls.read" in listing.available_permissions
    assert created.id in {k.id for k in listing.keys}
    assert all(k.api_secret is None for k in listing.keys)  # shown once
    async with target.client(api_key=created.api_key) as fresh:
        assert await fresh.org_users.list_roles()
    renamed = await astra.api_keys.update(created.id, name=f"CRM {n}")
    assert renamed.name == f"CRM {n}" and renamed.status == "active"
    assert (await astra.api_keys.revoke(created.id)).message == "API key revoked"
    async with target.client(api_key=created.api_key) as revoked:
        with pytest.raises(AuthenticationError):
            await revoked.org_users.list_roles()
    listed = {k.id: k.status for k in (await astra.api_keys.list()).keys}
    assert listed[created.id] == "revoked"


# -- DID pool, recordings, media -----------------------------------------------------------------


@covers("astradial", "dids.list_available", "dids.my_pool_numbers", "dids.cancel_pool_request")
async def test_did_pool_requests(target: Target, astra: AsyncAstradial) -> None:
    available = [d async for d in astra.dids.list_available()]
    assert available and all(d.number for d in available)
    if not target.oss:  # the documented pool assigns at once; nothing stays pending
        mine = await astra.dids.my_pool_numbers()
        assert mine.pending == []
        with pytest.raises(PermissionDeniedError):  # nothing of ours is pending
            await astra.dids.cancel_pool_request(available[0].id)
        return
    number = available[0]
    await astra.dids.request_from_pool(number.id)
    mine = await astra.dids.my_pool_numbers()
    assert [p.id for p in mine.pending] == [number.id] and mine.pending[0].requested_at
    assert number.id not in {d.id async for d in astra.dids.list_available()}
    assert (await astra.dids.cancel_pool_request(number.id)).message == "Request cancelled"
    with pytest.raises(PermissionDeniedError):
        await astra.dids.cancel_pool_request(number.id)
    assert number.id in {d.id async for d in astra.dids.list_available()}


@covers("astradial", "calls.set_recording", "calls.delete_recording")
async def test_recording_control(target: Target, astra: AsyncAstradial) -> None:
    state = astradial_state(target.sim)
    live = next(c for c in state.live if c["org_id"] == state.main_org_id)
    on = await astra.calls.set_recording(live["uniqueid"], enabled=True)
    assert (on.recording_enabled, on.message) == (True, "Recording started")
    assert (await astra.calls.set_recording(live["uniqueid"], enabled=False)).message == (
        "Recording stopped"
    )
    with pytest.raises(NotFoundError):
        await astra.calls.set_recording("1700000000.1", enabled=True)
    with state.lock:
        call = next(
            c
            for c in state.calls
            if c["org_id"] == state.main_org_id and c["has_recording"] and not c.get("kept")
        )
        call["kept"] = True  # one call per scenario
    deleted = await astra.calls.delete_recording(str(call["id"]))
    assert (
        deleted.success
        and deleted.filename
        and deleted.deleted_from
        == {
            "local": False,
            "gcs": False,
        }
    )
    with pytest.raises(NotFoundError) as again:
        await astra.calls.delete_recording(str(call["id"]))
    assert again.value.body == {"error": "No recording file associated with this call"}


@covers(
    "astradial",
    "media.list_music_classes",
    "media.list_greetings",
    "media.create_greeting",
    "queues.set_music",
)
async def test_media(astra: AsyncAstradial) -> None:
    classes = await astra.media.list_music_classes()
    assert classes.system_classes == ["default"] and classes.org_classes == []
    greeting = await astra.media.create_greeting(
        name="Welcome", text="Welcome to Example", language="en-IN"
    )
    assert (greeting.status, greeting.language) == ("active", "en-IN")
    assert greeting.id in {g.id async for g in astra.media.list_greetings()}
    queue = await astra.queues.list().first()
    assert queue is not None
    assert (await astra.queues.set_music(queue.id, music_on_hold="jazz")).moh_class == "jazz"
    with pytest.raises(NotFoundError):
        await astra.queues.set_music("no-such-queue", music_on_hold="jazz")


# -- organisation users and roles ----------------------------------------------------------------


@covers(
    "astradial",
    "org_users.list",
    "org_users.invite",
    "org_users.get",
    "org_users.update",
    "org_users.change_role",
    "org_users.delete",
    "org_users.me",
    "org_users.list_roles",
)
async def test_org_users(target: Target, astra: AsyncAstradial) -> None:
    n = uniq()
    roles = {r.role: r for r in await astra.org_users.list_roles()}
    assert list(roles) == ["owner", "admin", "manager", "agent"]
    assert "calls.delete_recording" in roles["admin"].permissions
    assert "calls.delete_recording" not in roles["manager"].permissions
    invited = await astra.org_users.invite(
        email=f"agent{n}@example.com", name=f"Asha {n}", extension="1002"
    )
    assert (invited.status, invited.role) == ("invited", "agent")
    with pytest.raises(InternalServerError):  # the unique email index, not a 409
        await astra.org_users.invite(email=f"agent{n}@example.com", name="Again")
    assert invited.id in {u.id for u in await astra.org_users.list()}
    assert (await astra.org_users.get(invited.id)).email == f"agent{n}@example.com"
    change = await astra.org_users.change_role(invited.id, role="manager")
    assert (change.role, change.previous_role) == ("manager", "agent")
    suspended = await astra.org_users.update(invited.id, status="suspended", extension="")
    assert (suspended.status, suspended.extension, suspended.role) == (
        "suspended",
        None,
        "manager",
    )
    with pytest.raises(BadRequestError):
        await astra.org_users.update(invited.id, extra_body={"role": "owner"})
    with pytest.raises(APIStatusError) as unknown:  # answered 200 {"error": ...}
        await astra.org_users.update("no-such-user", name="Nobody")
    assert unknown.value.body == {"error": "User not found"}
    assert (await astra.org_users.delete(invited.id)).success is True
    with pytest.raises(NotFoundError):
        await astra.org_users.get(invited.id)
    me = await astra.org_users.me()  # an API key: nobody signed in
    assert (me.role, me.id) == ("org_admin", None)
    config = target.sim.config
    async with target.client(
        email=config.astradial_email, password=config.astradial_password
    ) as person:
        profile = await person.org_users.me()
        assert profile.email == config.astradial_email and profile.role == "owner"
        assert "org.api_keys" in profile.permissions
        with pytest.raises(BadRequestError):
            await person.org_users.delete(str(profile.id))


# -- the server ----------------------------------------------------------------------------------


@covers("astradial", "server.health", "server.info")
async def test_server_health_and_info(target: Target, astra: AsyncAstradial) -> None:
    health = await astra.server.health()
    assert health.status == "healthy" and health.services == {
        "database": "connected",
        "eventListener": "running",
        "ari": "connected",
        "ami": "connected",
    }
    info = await astra.server.info()
    assert info.sip_port == 5060 and info.sip_host
    state = astradial_state(target.sim)
    with state.lock:
        state.pbx_up = False
    try:
        assert (await astra.server.health()).services["ami"] == "disconnected"  # type: ignore[index]
    finally:
        with state.lock:
            state.pbx_up = True
