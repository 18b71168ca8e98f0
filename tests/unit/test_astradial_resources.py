"""Astradial endpoints (respx): request shapes, documented and OSS response shapes, streaming."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from audian_async import (
    APIConnectionError,
    AsyncAstradial,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from audian_async.astradial import (
    CallDirection,
    CallDisposition,
    IvrActionType,
    MenuOption,
    QueueMember,
    QueueMemberBatch,
)
from tests.helpers import ASTRADIAL_KEY as KEY
from tests.helpers import ASTRADIAL_ROOT as ROOT
from tests.helpers import body_of


def call_row(n: int) -> dict[str, Any]:
    return {
        "id": str(n),
        "from_number": "+919944421125",
        "to_number": "1001",
        "direction": "inbound",
        "status": "ANSWERED",
        "duration": 30 + n,
        "talk_time": 25,
        "started_at": "2026-03-01T10:00:00Z",
        "ended_at": "2026-03-01T10:00:30Z",
        "recording_url": f"/api/v1/calls/{n}/recording",
    }


def oss_call_row(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "calldate": "2026-03-01T10:00:00.000Z",
        "src": "9944421125",
        "dst": "1001",
        "disposition": "NO ANSWER",
        "billsec": 0,
        "duration": 12,
        "linkedid": f"1711234567.{n}",
        "uniqueid": f"1711234567.{n}",
        "recordingfile": None,
        "hangup_cause": "NO_ANSWER",
    }


# -- calls ------------------------------------------------------------------------------------


async def test_call_history_pages_through_the_documented_envelope(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    rows = [call_row(n) for n in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        return httpx.Response(
            200,
            json={
                "data": rows[offset : offset + limit],
                "total": 5,
                "page": offset // limit + 1,
                "pages": 3,
            },
        )

    route = api.get("/calls").mock(side_effect=page)
    calls = [
        c
        async for c in astra.calls.list(
            direction="inbound",
            disposition=CallDisposition.ANSWERED,
            from_="+919944421125",
            date_from=date(2026, 3, 1),
            date_to="2026-03-31",
            page_size=2,
        )
    ]
    assert [c.id for c in calls] == ["0", "1", "2", "3", "4"]
    assert calls[0].direction is CallDirection.INBOUND
    assert calls[0].status is CallDisposition.ANSWERED
    assert calls[0].recording_url == "/api/v1/calls/0/recording"
    assert route.call_count == 3
    params = route.calls[0].request.url.params
    assert dict(params) == {
        "direction": "inbound",
        "disposition": "ANSWERED",
        "from": "+919944421125",
        "date_from": "2026-03-01",
        "date_to": "2026-03-31",
        "limit": "2",
        "offset": "0",
    }
    assert [c.request.url.params["offset"] for c in route.calls] == ["0", "2", "4"]


async def test_call_history_understands_the_oss_envelope(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        data = [oss_call_row(n) for n in range(offset, min(offset + limit, 3))]
        return httpx.Response(
            200,
            json={
                "data": data,
                "pagination": {
                    "total": 3,
                    "limit": limit,
                    "offset": offset,
                    "has_more": offset + limit < 3,
                },
            },
        )

    route = api.get("/calls").mock(side_effect=page)
    pages = [p async for p in astra.calls.list(page_size=2).pages()]
    assert [len(p.items) for p in pages] == [2, 1]
    assert pages[0].total == 3
    call = pages[0].items[0]
    assert call.id == 0  # an integer CDR id on the OSS server
    assert call.disposition is CallDisposition.NO_ANSWER
    assert call.status is CallDisposition.NO_ANSWER  # read from `disposition`
    assert call.linkedid == "1711234567.0"
    assert call.hangup_cause == "NO_ANSWER" and call.extra == {}
    assert route.call_count == 2
    # max_items stops early, without fetching more pages.
    route.reset()
    assert len([c async for c in astra.calls.list(page_size=2, max_items=1)]) == 1
    assert route.call_count == 1


async def test_empty_call_history(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    api.get("/calls").respond(200, json={"data": [], "total": 0, "page": 1, "pages": 0})
    assert await astra.calls.list().first() is None


async def test_live_calls_bare_array_or_oss_object(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    live = {
        "channel_id": "PJSIP/1001-00000001",
        "from": "1001",
        "to": "9944421125",
        "direction": "outbound",
        "status": "answered",
        "duration": 42,
    }
    api.get("/calls/live").mock(
        side_effect=[
            httpx.Response(200, json=[live]),
            httpx.Response(
                200,
                json={
                    "count": 1,
                    "calls": [{**live, "status": "Up", "uniqueid": "1.1", "bridge_id": "b"}],
                },
            ),
        ]
    )
    documented = await astra.calls.live()
    oss = await astra.calls.live()
    assert documented[0].channel_id == oss[0].channel_id == "PJSIP/1001-00000001"
    assert documented[0].from_ == "1001"
    assert oss[0].status == "Up"
    assert oss[0].extra == {"bridge_id": "b"}


async def test_count_and_stats_in_both_shapes(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    count = api.get("/calls/count").respond(
        200,
        json={
            "total": 10,
            "active": 1,
            "completed": 8,
            "failed": 1,
            "average_duration": "35.5000",
            "total_duration": 355,
        },
    )
    result = await astra.calls.count(direction="inbound", to="1001")
    assert (result.total, result.average_duration) == (10, "35.5000")
    assert dict(count.calls[0].request.url.params) == {"direction": "inbound", "to": "1001"}

    weekly = [{"date": "2026-03-01", "inbound": 3, "outbound": 2}]
    api.get("/calls/stats").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "total_calls": 5,
                    "inbound": 3,
                    "outbound": 2,
                    "internal": 0,
                    "answered": 4,
                    "missed": 1,
                    "avg_duration": 31.2,
                    "weekly": weekly,
                },
            ),
            httpx.Response(
                200,
                json={
                    "weekly": weekly,
                    "totals": {
                        "total_calls": 0,
                        "inbound": None,
                        "outbound": None,
                        "answered": None,
                        "missed": None,
                        "avg_duration": None,
                    },
                },
            ),
        ]
    )
    flat = await astra.calls.stats()
    nested = await astra.calls.stats()
    assert (flat.total_calls, flat.avg_duration) == (5, 31.2)
    assert flat.weekly is not None and flat.weekly[0].date == "2026-03-01"
    assert nested.totals is not None and nested.totals.total_calls == 0
    assert nested.totals.inbound is None


async def test_journey_encodes_the_linked_id(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    route = api.get(url__regex=r".*/journey$").respond(
        200,
        json={
            "linkedid": "PJSIP/1001-00000001",
            "caller": "9944421125",
            "destination": "5001",
            "status": "answered",
            "total_duration": 95,
            "answered_by": "1001",
            "steps": [
                {"time": "10:00:00", "action": "Queue 5001", "from": "9944421125", "to": "5001"},
                {"time": "10:00:05", "action": "Dial 1001", "duration": 90, "billsec": 85},
            ],
        },
    )
    journey = await astra.calls.journey("PJSIP/1001-00000001")
    raw_path = route.calls[0].request.url.raw_path
    assert raw_path == b"/api/v1/calls/PJSIP%2F1001-00000001/journey"
    assert journey.steps is not None and journey.steps[1].billsec == 85
    assert journey.steps[0].from_ == "9944421125"


async def test_click_to_call_and_originate(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    c2c = api.post("/calls/click-to-call").mock(
        side_effect=[
            httpx.Response(200, json={"status": "success", "message": "Call initiated"}),
            httpx.Response(
                200,
                json={
                    "success": True,
                    "message": "Call initiated successfully",
                    "call": {"from": "1001", "to": "5001", "context": "org-1-internal"},
                },
            ),
        ]
    )
    documented = await astra.calls.click_to_call(
        from_="1001",
        to="9944421125",
        to_type="external",
        caller_id="+918065978015",
        answer_timeout=20,
        variables={"crm_id": "42"},
    )
    assert body_of(c2c) == {
        "from": "1001",
        "to": "9944421125",
        "to_type": "external",
        "caller_id": "+918065978015",
        "timeout": 20,
        "variables": {"crm_id": "42"},
    }
    assert documented.status == "success"
    oss = await astra.calls.click_to_call(from_="1001", to="5001", to_type="queue")
    assert oss.success is True and oss.call is not None and oss.call["context"] == "org-1-internal"

    ai = api.post("/calls/originate-to-ai").respond(
        200,
        json={
            "status": "success",
            "message": "Call originated",
            "channel_id": "PJSIP/trunk-00000005",
        },
    )
    result = await astra.calls.originate_to_ai(
        to="9944421125", wss_url="wss://gateway.astradial.com/ws/o/b?key=k", ai_agent_app="ai_agent"
    )
    assert result.channel_id == "PJSIP/trunk-00000005"
    assert body_of(ai) == {
        "to": "9944421125",
        "wss_url": "wss://gateway.astradial.com/ws/o/b?key=k",
        "ai_agent_app": "ai_agent",
    }
    with pytest.raises(ValidationError) as info:
        await astra.calls.click_to_call(from_="", to="1")
    assert (info.value.field, info.value.rule) == ("from", "minLength")


async def test_transfer_and_hangup(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    transfer = api.post("/calls/transfer").respond(
        200, json={"success": True, "channel_id": "PJSIP/1001-00000001", "destination": "1002"}
    )
    await astra.calls.transfer(
        call_id="PJSIP/1001-00000001", destination="1002", transfer_type="blind"
    )
    # The channel goes under both names: `call_id` (documented) and `channel_id` (OSS).
    assert body_of(transfer) == {
        "call_id": "PJSIP/1001-00000001",
        "channel_id": "PJSIP/1001-00000001",
        "destination": "1002",
        "type": "blind",
    }
    result = await astra.calls.transfer(
        channel_id="PJSIP/1001-00000001", destination="5001", destination_type="queue"
    )
    assert result.success is True
    assert body_of(transfer) == {
        "channel_id": "PJSIP/1001-00000001",
        "call_id": "PJSIP/1001-00000001",
        "destination": "5001",
        "destination_type": "queue",
    }
    with pytest.raises(ValidationError) as info:
        await astra.calls.transfer(destination="1002")
    assert info.value.field == "call_id" and "channel_id" in str(info.value)
    assert transfer.call_count == 2

    hangup = api.post("/calls/hangup-channel").respond(
        200, json={"success": True, "channel_id": "PJSIP/1001-00000001"}
    )
    done = await astra.calls.hangup_channel(channel_id="PJSIP/1001-00000001", reason="normal")
    assert done.channel_id == "PJSIP/1001-00000001"
    assert body_of(hangup) == {"channel_id": "PJSIP/1001-00000001", "reason": "normal"}


# -- streaming --------------------------------------------------------------------------------

CHUNK = 64 * 1024
CHUNKS = 80  # 5 MiB


def wav_body(produced: list[int], *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        yield b"RIFF" + b"\0" * (CHUNK - 4)
        produced.append(1)
        for i in range(1, CHUNKS):
            if fail_after is not None and i >= fail_after:
                raise httpx.ReadError("connection reset by peer")
            yield bytes([i % 256]) * CHUNK
            produced.append(1)

    return gen()


def expected_digest() -> str:
    h = hashlib.sha256(b"RIFF" + b"\0" * (CHUNK - 4))
    for i in range(1, CHUNKS):
        h.update(bytes([i % 256]) * CHUNK)
    return h.hexdigest()


async def test_recording_streams_in_chunks(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    produced: list[int] = []
    route = api.get("/calls/123/recording").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"content-type": "audio/wav"}, content=wav_body(produced)
        )
    )
    seen = 0
    chunks = 0
    most_ahead = 0
    digest = hashlib.sha256()
    async with astra.calls.recording("123") as stream:
        assert stream.status == 200
        assert stream.headers["content-type"] == "audio/wav"
        async for chunk in stream.iter_bytes():
            seen += len(chunk)
            chunks += 1
            digest.update(chunk)
            # The producer is never far ahead of the consumer: nothing is buffered whole.
            most_ahead = max(most_ahead, len(produced) * CHUNK - seen)
    assert seen == CHUNK * CHUNKS
    assert chunks > 1
    assert most_ahead <= 2 * CHUNK
    assert digest.hexdigest() == expected_digest()
    assert route.calls[0].request.headers["x-api-key"] == KEY


async def test_download_recording_writes_a_file(
    astra: AsyncAstradial, api: respx.MockRouter, tmp_path: Path
) -> None:
    produced: list[int] = []
    api.get("/calls/123/recording").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"content-type": "audio/wav"}, content=wav_body(produced)
        )
    )
    target = tmp_path / "call-123.wav"
    written = await astra.calls.download_recording("123", target)
    assert written == target
    assert target.stat().st_size == CHUNK * CHUNKS
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected_digest()
    assert list(tmp_path.iterdir()) == [target]


async def test_download_errors_leave_no_file(
    astra: AsyncAstradial, api: respx.MockRouter, tmp_path: Path, sleeps: list[float]
) -> None:
    api.get("/calls/404/recording").respond(404, json={"error": "Recording not found"})
    with pytest.raises(NotFoundError, match="Recording not found"):
        await astra.calls.download_recording("404", tmp_path / "missing.wav")
    produced: list[int] = []
    route = api.get("/calls/7/recording").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"content-type": "audio/wav"}, content=wav_body(produced, fail_after=5)
        )
    )
    with pytest.raises(APIConnectionError):
        await astra.calls.download_recording("7", tmp_path / "cut.wav")
    assert route.call_count == 1  # not retried once the body was being consumed
    assert list(tmp_path.iterdir()) == []


async def test_greeting_audio_stream_and_download(
    astra: AsyncAstradial, api: respx.MockRouter, tmp_path: Path
) -> None:
    produced: list[int] = []
    route = api.get("/ivrs/i1/greeting-audio").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"content-type": "audio/wav"}, content=wav_body(produced)
        )
    )
    async with astra.ivrs.greeting_audio("i1", extra_query={"v": "2"}) as stream:
        total = sum([len(c) async for c in stream.iter_bytes()])
    assert total == CHUNK * CHUNKS
    assert route.calls[0].request.url.params["v"] == "2"
    path = await astra.ivrs.download_greeting_audio("i1", str(tmp_path / "greeting.wav"))
    assert path.stat().st_size == CHUNK * CHUNKS


async def test_recording_with_password_login_uses_the_bearer_token(api: respx.MockRouter) -> None:
    from tests.helpers import make_jwt

    token = make_jwt(86400, orgId="org-1")
    api.post("/auth/user-login").respond(200, json={"token": token, "user": {"id": "u"}})
    route = api.get("/calls/1/recording").respond(200, content=b"RIFFdata")
    astra = AsyncAstradial(base_url=ROOT, email="a@example.com", password="pw")
    async with astra, astra.calls.recording("1") as stream:
        assert await stream.read() == b"RIFFdata"
    assert route.calls[0].request.headers["authorization"] == f"Bearer {token}"


# -- users ------------------------------------------------------------------------------------


async def test_users_crud(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    user = {"id": "u1", "extension": "1099", "email": "alice@example.com", "role": "agent"}
    create = api.post("/users").respond(
        201,
        json={
            **user,
            "ring_target": "sip",
            "call_recording": True,
            "created_at": "2026-03-01T00:00:00Z",
        },
    )
    created = await astra.users.create(
        extension="1099",
        full_name="Alice Agent",
        email="alice@example.com",
        role="agent",
        ring_target="sip",
        call_recording=True,
    )
    assert created.id == "u1"
    assert body_of(create) == {
        "extension": "1099",
        "full_name": "Alice Agent",
        "email": "alice@example.com",
        "role": "agent",
        "ring_target": "sip",
        "call_recording": True,
        "recording_enabled": True,  # the open-source server's name, sent too
    }
    update = api.put("/users/u1").respond(
        200, json={**user, "ring_target": "phone", "phone_number": "+919944421125"}
    )
    updated = await astra.users.update(
        "u1", ring_target="phone", phone_number="+919944421125", extra_body={"status": "active"}
    )
    assert updated.ring_target == "phone"
    assert body_of(update) == {
        "ring_target": "phone",
        "phone_number": "+919944421125",
        "status": "active",
    }


async def test_update_with_a_fetched_model_sends_no_server_owned_fields(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    fetched = {
        "id": "u1",
        "org_id": "org-1",
        "username": "org_1099",
        "extension": "1099",
        "email": "alice@example.com",
        "role": "agent",
        "ring_target": "ext",
        "recording_enabled": True,
        "asterisk_endpoint": "org_1099",
        "sip_password": "Sx9-secret-pw",
        "createdAt": "2026-03-01T00:00:00.000Z",
        "updatedAt": "2026-03-01T00:00:00.000Z",
        "brand_new": 1,
    }
    api.post("/users").respond(201, json=fetched)
    update = api.put("/users/u1").respond(200, json={**fetched, "full_name": "Alice B."})
    user = await astra.users.create(extension="1099", email="alice@example.com")
    await astra.users.update("u1", user, full_name="Alice B.")
    sent = body_of(update)
    assert sent["full_name"] == "Alice B." and sent["brand_new"] == 1  # unknown fields kept
    for owned in ("id", "org_id", "asterisk_endpoint", "sip_password", "created_at", "createdAt"):
        assert owned not in sent, owned
    assert "updated_at" not in sent and "updatedAt" not in sent
    assert "Sx9-secret-pw" not in str(update.calls.last.request.content)


async def test_duplicate_user_is_a_conflict(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    api.post("/users").respond(409, json={"error": "Extension already exists"})
    with pytest.raises(ConflictError, match="Extension already exists"):
        await astra.users.create(extension="1001", email="a@example.com")


# -- DIDs -------------------------------------------------------------------------------------


async def test_dids(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    did = {
        "id": "b71f116a-2b3c-11f1-9598-00505661ece1",
        "number": "+918065978015",
        "routing_type": "ivr",
        "routing_destination": "3f1c",
        "status": "active",
        "pool_status": "assigned",
        "monthly_price": "499.00",
        "createdAt": "2026-03-01T00:00:00.000Z",
    }
    api.get("/dids").respond(200, json=[did])
    dids = await astra.dids.list().collect()
    assert dids[0].monthly_price == "499.00"
    assert dids[0].created_at == "2026-03-01T00:00:00.000Z"
    update = api.put("/dids/b71f116a-2b3c-11f1-9598-00505661ece1").respond(200, json=did)
    await astra.dids.update(did["id"], routing_type="queue", routing_destination="5001")
    assert body_of(update) == {"routing_type": "queue", "routing_destination": "5001"}
    request = api.post("/did-pool/p1/request").respond(200, json={"success": True})
    release = api.post("/did-pool/p1/release").respond(204)
    assert (await astra.dids.request_from_pool("p1")).success is True
    assert await astra.dids.release_to_pool("p1") is None  # 204, no body
    assert request.call_count == release.call_count == 1


# -- queues -----------------------------------------------------------------------------------


async def test_queues_and_members(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    create = api.post("/queues").respond(
        201, json={"id": "q1", "number": "5001", "name": "Support", "strategy": "ringall"}
    )
    queue = await astra.queues.create(
        number="5001",
        name="Support",
        ring_strategy="ringall",
        ring_timeout=15,
        timeout_destination_type="voicemail",
        timeout_destination="1001",
        moh_class="default",
        extra_body={"strategy": "ringall", "music_on_hold": "default"},
    )
    assert queue.ring_strategy == "ringall"
    assert body_of(create) == {
        "number": "5001",
        "name": "Support",
        "ring_strategy": "ringall",
        "timeout": 15,
        "timeout_destination_type": "voicemail",
        "timeout_destination": "1001",
        "moh_class": "default",
        "strategy": "ringall",
        "music_on_hold": "default",
    }
    update = api.put("/queues/q1").respond(200, json={"id": "q1", "timeout": 60})
    assert (await astra.queues.update("q1", ring_timeout=60)).timeout == 60
    assert body_of(update) == {"timeout": 60}
    api.get("/queues").respond(
        200,
        json=[
            {
                "id": "q1",
                "members": [{"user_id": "u1", "penalty": 0, "user": {"extension": "1001"}}],
            }
        ],
    )
    queues = await astra.queues.list().collect()
    assert queues[0].members is not None and queues[0].members[0].user == {"extension": "1001"}

    api.get("/queues/q1/members").respond(200, json=[{"extension": "1001", "penalty": 1}])
    assert (await astra.queues.list_members("q1"))[0].penalty == 1
    add = api.post("/queues/q1/members").mock(
        side_effect=[
            httpx.Response(201, json={"extension": "1001", "penalty": 0}),
            httpx.Response(201, json={"id": 7, "user_id": "u1", "queue_id": "q1"}),
            httpx.Response(201, json={"created": [{"user_id": "u2"}], "skipped": []}),
            httpx.Response(409, json={"error": "already_member", "skipped": ["u1"]}),
        ]
    )
    await astra.queues.add_member("q1", extension="1001", penalty=0)
    assert body_of(add) == {"extension": "1001", "penalty": 0}
    oss = await astra.queues.add_member("q1", user_id="u1")
    assert isinstance(oss, QueueMember) and oss.user_id == "u1"
    assert body_of(add) == {"user_id": "u1"}
    batch = await astra.queues.add_member("q1", user_ids=["u2"])
    assert body_of(add) == {"user_ids": ["u2"]}
    assert isinstance(batch, QueueMemberBatch)
    assert [m.user_id for m in batch.created] == ["u2"] and batch.skipped == []
    with pytest.raises(ConflictError) as info:
        await astra.queues.add_member("q1", user_id="u1")
    assert info.value.details == {"skipped": ["u1"]}
    with pytest.raises(ValidationError, match="extension or user_id or user_ids"):
        await astra.queues.add_member("q1", penalty=1)
    assert add.call_count == 4

    by_ext = api.delete("/queues/q1/members/1001").respond(204)
    by_user = api.delete("/queues/q1/members").respond(204)
    assert await astra.queues.remove_member("q1", "1001") is None
    assert await astra.queues.remove_member_by_user("q1", user_id="u1") is None
    assert by_ext.call_count == 1
    assert by_user.calls[0].request.url.params["userId"] == "u1"


async def test_queue_create_requires_name_and_number(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    route = api.post("/queues").respond(201, json={"id": "q"})
    with pytest.raises(ValidationError) as info:
        await astra.queues.create(number="50a1", name="Support")
    assert (info.value.field, info.value.rule) == ("number", "pattern")
    assert route.call_count == 0


# -- IVRs -------------------------------------------------------------------------------------

IVR = {
    "id": "3f1c",
    "org_id": "org-1",
    "name": "Main menu",
    "extension": "6000",
    "greeting_prompt": None,
    "greeting_text": None,
    "greeting_language": "en-IN",
    "greeting_voice": "en-IN-Wavenet-D",
    "timeout": 10,
    "max_retries": 3,
    "enable_direct_dial": False,
    "status": "active",
    "createdAt": "2026-04-20T09:00:00.000Z",
    "updatedAt": "2026-04-20T09:00:00.000Z",
}


async def test_ivr_lifecycle(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    create = api.post("/ivrs").respond(201, json=IVR)
    ivr = await astra.ivrs.create(name="Main menu", extension="6000", input_timeout=10)
    assert body_of(create) == {"name": "Main menu", "extension": "6000", "timeout": 10}
    assert ivr.created_at == "2026-04-20T09:00:00.000Z"
    api.get("/ivrs").respond(200, json=[IVR])
    assert [i.id for i in await astra.ivrs.list().collect()] == ["3f1c"]
    options = [
        {"digit": "1", "action_type": "queue", "action_destination": "5001", "order": 1},
        {"digit": "2", "action_type": "ai_agent", "action_destination": "wss://bot", "order": 2},
        {"digit": "#", "action_type": "hangup", "action_destination": None, "order": 3},
    ]
    api.get("/ivrs/3f1c").respond(200, json={**IVR, "menuOptions": options})
    got = await astra.ivrs.get("3f1c")
    assert got.menu_options is not None
    assert got.menu_options[0].action_type is IvrActionType.QUEUE
    assert got.menu_options[2].action_destination is None

    menu = api.put("/ivrs/3f1c/menu").mock(
        side_effect=[
            httpx.Response(200, json={**IVR, "menuOptions": options}),
            httpx.Response(200, json={"success": True, "message": "Menu saved"}),
        ]
    )
    replaced = await astra.ivrs.replace_menu("3f1c", options=options)
    assert replaced.id == "3f1c" and len(replaced.menu_options or []) == 3
    assert replaced.extra["name"] == "Main menu"
    await astra.ivrs.replace_menu(
        "3f1c",
        options=[
            MenuOption(digit="1", action_type="queue", action_destination="5001", order=1),
            {"digit": "#", "action_type": "hangup", "action_destination": None},
        ],
    )
    assert body_of(menu, 1) == {
        "options": [
            {"digit": "1", "action_type": "queue", "action_destination": "5001", "order": 1},
            {"digit": "#", "action_type": "hangup", "action_destination": None},
        ]
    }
    with pytest.raises(ValidationError) as info:
        await astra.ivrs.replace_menu("3f1c", options=[{"digit": "1"}])
    assert (info.value.field, info.value.rule) == ("options.0.action_type", "required")

    update = api.put("/ivrs/3f1c").respond(200, json={**IVR, "name": "Renamed"})
    assert (await astra.ivrs.update("3f1c", name="Renamed")).name == "Renamed"
    assert body_of(update) == {"name": "Renamed"}

    greeting = api.post("/ivrs/3f1c/generate-greeting").respond(
        200,
        json={
            "success": True,
            "greeting_prompt": "greeting_ivr_3f1c",
            "language": "hi-IN",
            "voice": "hi-IN-Wavenet-A",
        },
    )
    result = await astra.ivrs.generate_greeting(
        "3f1c", text="Namaste", language="hi-IN", voice="hi-IN-Wavenet-A"
    )
    assert result.greeting_prompt == "greeting_ivr_3f1c"
    assert body_of(greeting) == {"text": "Namaste", "language": "hi-IN", "voice": "hi-IN-Wavenet-A"}

    publish = api.post("/ivrs/3f1c/publish").respond(
        200, json={"success": True, "message": "Configuration deployed for organization Acme"}
    )
    assert (await astra.ivrs.publish("3f1c")).message.startswith("Configuration deployed")  # type: ignore[union-attr]
    assert publish.call_count == 1


async def test_ivr_publish_is_retried_on_503(
    astra: AsyncAstradial, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.post("/ivrs/3f1c/publish").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"success": True})]
    )
    assert (await astra.ivrs.publish("3f1c")).success is True
    assert route.call_count == 2  # publish is idempotent: retried like a GET


async def test_raw_responses(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    api.get("/users").respond(200, json=[{"id": "u1"}], headers={"x-request-id": "r-1"})
    pages = [page async for page in astra.with_raw_response.users.list().pages()]
    assert len(pages) == 1
    assert pages[0].response.status_code == 200
    assert pages[0].request_id == "r-1"
    assert pages[0].items[0].id == "u1"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "error", "message": "Failed to originate call: extension not registered"},
        {"success": False, "message": "Failed to originate call: extension not registered"},
    ],
)
async def test_a_failure_answered_with_200_is_raised_not_returned(
    astra: AsyncAstradial, api: respx.MockRouter, body: dict[str, Any]
) -> None:
    from audian_async import APIStatusError

    api.post("/calls/click-to-call").respond(200, json=body)
    with pytest.raises(APIStatusError) as info:
        await astra.calls.click_to_call(from_="1001", to="1002")
    assert info.value.status_code == 200
    assert info.value.server_message == "Failed to originate call: extension not registered"
    assert "extension not registered" in str(info.value)


@pytest.mark.parametrize("how", ["recording", "download_recording", "greeting_audio"])
async def test_streamed_error_bodies_are_parsed_like_any_error(
    astra: AsyncAstradial, api: respx.MockRouter, tmp_path: Path, how: str
) -> None:
    """A streamed download's error answer reads like a non-streamed one: code and message."""
    body = {"error": "Recording not found", "message": "No recording for call 9"}
    api.get("/calls/9/recording").respond(404, json=body, headers={"x-request-id": "rq-9"})
    api.get("/ivrs/9/greeting-audio").respond(404, json=body, headers={"x-request-id": "rq-9"})
    with pytest.raises(NotFoundError) as info:
        if how == "recording":
            async with astra.calls.recording("9") as stream:
                await stream.read()
        elif how == "download_recording":
            await astra.calls.download_recording("9", tmp_path / "r.wav")
        else:
            async with astra.ivrs.greeting_audio("9") as stream:
                await stream.read()
    err = info.value
    assert err.error == "Recording not found"
    assert err.server_message == "No recording for call 9"
    assert err.body == body
    assert err.request_id == "rq-9"
    # the message is the server's, not its JSON text
    assert str(err).startswith("404 Recording not found: No recording for call 9 [")
