"""The open-source server's own operations (respx): request shapes, and the answers the real
server gave (``tests/simulator/recordings/astradial_oss``, placeholders filled in) read back.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import respx

from audian_async import (
    APIStatusError,
    AsyncAstradial,
    IgnoredFieldWarning,
    NotFoundError,
    ValidationError,
)
from audian_async.astradial import ApiKey, OrgUserRole, Trunk, TrunkType, Webhook
from tests.helpers import ASTRADIAL_KEY as KEY
from tests.helpers import ASTRADIAL_ROOT as ROOT
from tests.helpers import body_of

RECORDINGS = Path(__file__).parents[1] / "simulator" / "recordings" / "astradial_oss"


def recorded(name: str, note: str) -> tuple[dict[str, Any], int, Any]:
    """The request, status and answer of one recorded exchange, placeholders filled in."""
    for exchange in json.loads((RECORDINGS / f"{name}.json").read_text()):
        if exchange["note"] == note:
            text = json.dumps([exchange["request"], exchange["status"], exchange["body"]])
            text = re.sub(
                r"<id:(\d+)>", lambda m: f"00000000-0000-4000-8000-{int(m[1]):012d}", text
            )
            text = text.replace("<time>", "2026-12-07T17:35:00.000Z").replace(
                "<date>", "2026-12-07"
            )
            text = text.replace("<prefix>", "org_mxdjz9ke_").replace("<ms>", "1765000000000")
            text = text.replace('"<seconds>"', "12.5").replace("<host>", "10.0.0.2")
            text = text.replace("<hostname>", "pbx").replace("<port>", "5038")
            pieces = text.split("<secret>")
            text = pieces[0] + "".join(
                f"secret-value-{n}{piece}" for n, piece in enumerate(pieces[1:], 1)
            )
            request, status, body = json.loads(text)
            return request, status, body
    raise LookupError(note)


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# -- trunks and outbound routes ------------------------------------------------------------------


async def test_trunk_create_sends_the_fields_and_masks_the_password(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    request, status, body = recorded("trunks", "create an outbound trunk")
    route = api.post("/trunks").respond(status, json=body)
    trunk = await astra.trunks.create(
        name="Carrier", host="sip.example.net", username="acct1", password="trunk-pass-1"
    )
    assert body_of(route) == {
        "name": "Carrier",
        "host": "sip.example.net",
        "username": "acct1",
        "password": "trunk-pass-1",
    }
    assert isinstance(trunk, Trunk) and trunk.trunk_type is TrunkType.OUTBOUND
    assert (trunk.port, trunk.max_channels, trunk.configuration) == (5060, 10, {})
    assert trunk.password and trunk.password not in repr(trunk)
    assert trunk.created_at == "2026-12-07T17:35:00.000Z"
    assert request["body"]["name"] == "Carrier"


async def test_trunk_validation_before_sending(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    route = api.post("/trunks")
    with pytest.raises(ValidationError) as short:
        await astra.trunks.create(name="x")
    assert (short.value.field, short.value.rule) == ("name", "minLength")
    with pytest.raises(ValidationError) as port:
        await astra.trunks.update("t1", port=70000)
    assert port.value.field == "port"
    assert not route.called


async def test_trunk_list_get_update_delete(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    _, _, listed = recorded("trunks", "list")
    api.get("/trunks").respond(200, json=listed)
    _, _, updated = recorded("trunks", "update")
    put = api.put(f"/trunks/{uid(1)}").respond(200, json=updated)
    api.delete(f"/trunks/{uid(3)}").respond(204)
    _, status, missing = recorded("trunks", "get unknown")
    api.get(f"/trunks/{uid(5)}").respond(status, json=missing)
    trunks = [t async for t in astra.trunks.list()]
    assert {t.trunk_type for t in trunks} == {
        TrunkType.OUTBOUND,
        TrunkType.INBOUND,
        TrunkType.PEER2PEER,
    }
    inbound = next(t for t in trunks if t.trunk_type is TrunkType.INBOUND)
    assert (inbound.host, inbound.port) == (None, None)
    changed = await astra.trunks.update(uid(1), name="Carrier A", max_channels=20)
    assert body_of(put) == {"name": "Carrier A", "max_channels": 20}
    assert changed.name == "Carrier A"
    assert await astra.trunks.delete(uid(3)) is None
    with pytest.raises(NotFoundError) as gone:
        await astra.trunks.get(uid(5))
    assert gone.value.body == {"error": "Trunk not found"}


async def test_outbound_route_carries_its_trunk(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    _, status, created = recorded("outbound_routes", "create")
    route = api.post("/outbound-routes").respond(status, json=created)
    _, _, listed = recorded("outbound_routes", "list (ordered by priority, trunk summary)")
    api.get("/outbound-routes").respond(200, json=listed)
    made = await astra.outbound_routes.create(
        name="Mobiles",
        trunk_id=uid(1),
        dial_pattern="_9XXXXXXXXX",
        strip_digits=1,
        prepend_digits="+91",
        priority=5,
    )
    assert body_of(route)["dial_pattern"] == "_9XXXXXXXXX"
    assert made.trunk is not None and made.trunk.password and made.trunk.password not in repr(made)
    assert (made.route_type, made.priority) == ("custom", 5)
    summaries = [r.trunk async for r in astra.outbound_routes.list()]
    assert all(t is not None and t.password is None and t.asterisk_peer_name for t in summaries)
    with pytest.raises(ValidationError) as missing:
        await astra.outbound_routes.create(name="No pattern", trunk_id=uid(1), dial_pattern="")
    assert (missing.value.field, missing.value.rule) == ("dial_pattern", "minLength")


# -- webhooks and API keys -----------------------------------------------------------------------


async def test_webhook_secret_is_masked_and_update_only_settings_warn(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    _, status, created = recorded("webhooks", "create (no secret: the server makes one)")
    route = api.post("/webhooks").respond(status, json={**created, "active": True})
    with pytest.warns(IgnoredFieldWarning) as caught:
        hook = await astra.webhooks.create(
            url="https://hooks.example.com/pbx", events=["call.answered"], active=False
        )
    assert [w.message.field for w in caught.list] == ["active"]  # type: ignore[union-attr]
    assert body_of(route) == {
        "url": "https://hooks.example.com/pbx",
        "events": ["call.answered"],
        "active": False,
    }
    assert isinstance(hook, Webhook) and hook.secret and hook.secret not in repr(hook)
    with pytest.raises(ValidationError):
        await astra.webhooks.create(url="https://hooks.example.com/pbx", events=[])


async def test_api_key_secret_is_shown_once_and_masked(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    _, status, created = recorded("api_keys", "create (the secret is shown once)")
    api.post("/api-keys").respond(status, json=created)
    _, _, listed = recorded("api_keys", "list")
    api.get("/api-keys").respond(200, json=listed)
    _, _, updated = recorded("api_keys", "update")
    api.put(f"/api-keys/{uid(2)}").respond(200, json=updated)
    _, _, revoked = recorded("api_keys", "revoke")
    api.delete(f"/api-keys/{uid(1)}").respond(200, json=revoked)
    key = await astra.api_keys.create(name="CRM sync")
    assert isinstance(key, ApiKey) and key.api_key and key.api_secret
    shown = repr(key)
    assert key.api_key not in shown and key.api_secret not in shown
    assert key.message and "cannot be retrieved" in key.message
    listing = await astra.api_keys.list()
    assert "calls.hold" in listing.available_permissions
    assert all(k.api_secret is None and k.api_key for k in listing.keys)
    renamed = await astra.api_keys.update(uid(2), name="Reader 2")
    assert renamed.api_secret_hash and renamed.api_secret_hash not in repr(renamed)
    assert (await astra.api_keys.revoke(uid(1))).message == "API key revoked"


# -- DID pool, recordings, media, organisation users, server -------------------------------------


async def test_did_pool_requests(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    _, _, available = recorded("did_pool", "available numbers")
    api.get("/did-pool/available").respond(200, json=available)
    _, _, mine = recorded("did_pool", "my numbers: one pending")
    api.get("/did-pool/my").respond(200, json=mine)
    _, status, denied = recorded("did_pool", "cancel again")
    api.post(f"/did-pool/{uid(1)}/cancel-request").respond(status, json=denied)
    numbers = [n async for n in astra.dids.list_available()]
    assert [(n.number, n.monthly_price) for n in numbers] == [
        ("+918065970001", 499),
        ("+918065970002", 499),
    ]
    pool = await astra.dids.my_pool_numbers()
    assert pool.assigned == [] and pool.pending[0].requested_at
    with pytest.raises(APIStatusError) as refused:
        await astra.dids.cancel_pool_request(uid(1))
    assert refused.value.status_code == 403


async def test_recording_control_and_deletion(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    control = api.post("/calls/1765000000.1/recording").respond(
        200,
        json={"call_id": "1765000000.1", "recording_enabled": True, "message": "Recording started"},
    )
    _, _, deleted = recorded("flavour", "delete a fixture row's recording")
    api.delete("/calls/1/recording").respond(200, json=deleted)
    state = await astra.calls.set_recording("1765000000.1", enabled=True)
    assert body_of(control) == {"enabled": True} and state.recording_enabled is True
    gone = await astra.calls.delete_recording("1")
    assert (gone.success, gone.filename, gone.deleted_from) == (
        True,
        "rec-1.wav",
        {"local": False, "gcs": False},
    )


async def test_media_and_queue_music(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    _, _, classes = recorded("media", "music-on-hold classes")
    api.get("/moh").respond(200, json=classes)
    _, _, greeting = recorded("media", "create a greeting")
    made = api.post("/greetings").respond(200, json=greeting)
    _, _, queue = recorded("media", "set the queue's music")
    music = api.put(f"/queues/{uid(3)}/music").respond(200, json=queue)
    assert (await astra.media.list_music_classes()).system_classes == ["default"]
    stored = await astra.media.create_greeting(name="Welcome", text="Welcome to Example")
    assert body_of(made) == {"name": "Welcome", "text": "Welcome to Example"}
    assert stored.status == "active" and stored.created_at
    q = await astra.queues.set_music(uid(3), music_on_hold="jazz")
    assert body_of(music) == {"music_on_hold": "jazz"} and q.moh_class == "jazz"
    assert q.extra["asterisk_queue_name"] == "org_mxdjz9ke_5101"  # the other 40 columns kept


async def test_org_users(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    _, _, listed = recorded("org_users", "list")
    api.get("/org-users").respond(200, json=listed)
    _, _, roles = recorded("org_users", "roles")
    api.get("/roles").respond(200, json=roles)
    _, _, me = recorded("org_users", "my profile with the organisation key (no user)")
    api.get("/org-users/me/profile").respond(200, json=me)
    _, status, changed = recorded("org_users", "change role")
    role = api.put(f"/org-users/{uid(3)}/role").respond(status, json=changed)
    _, status, unknown = recorded("org_users", "update an unknown user")
    api.put(f"/org-users/{uid(5)}").respond(status, json=unknown)
    users = await astra.org_users.list()
    assert [u.role for u in users] == [OrgUserRole.OWNER, OrgUserRole.MANAGER, OrgUserRole.AGENT]
    assert [r.level for r in await astra.org_users.list_roles()] == [4, 3, 2, 1]
    profile = await astra.org_users.me()
    assert (profile.role, profile.id) == ("org_admin", None)
    result = await astra.org_users.change_role(uid(3), role=OrgUserRole.MANAGER)
    assert body_of(role) == {"role": "manager"}
    assert (result.role, result.previous_role) == ("manager", "agent")
    with pytest.raises(APIStatusError) as missing:  # 200 {"error": "User not found"}
        await astra.org_users.update(uid(5), name="Nobody")
    assert missing.value.body == {"error": "User not found"}


async def test_health_is_beside_the_api_prefix(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    _, _, health = recorded("media", "health (outside /api/v1, no credentials)")
    route = api.get(url=ROOT + "/health").respond(200, json=health)
    _, _, info = recorded("media", "server info (no credentials)")
    info_route = api.get("/server-info").respond(200, json=info)
    result = await astra.server.health()
    assert route.called and result.status == "healthy" and result.active_calls == 0
    assert result.services == {
        "database": "connected",
        "eventListener": "running",
        "ari": "disconnected",
        "ami": "disconnected",
    }
    assert "x-api-key" not in route.calls.last.request.headers  # no credentials needed
    assert (await astra.server.info()).sip_port == 5060
    assert "x-api-key" not in info_route.calls.last.request.headers


async def test_health_keeps_a_base_url_path() -> None:
    with respx.mock(assert_all_called=False) as proxy:
        route = proxy.get("https://proxy.example.com/pbx/health").respond(
            200, json={"status": "ok"}
        )
        await _health_through(route)


async def _health_through(route: respx.Route) -> None:
    async with AsyncAstradial(base_url="https://proxy.example.com/pbx", api_key=KEY) as astra:
        assert (await astra.server.health()).status == "ok"
    assert route.called


# -- the two settings the open-source server drops on create -------------------------------------


async def test_a_dropped_phone_number_is_reported_on_that_server_only(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    _, status, created = recorded(
        "flavour", "create a user with phone_number (not stored; left out of the reply)"
    )
    assert "phone_number" not in created and "asterisk_endpoint" in created
    api.post("/users").respond(status, json=created)
    with pytest.warns(IgnoredFieldWarning) as caught:
        await astra.users.create(
            extension="1101",
            email="u1101@example.com",
            username="flav_1101",
            password="user-pass-1",
            phone_number="+919900000011",
        )
    [warning] = caught.list
    assert (warning.message.field, warning.message.answered) == ("phone_number", None)  # type: ignore[union-attr]
    # Another server that simply echoes less (no open-source mark) is not accused.
    api.post("/users").respond(201, json={"id": "u2", "extension": "1102"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredFieldWarning)
        await astra.users.create(
            extension="1102", email="b@example.com", phone_number="+919900000012"
        )


async def test_a_dropped_timeout_destination_is_reported_and_update_stores_it(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    _, status, created = recorded(
        "flavour", "create a queue with a timeout destination (not stored; left out of the reply)"
    )
    api.post("/queues").respond(status, json=created)
    with pytest.warns(IgnoredFieldWarning) as caught:
        queue = await astra.queues.create(
            name="Flavour Queue",
            number="5201",
            timeout_destination_type="extension",
            timeout_destination="1101",
        )
    fields = {w.message.field for w in caught.list}  # type: ignore[union-attr]
    assert fields == {"timeout_destination_type", "timeout_destination"}
    _, _, updated = recorded("flavour", "update the timeout destination (stored)")
    api.put(f"/queues/{queue.id}").respond(200, json=updated)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredFieldWarning)
        stored = await astra.queues.update(
            queue.id, timeout_destination_type="extension", timeout_destination="1101"
        )
    assert (stored.timeout_destination_type, stored.timeout_destination) == ("extension", "1101")
    api.post("/queues").respond(201, json={"id": "q9", "number": "5202"})  # echoes less
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredFieldWarning)
        await astra.queues.create(name="Q", number="5202", timeout_destination="1101")
