"""Correct against both Astradial servers (issue 10), with respx: one test per point.

The documented hosted API and the open-source server name some settings differently, lack
some routes, and answer some shapes differently; none of it may be silently lost.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import respx

from audian_async import (
    APIResponseValidationError,
    AsyncAstradial,
    AsyncPaginator,
    AuthenticationError,
    IgnoredFieldWarning,
    NotFoundError,
    RouteNotFoundError,
)
from audian_async.astradial import (
    Call,
    CallStats,
    QueueMember,
    QueueMemberBatch,
    User,
    UserRole,
)
from tests.helpers import ASTRADIAL_ROOT as ROOT
from tests.helpers import body_of

ORG_KEY = "org_" + "1" * 32
ORG_SECRET = "as_" + "2" * 48


def jwt(**claims: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'HS256'})}.{part({'iat': now, 'exp': now + 86400, **claims})}.sig"


# -- 1. no silent loss -------------------------------------------------------------------------


async def test_queue_settings_go_under_both_spellings(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    oss_queue = {"id": "q1", "number": "5001", "strategy": "linear", "music_on_hold": "jazz"}
    create = api.post("/queues").respond(201, json=oss_queue)
    update = api.put("/queues/q1").respond(200, json=oss_queue)
    queue = await astra.queues.create(
        number="5001", name="Sales", ring_strategy="linear", moh_class="jazz"
    )
    assert body_of(create) == {
        "number": "5001",
        "name": "Sales",
        "ring_strategy": "linear",
        "strategy": "linear",
        "moh_class": "jazz",
        "music_on_hold": "jazz",
    }
    assert (queue.ring_strategy, queue.moh_class) == ("linear", "jazz")  # read under both
    await astra.queues.update("q1", ring_strategy="linear")
    assert body_of(update) == {"ring_strategy": "linear", "strategy": "linear"}
    # A name the caller sends explicitly is left alone.
    await astra.queues.update("q1", moh_class="jazz", extra_body={"music_on_hold": "rock"})
    assert body_of(update) == {"moh_class": "jazz", "music_on_hold": "rock"}


async def test_a_setting_the_server_ignored_is_a_warning_not_a_quiet_success(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    # What the open-source server answers to the documented names: its defaults.
    api.post("/queues").respond(
        201,
        json={
            "id": "q1",
            "strategy": "ringall",
            "music_on_hold": "default",
            "timeout_destination_type": "hangup",
        },
    )
    with pytest.warns(IgnoredFieldWarning) as caught:
        await astra.queues.create(
            number="5001", name="Q", ring_strategy="linear", timeout_destination_type="queue"
        )
    found = {(w.message.field, w.message.sent, w.message.answered) for w in caught.list}  # type: ignore[union-attr]
    assert found == {
        ("ring_strategy", "linear", "ringall"),
        ("timeout_destination_type", "queue", "hangup"),
    }
    assert "queues.create" in str(caught.list[0].message)


async def test_user_fields_the_open_source_server_drops_are_reported(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    api.post("/users").respond(
        201,
        json={
            "id": "u1",
            "ring_target": "ext",
            "phone_number": None,
            "recording_enabled": True,
            "sip_password": "abcdefghjkmn",
        },
    )
    with pytest.warns(IgnoredFieldWarning) as caught:
        await astra.users.create(
            extension="1099",
            email="a@example.com",
            ring_target="phone",
            phone_number="+919944421125",
            outbound_did="+918065978015",
            call_recording=False,
        )
    fields = {w.message.field for w in caught.list}  # type: ignore[union-attr]
    assert fields == {"ring_target", "phone_number", "outbound_did", "call_recording"}
    assert all("abcdefghjkmn" not in str(w.message) for w in caught.list)


async def test_an_answer_that_echoes_less_is_not_accused(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    # `sip` and `ext` are the same ring target; keys absent from the answer say nothing.
    api.post("/users").respond(201, json={"id": "u1", "ring_target": "ext"})
    user = await astra.users.create(extension="1099", email="a@example.com", ring_target="sip")
    assert user.id == "u1"


# -- 2. missing operations and first-class arguments -------------------------------------------


async def test_new_operations_and_arguments(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    api.get("/users/u1").respond(200, json={"id": "u1", "extension": "1001"})
    api.get("/queues/q1").respond(200, json={"id": "q1", "members": [{"user_id": "u1"}]})
    dids = api.post("/dids").respond(201, json={"id": "d1", "number": "+918065970123"})
    api.get("/dids/d1").respond(200, json={"id": "d1"})
    api.delete("/dids/d1").respond(204)
    routing = api.put("/dids/d1/routing").respond(
        200, json={"id": "d1", "routing_type": "queue", "routing_destination": "5001"}
    )
    history = api.get("/calls/history").respond(
        200,
        json={
            "items": [{"id": 1, "disposition": "BUSY"}],
            "total": 1,
            "page": 1,
            "pages": 1,
            "hasMore": False,
        },
    )
    members = api.post("/queues/q1/members").respond(201, json={"id": "m1", "user_id": "u1"})
    transfer = api.post("/calls/transfer").respond(200, json={"success": True})

    assert (await astra.users.get("u1")).extension == "1001"
    assert [m.user_id for m in (await astra.queues.get("q1")).members or []] == ["u1"]
    await astra.dids.create(
        number="+918065970123", routing_type="extension", routing_destination="1001"
    )
    assert body_of(dids)["number"] == "+918065970123"
    assert (await astra.dids.get("d1")).id == "d1"
    await astra.dids.set_routing("d1", routing_type="queue", routing_destination="5001")
    assert body_of(routing) == {"routing_type": "queue", "routing_destination": "5001"}
    assert await astra.dids.delete("d1") is None
    page = await astra.calls.history(page=1, per_page=10, direction="inbound")
    assert dict(history.calls.last.request.url.params) == {
        "page": "1",
        "limit": "10",
        "direction": "inbound",
    }
    assert page.has_more is False and page.items is not None and page.items[0].status == "BUSY"
    await astra.queues.add_member("q1", user_id="u1", penalty=2)
    assert body_of(members) == {"user_id": "u1", "penalty": 2}
    await astra.calls.transfer(
        channel_id="PJSIP/1001-1", destination="1002", destination_type="queue"
    )
    assert body_of(transfer) == {
        "channel_id": "PJSIP/1001-1",
        "call_id": "PJSIP/1001-1",
        "destination": "1002",
        "destination_type": "queue",
    }


@pytest.mark.parametrize("resource", ["users", "dids", "queues", "ivrs"])
async def test_every_list_is_an_async_paginator(
    astra: AsyncAstradial, api: respx.MockRouter, resource: str
) -> None:
    route = api.get(f"/{resource}").respond(200, json=[{"id": "a"}, {"id": "b"}])
    listing = getattr(astra, resource).list()
    assert isinstance(listing, AsyncPaginator)
    assert route.call_count == 0  # lazy
    assert [item.id async for item in listing] == ["a", "b"]
    assert (await getattr(astra, resource).list().first()).id == "a"
    assert [i.id for i in await getattr(astra, resource).list(max_items=1).collect()] == ["a"]
    assert [len(p.items) async for p in getattr(astra, resource).list().pages()] == [2]


# -- 3. a route the server does not have -------------------------------------------------------


async def test_unknown_route_is_a_distinct_not_found(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    api.get("/ivrs").respond(
        404,
        json={
            "error": "Not Found",
            "message": "Endpoint GET /api/v1/ivrs not found",
            "documentation": "/api",
        },
    )
    api.get("/users/gone").respond(404, json={"error": "User not found"})
    with pytest.raises(RouteNotFoundError) as route:
        await astra.ivrs.list().collect()
    assert isinstance(route.value, NotFoundError) and route.value.status_code == 404
    with pytest.raises(NotFoundError) as record:
        await astra.users.get("gone")
    assert not isinstance(record.value, RouteNotFoundError)


# -- 5. result models match the wire -----------------------------------------------------------


def test_models_read_the_open_source_shapes() -> None:
    member = QueueMember.from_dict(
        {"id": "m1", "user_id": "u1", "added_at": "2026-03-01T00:00:00.000Z", "ring_inuse": False}
    )
    assert member.created_at == "2026-03-01T00:00:00.000Z" and member.extra == {}
    assert Call.from_dict({"id": 1, "disposition": "ANSWERED"}).status == "ANSWERED"
    stats = CallStats.from_dict({"weekly": [], "totals": {"total_calls": 4, "answered": 3}})
    assert (stats.total_calls, stats.answered, stats.totals and stats.totals.total_calls) == (
        4,
        3,
        4,
    )
    flat = CallStats.from_dict({"total_calls": 5, "totals": {"total_calls": 9}})
    assert flat.total_calls == 5  # the top level wins


async def test_batch_member_add_has_its_own_result_type(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    api.post("/queues/q1/members").respond(
        201,
        json={
            "created": [{"id": "m1", "user_id": "u1", "added_at": "2026-03-01T00:00:00.000Z"}],
            "skipped": [{"user_id": "u2", "reason": "already_member"}],
        },
    )
    batch = await astra.queues.add_member("q1", user_ids=["u1", "u2"])
    assert isinstance(batch, QueueMemberBatch)
    assert batch.created[0].user_id == "u1" and batch.created[0].created_at is not None
    assert batch.skipped == [{"user_id": "u2", "reason": "already_member"}]


async def test_update_with_a_fetched_model_never_sends_server_owned_fields(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    api.get("/queues/q1").respond(
        200,
        json={
            "id": "q1",
            "org_id": "o1",
            "name": "Sales",
            "members": [{"id": "m1", "user_id": "u1"}],
            "createdAt": "2026-03-01T00:00:00.000Z",
            "updatedAt": "2026-03-01T00:00:00.000Z",
        },
    )
    update = api.put("/queues/q1").respond(200, json={"id": "q1", "name": "Sales 2"})
    queue = await astra.queues.get("q1")
    await astra.queues.update(queue.id, queue, name="Sales 2")
    assert body_of(update) == {"name": "Sales 2"}
    user = User.from_dict({"id": "u1", "sip_password": "plaintext!", "extension": "1001"})
    assert user.to_write_dict() == {"extension": "1001"}


# -- 6. roles ----------------------------------------------------------------------------------


def test_roles_are_the_ones_both_servers_accept() -> None:
    assert [r.value for r in UserRole] == ["admin", "supervisor", "agent", "user"]


# -- org key + secret login --------------------------------------------------------------------


async def test_org_key_and_secret_log_in_for_a_bearer_jwt(api: respx.MockRouter) -> None:
    token = jwt(orgId="org-1")
    login = api.post("/auth/login").respond(
        200,
        json={
            "token": token,
            "token_type": "Bearer",
            "expires_in": "24h",
            "organization": {"id": "org-1", "name": "Org", "api_key": ORG_KEY},
        },
    )
    users = api.get("/users").respond(200, json=[])
    async with AsyncAstradial(base_url=ROOT, api_key=ORG_KEY, api_secret=ORG_SECRET) as astra:
        assert astra.auth_mode == "org_login"
        assert ORG_SECRET not in repr(astra) and ORG_KEY not in repr(astra)
        assert (await astra.authenticate()).account_id == "org-1"
        await astra.users.list().collect()
        await astra.users.list().collect()
    assert login.call_count == 1
    assert body_of(login) == {"api_key": ORG_KEY, "api_secret": ORG_SECRET}
    sent = users.calls.last.request.headers
    assert sent["authorization"] == f"Bearer {token}" and "x-api-key" not in sent


async def test_org_login_refused_names_no_secret(api: respx.MockRouter) -> None:
    api.post("/auth/login").respond(401, json={"error": "Invalid credentials", "echo": ORG_SECRET})
    async with AsyncAstradial(base_url=ROOT, api_key=ORG_KEY, api_secret=ORG_SECRET) as astra:
        with pytest.raises(AuthenticationError, match="Invalid credentials") as info:
            await astra.users.list().collect()
    assert ORG_SECRET not in str(info.value) and ORG_SECRET not in repr(info.value.body)


def test_org_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTRADIAL_API_KEY", ORG_KEY)
    monkeypatch.setenv("ASTRADIAL_API_SECRET", ORG_SECRET)
    monkeypatch.delenv("ASTRADIAL_EMAIL", raising=False)
    monkeypatch.delenv("ASTRADIAL_PASSWORD", raising=False)
    assert AsyncAstradial(base_url=ROOT).auth_mode == "org_login"
    with pytest.raises(TypeError):
        AsyncAstradial(base_url=ROOT, api_secret=ORG_SECRET, email="a@b.c", password="pw")


async def test_raw_responses_of_checked_writes(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    api.post("/queues").respond(
        201, json={"id": "q1", "strategy": "linear"}, headers={"x-request-id": "r-9"}
    )
    raw = await astra.with_raw_response.queues.create(
        number="5001", name="Q", ring_strategy="linear"
    )
    assert (raw.status_code, raw.request_id, raw.parsed.ring_strategy) == (201, "r-9", "linear")
    api.put("/queues/q1").respond(200, json=["not", "a", "queue"])
    with pytest.raises(APIResponseValidationError, match=r"queues\.update"):
        await astra.queues.update("q1", name="Q")


def test_an_ignored_secret_field_is_reported_without_its_value() -> None:
    from audian_async._echo import check_echo as _check_echo

    with pytest.warns(IgnoredFieldWarning) as caught:
        _check_echo(
            "users.update",
            {"password": "hunter2-secret"},
            {"id": "u1", "password": "other-secret"},
            {"password": ("password", {}, False)},
            User,
        )
    text = str(caught.list[0].message)
    assert "password" in text and "hunter2-secret" not in text and "other-secret" not in text
