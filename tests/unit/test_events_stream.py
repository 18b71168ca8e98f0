"""The event stream against an in-memory blackhole peer, on virtual time (trio MockClock).

Each failure mode of issue 22 has its test here: drops and refused upgrades (1), expired and
refused tokens (1, 2), the gap (3), the message bucket (4), a silent socket (5), slow
consumers (6), big messages (7), bad frames and closing (8).
"""

from __future__ import annotations

import json
import random
from typing import Any

import anyio
import pytest

from audian_async import (
    APIConnectionError,
    AsyncAudian,
    AuthenticationError,
    BadRequestError,
    CallEvent,
    Event,
    EventStreamError,
    Gap,
    ObjectEvent,
    SubscriptionError,
    ValidationError,
)
from audian_async._clock import LoopClock
from audian_async.events import Backoff, EventStream
from tests.fake_blackhole import FakeBlackhole
from tests.helpers import ACCOUNT, API_KEY, BASE
from tests.virtual import EPOCH, jwt, run_virtual

NO_JITTER = Backoff(initial=1.0, maximum=4.0, jitter=0.0)


@pytest.fixture(autouse=True, params=["schema", "whole"])
def frame_decoding(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: event frames decoded by schema (msgspec, the ``fast`` extra the
    tests install) and decoded whole (as without msgspec)."""
    from audian_async.events import _stream

    if request.param == "schema":
        assert _stream.schema_decoder() is not None, "msgspec is not installed"
    else:
        monkeypatch.setattr(_stream, "schema_decoder", lambda: None)
    return str(request.param)


def _client(server: FakeBlackhole, clock: LoopClock, **kw: Any) -> AsyncAudian:
    if "auth_token" not in kw:
        kw["api_key"] = API_KEY
    return AsyncAudian(base_url=BASE, transport=server.transport(), clock=clock, **kw)


async def _next(events: EventStream) -> Event | Gap:
    with anyio.fail_after(600):
        return await events.__anext__()


async def _until_subscribed(server: FakeBlackhole, sockets: int, bindings: int) -> None:
    """Wait (virtual time) until ``sockets`` sockets were opened and the last one holds
    ``bindings`` bindings."""
    with anyio.fail_after(600):
        while len(server.sockets) < sockets or len(server.sockets[-1].bindings) < bindings:
            await anyio.sleep(0.01)


def test_typed_events_one_binding_per_subscribe_and_the_derived_url() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            stream = audian.events.subscribe(
                "call.CHANNEL_CREATE.*", "object.doc_edited.user", "fax.status.*"
            )
            async with stream as events:
                assert server.urls == ["wss://api.audian.com:8443/v2/websocket"]
                assert "sec-websocket-protocol" not in server.headers_seen[0]
                subscribes = [m for m in server.messages if m["action"] == "subscribe"]
                # the first subscribe alone (it authenticates the socket), the rest pipelined
                assert subscribes[0]["data"] == {
                    "account_id": ACCOUNT,
                    "binding": "call.CHANNEL_CREATE.*",
                }
                assert sorted(m["data"]["binding"] for m in subscribes[1:]) == [
                    "fax.status.*",
                    "object.doc_edited.user",
                ]
                assert {m["data"]["account_id"] for m in subscribes} == {ACCOUNT}
                assert all(m["request_id"] and m["auth_token"] for m in subscribes)
                assert len({m["request_id"] for m in subscribes}) == 3
                assert events.account_id == ACCOUNT

                server.publish_call("CHANNEL_CREATE", "c1", **{"Custom-Field": {"X-Y": 1}})
                server.publish(
                    "object.doc_edited.user",
                    "doc_edited",
                    {"id": "u1", "type": "user", "account_id": ACCOUNT, "rev": "2-x"},
                )
                server.publish("fax.status.f1", "status", {"fax_id": "f1", "status": "sent"})
                call = await _next(events)
                assert isinstance(call, CallEvent)
                assert (call.name, call.binding, call.call_id) == (
                    "CHANNEL_CREATE",
                    "call.CHANNEL_CREATE.*",
                    "c1",
                )
                assert (call.event_name, call.direction, call.account_id) == (
                    "CHANNEL_CREATE",
                    "inbound",
                    "a" * 32,
                )
                assert (call.caller_id_name, call.caller_id_number) == ("Jane", "+15550001")
                assert (call.callee_id_name, call.callee_id_number) == ("Bob", "+15550002")
                assert call.data["custom_field"] == {"x_y": 1}  # every key kept, normalised
                assert call.routing_key == "call.CHANNEL_CREATE.c1"
                obj = await _next(events)
                assert isinstance(obj, ObjectEvent)
                assert (obj.action, obj.type, obj.id, obj.account_id) == (
                    "doc_edited",
                    "user",
                    "u1",
                    ACCOUNT,
                )
                assert obj.data["rev"] == "2-x"
                fax = await _next(events)
                assert type(fax) is Event
                assert (fax.name, fax.binding, dict(fax.data)) == (
                    "status",
                    "fax.status.*",
                    {"fax_id": "f1", "status": "sent"},
                )
                assert events.stats.received == events.stats.delivered == 3
            assert server.closed_ends and server.open_sockets == []

    run_virtual(main)


def test_events_url_and_for_account_view_subscribe_their_own() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        other = "b" * 32
        async with _client(
            server,
            clock,
            events_url="ws://10.0.0.5:5555/",
            default_headers={"Sec-WebSocket-Protocol": "chat", "X-Trace": "1"},
        ) as audian:
            view = audian.for_account(other)
            async with view.events.subscribe("call.*.*"):
                pass
            async with audian.events.subscribe("call.*.*", account_id="c" * 32):
                pass
        subscribes = [m["data"]["account_id"] for m in server.messages]
        assert subscribes == [other, "c" * 32]
        assert server.urls == ["ws://10.0.0.5:5555/", "ws://10.0.0.5:5555/"]
        # default headers go along, except a subprotocol (Kazoo answers any with 400)
        assert all(h["x-trace"] == "1" for h in server.headers_seen)
        assert not any("sec-websocket-protocol" in h for h in server.headers_seen)

    run_virtual(main)


def test_dropped_socket_reconnects_with_capped_backoff_through_refused_upgrades() -> None:
    """Failure mode 1: a drop (no close frame), then 429 (with Retry-After: 3), connection
    refused, 503, and more refusals: each retried, waits doubling from 1 s to the 4 s cap;
    the gap is yielded, typed, with its timing; the new socket has every binding again."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            stream = audian.events.subscribe(
                "call.CHANNEL_CREATE.*", "call.CHANNEL_DESTROY.*", backoff=NO_JITTER
            )
            async with stream as events:
                server.publish_call("CHANNEL_CREATE", "before")
                assert isinstance(await _next(events), CallEvent)
                server.refusals = [429, "refused", 503, "refused", "refused"]
                dropped_at = clock.now()
                server.drop_all()
                server.publish_call("CHANNEL_DESTROY", "lost")  # nobody holds the binding
                await _until_subscribed(server, 2, 2)
                server.publish_call("CHANNEL_DESTROY", "after")
                gap = await _next(events)
                assert isinstance(gap, Gap)
                assert gap.reconnected and gap.dropped == 0
                assert gap.attempts == 6
                assert "dropped" in (gap.reason or "")
                waited = gap.ended_at - gap.started_at
                # after the drop 1 s, then max(2, Retry-After 3), then 4 s (the cap) four
                # times, plus 6 fake upgrades of 1 ms each
                assert 20.0 <= waited < 20.1
                assert gap.started_at >= dropped_at
                after = await _next(events)
                assert isinstance(after, CallEvent) and after.call_id == "after"
                assert events.stats.reconnects == 1
                assert sorted(server.sockets[-1].bindings) == [
                    "call.CHANNEL_CREATE.*",
                    "call.CHANNEL_DESTROY.*",
                ]
        assert server.upgrades == 7

    run_virtual(main)


def test_backoff_is_jittered_and_capped() -> None:
    backoff = Backoff(initial=0.25, maximum=30.0, jitter=0.5)
    rng = random.Random(1)
    delays = [backoff.delay(n, rng) for n in range(1, 20)]
    assert all(0.125 <= d <= 0.25 for d in delays[:1])
    assert all(15.0 <= d <= 30.0 for d in delays[10:])
    assert len({round(d, 6) for d in delays[10:]}) > 1  # jittered, not one fixed value


def test_an_expired_token_is_replaced_single_flight_before_resubscribing() -> None:
    """Failure mode 2: the socket outlives its token (the server checks it on the first
    message only); after a drop the new socket takes a token valid now from the client's own
    credentials, the same exchange a REST call waiting at that moment shares."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock, token_lifetime=60)
        async with (
            _client(server, clock, refresh_margin=0) as audian,
            audian.events.subscribe("call.*.*", "object.*.user") as events,
        ):
            first_token = server.tokens_used[0]
            await anyio.sleep(300)  # the token expired long ago; the socket still works
            server.publish_call("CHANNEL_ANSWER", "c1")
            assert isinstance(await _next(events), CallEvent)
            assert server.kazoo.exchanges == 1
            async with anyio.create_task_group() as tg:
                tg.start_soon(audian.users.get, "u1")
                server.drop_all()
            await _until_subscribed(server, 2, 2)
            assert isinstance(await _next(events), Gap)
            assert server.kazoo.exchanges == 2  # one exchange for the REST call and socket
            second = server.sockets[1]
            assert second.received[0]["auth_token"] != first_token
            assert server.tokens_used[1] == second.received[0]["auth_token"]
            assert sorted(m["data"]["binding"] for m in second.received) == [
                "call.*.*",
                "object.*.user",
            ]

    run_virtual(main)


def test_a_refused_token_is_refreshed_once_then_authentication_error_from_the_iterator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="audian_async")

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            _client(server, clock) as audian,
            audian.events.subscribe("call.*.*") as events,
        ):
            # The server revokes the token: the next socket is refused, refreshed, accepted.
            server.revoked.add(server.tokens_used[0])
            server.drop_all()
            assert isinstance(await _next(events), Gap)
            assert server.token_refusals == 1
            assert server.kazoo.exchanges == 2
            # Now every token is refused: one refresh, then AuthenticationError.
            server.refuse_tokens = True
            server.drop_all()
            with pytest.raises(AuthenticationError) as info:
                await _next(events)
            assert info.value.status_code == 401
            assert server.token_refusals == 3
            assert server.kazoo.exchanges == 3
            assert server.tokens_refused  # the server's refusals named them
            for token in [*server.kazoo.valid, *server.tokens_refused]:
                assert token not in str(info.value)
                assert token not in repr(info.value)
                assert token not in (info.value.server_message or "")
                assert token not in caplog.text
            assert "failed to authenticate token ***" in str(info.value)
            assert "event socket lost" in caplog.text
            assert "resubscribed" in caplog.text

    run_virtual(main)


def test_a_fixed_auth_token_fails_at_once() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        token = jwt(int(EPOCH) + 10)  # never issued by this server: refused
        async with _client(server, clock, auth_token=token, account_id=ACCOUNT) as audian:
            with pytest.raises(AuthenticationError, match="cannot be refreshed") as info:
                async with audian.events.subscribe("call.*.*"):
                    pass
            assert token not in str(info.value)
        assert server.upgrades == 1 and server.kazoo.exchanges == 0
        assert server.open_sockets == []

    run_virtual(main)


def test_hundreds_of_bindings_are_paced_and_refused_subscribes_retried() -> None:
    """Failure mode 4: 300 bindings, and a server bucket smaller than the client's copy
    (20 tokens, +10 per second as a block): some subscribes meet "rate limiting threshold
    hit"; each is retried, the caller never sees it, and every binding ends subscribed."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock, bucket=20)
        bindings = [f"call.CHANNEL_CREATE.c{n}" for n in range(300)]
        async with _client(server, clock) as audian:
            start = clock.now()
            async with audian.events.subscribe(*bindings) as events:
                took = clock.now() - start
                assert sorted(server.sockets[0].bindings) == sorted(bindings)
                assert events.stats.rate_limited == server.rate_limited > 0
                # (300 - 20) / 10 per second, at least, by the server's own bucket
                assert took >= 28.0

    run_virtual(main)


def test_a_matching_bucket_is_paced_without_refusals() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)  # 100 tokens, +10 per second: the client's assumption
        bindings = [f"call.CHANNEL_ANSWER.c{n}" for n in range(250)]
        async with _client(server, clock) as audian:
            start = clock.now()
            async with audian.events.subscribe(*bindings) as events:
                assert len(server.sockets[0].bindings) == 250
                assert server.rate_limited == 0 and events.stats.rate_limited == 0
                assert clock.now() - start >= 15.0  # (250 - 100) / 10

    run_virtual(main)


def test_a_silent_socket_is_detected_by_the_application_ping() -> None:
    """Failure mode 5: the socket stays open but answers nothing: the ping (every
    ping_interval) gets no reply within ping_timeout, and the stream reconnects."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            stream = audian.events.subscribe(
                "call.*.*", ping_interval=30, ping_timeout=5, backoff=NO_JITTER
            )
            async with stream as events:
                await anyio.sleep(65)
                assert server.pings == 2 and events.stats.pings == 2
                server.silence_all()
                silenced = clock.now()
                gap = await _next(events)
                assert isinstance(gap, Gap) and gap.reconnected
                assert "ping" in (gap.reason or "")
                # the next ping at 90 s, 5 s without a reply, then 1 s of backoff
                assert 95.0 <= gap.started_at - silenced + 65 <= 95.1
                assert len(server.sockets) == 2 and server.sockets[0].closed

    run_virtual(main)


def test_a_ping_stuck_in_a_send_that_never_completes_also_times_out() -> None:
    """Failure mode 5, the send side: a peer that stops reading leaves the ping's send
    blocked; the ping timeout covers the send too (on the client's clock), and the stream
    reconnects instead of waiting for good."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            stream = audian.events.subscribe(
                "call.*.*", ping_interval=30, ping_timeout=5, backoff=NO_JITTER
            )
            async with stream as events:
                server.stick_sends()
                stuck = clock.now()
                gap = await _next(events)
                assert isinstance(gap, Gap) and gap.reconnected
                assert "no reply to 'ping' within 5" in (gap.reason or "")
                # the ping at 30 s, stuck for 5 s, then 1 s of backoff
                assert 35.0 <= gap.started_at - stuck <= 35.1
                assert len(server.sockets) == 2 and server.sockets[0].stuck

    run_virtual(main)


def test_a_slow_consumer_loses_the_oldest_events_counted_and_marked() -> None:
    """Failure mode 6: the reader drains the socket while the application reads nothing;
    the buffer keeps the newest ``buffer_size`` events and a Gap counting the dropped ones."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            _client(server, clock) as audian,
            audian.events.subscribe("call.*.*", buffer_size=10) as events,
        ):
            for n in range(25):
                server.publish_call("CHANNEL_CREATE", f"c{n}")
            await anyio.sleep(1)
            assert events.stats.received == 25 and events.stats.dropped == 15
            gap = await _next(events)
            assert isinstance(gap, Gap)
            assert (gap.reconnected, gap.dropped) == (False, 15)
            got = [await _next(events) for _ in range(10)]
            assert [e.call_id for e in got if isinstance(e, CallEvent)] == [
                f"c{n}" for n in range(15, 25)
            ]
            assert events.stats.delivered == 10

    run_virtual(main)


def test_overflow_during_a_reconnect_merges_into_one_gap() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            _client(server, clock) as audian,
            audian.events.subscribe("call.*.*", buffer_size=3) as events,
        ):
            for n in range(5):
                server.publish_call("CHANNEL_CREATE", f"a{n}")
            await anyio.sleep(0.1)
            server.drop_all()
            await _until_subscribed(server, 2, 1)
            await anyio.sleep(0.1)
            items = []
            for n in range(4):
                server.publish_call("CHANNEL_CREATE", f"b{n}")
            await anyio.sleep(0.1)
            while events.buffered:
                items.append(await _next(events))
            gaps = [i for i in items if isinstance(i, Gap)]
            calls = [i.call_id for i in items if isinstance(i, CallEvent)]
            assert calls == ["b1", "b2", "b3"]
            assert events.stats.dropped == 6
            assert sum(g.dropped for g in gaps) == 6
            assert any(g.reconnected for g in gaps)
            assert len(gaps) == 1  # adjacent markers merged

    run_virtual(main)


def test_bad_frames_are_skipped_and_counted_never_crash_the_reader() -> None:
    """Failure mode 8: undecodable JSON, non-objects, unknown actions, replies to nobody,
    events of odd shapes: counted in stats.skipped, the stream goes on."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            _client(server, clock) as audian,
            audian.events.subscribe("call.*.*") as events,
        ):
            server.send_raw("{not json")
            server.send_raw("[1, 2]")
            server.send_raw(json.dumps({"action": "mystery"}))
            server.send_raw(json.dumps({"action": "reply", "request_id": "nobody"}))
            server.send_raw(
                json.dumps({"action": "reply", "status": "error", "data": {"errors": ["boom"]}})
            )
            server.send_raw(json.dumps({"action": "event", "data": [1, 2]}))
            deep = "[" * 1000 + "]" * 1000  # decodable, deeper than repr() or str() goes
            server.send_raw('{"action":"reply","request_id":' + deep + "}")
            server.send_raw('{"action":' + deep + "}")
            server.send_raw(json.dumps({"name": "legacy", "args": {"Call-ID": "x"}}))
            server.publish_call("CHANNEL_HOLD", "c9")
            odd = await _next(events)
            assert isinstance(odd, Event) and odd.data == {"value": [1, 2]}
            legacy = await _next(events)
            assert legacy.name == "legacy" and legacy.data == {"call_id": "x"}
            held = await _next(events)
            assert isinstance(held, CallEvent) and held.call_id == "c9"
            assert events.stats.skipped == 7
            assert events.stats.last_skipped == "unknown action of type list"
            assert len(server.sockets) == 1  # never reconnected over them

    run_virtual(main)


def test_a_websocket_library_failing_under_the_stream_is_a_reconnect_with_a_gap() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            _client(server, clock) as audian,
            audian.events.subscribe("call.*.*") as events,
        ):
            server.crash_all()
            gap = await _next(events)
            assert isinstance(gap, Gap) and gap.reconnected
            assert len(server.sockets) == 2
            server.publish_call("CHANNEL_CREATE", "c2")
            event = await _next(events)
            assert isinstance(event, CallEvent) and event.call_id == "c2"

    run_virtual(main)


def test_event_payloads_are_normalised_at_every_depth_and_never_lost() -> None:
    from audian_async.events._models import parse_event

    event = parse_event(
        {
            "action": "event",
            "subscribed_key": "call.*.*",
            "name": "CHANNEL_BRIDGE",
            "data": {"Call-ID": "c1", "Other-Leg": [{"Caller-ID-Number": "1"}], "n": None},
        }
    )
    assert isinstance(event, CallEvent) and event.call_id == "c1"
    assert event.data == {"call_id": "c1", "other_leg": [{"caller_id_number": "1"}], "n": None}
    leg = parse_event(
        {
            "action": "event",
            "subscribed_key": "call.CHANNEL_ANSWER.*",
            "name": "CHANNEL_ANSWER",
            "data": {"Custom-Channel-Vars": {"Account-ID": "b" * 32}},
        }
    )
    assert isinstance(leg, CallEvent) and leg.account_id == "b" * 32
    doc = parse_event(
        {
            "action": "event",
            "subscribed_key": "object.*.device",
            "name": "doc_deleted",
            "data": {"ID": "d1", "Type": "device", "Database": "account%2F12%2F34%2F5678-201501"},
        }
    )
    assert isinstance(doc, ObjectEvent)
    assert (doc.action, doc.type, doc.id, doc.account_id) == (
        "doc_deleted",
        "device",
        "d1",
        "12345678",
    )
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):  # deeper than Python recurses: the payload is kept as sent
        node["Next-Level"] = {}
        node = node["Next-Level"]
    nested = parse_event({"action": "event", "subscribed_key": "x.y.z", "data": deep})
    assert nested.data is deep


def test_big_messages_are_accepted() -> None:
    """Failure mode 7 (the stream's side): the socket is opened with a limit far above 64
    KiB and a 300 KiB event is delivered whole (the adapters' side is tested over loopback
    in tests/integration/test_events_transports.py)."""

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            _client(server, clock) as audian,
            audian.events.subscribe("object.*.*") as events,
        ):
            assert server.max_message_sizes == [16 * 1024 * 1024]
            doc = {"id": "m1", "type": "media", "blob": "x" * 300_000}
            server.publish("object.doc_created.media", "doc_created", doc)
            event = await _next(events)
            assert isinstance(event, ObjectEvent) and len(event.data["blob"]) == 300_000

    run_virtual(main)


def test_refused_bindings_and_upgrades_raise_typed_errors() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            with pytest.raises(SubscriptionError) as info:
                async with audian.events.subscribe("call.*.*", "doc_created.*.user.*"):
                    pass
            assert info.value.binding == "doc_created.*.user.*"
            assert "no available subscriptions" in str(info.value)
            server.forbidden_account = "f" * 32
            with pytest.raises(SubscriptionError, match="unauthorized to subscribe"):
                async with audian.events.subscribe("call.*.*", account_id="f" * 32):
                    pass
            server.refusals = [400]
            with pytest.raises(BadRequestError):
                async with audian.events.subscribe("call.*.*"):
                    pass
            server.refusals = ["refused"] * 10
            stream = audian.events.subscribe("call.*.*", max_attempts=3, backoff=NO_JITTER)
            upgrades = server.upgrades
            with pytest.raises(APIConnectionError, match="in 3 attempts"):
                async with stream:
                    pass
            assert server.upgrades - upgrades == 3
            assert server.open_sockets == []

    run_virtual(main)


def test_leaving_or_cancelling_closes_the_socket_and_every_task_on_trio() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            before = len(_tasks())
            with anyio.move_on_after(50):  # the consumer is cancelled while waiting
                async with audian.events.subscribe("call.*.*") as events:
                    async for _ in events:
                        pass
            assert server.sockets[0].closed and len(server.closed_ends) == 1
            assert len(_tasks()) == before
            with pytest.raises(ZeroDivisionError):  # the application's error, not a group
                async with audian.events.subscribe("call.*.*"):
                    raise ZeroDivisionError
            assert server.open_sockets == [] and len(_tasks()) == before

    run_virtual(main)


async def test_leaving_or_cancelling_closes_the_socket_and_every_task_on_asyncio() -> None:
    import asyncio

    clock = LoopClock(epoch=EPOCH)
    server = FakeBlackhole(clock)
    async with _client(server, clock) as audian:
        before = len(asyncio.all_tasks())

        async def consume() -> None:
            async with audian.events.subscribe("call.*.*") as events:
                async for _ in events:
                    pass

        task = asyncio.create_task(consume())
        await server.connected.wait()
        while not server.sockets[0].bindings:  # a gate, not a timer: subscribed
            await asyncio.sleep(0)
        assert len(asyncio.all_tasks()) > before + 1  # supervisor and reader run
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert server.sockets[0].closed
        assert len(asyncio.all_tasks()) == before
        async with audian.events.subscribe("call.*.*") as events:
            server.publish_call("CHANNEL_CREATE", "c1")
            assert isinstance(await events.__anext__(), CallEvent)
        assert server.open_sockets == [] and len(asyncio.all_tasks()) == before


def test_closing_the_client_ends_its_streams_with_a_typed_error() -> None:
    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        audian = _client(server, clock)
        async with audian.events.subscribe("call.*.*") as events:
            await audian.aclose()
            server.drop_all()
            with pytest.raises(EventStreamError, match="client was closed"):
                await _next(events)
        assert server.upgrades == 1

    run_virtual(main)


def test_a_transport_without_websockets_gets_a_clear_error_and_rest_keeps_working() -> None:
    from tests.virtual import FakeKazoo

    class SendOnly:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def send(self, *args: Any) -> Any:
            return await self.inner.send(*args)

        def stream(self, *args: Any) -> Any:
            return self.inner.stream(*args)

        async def aclose(self) -> None:
            await self.inner.aclose()

    async def main() -> None:
        from audian_async._transport_httpx import HttpxTransport

        clock = LoopClock(epoch=EPOCH)
        kazoo = FakeKazoo(clock)
        transport = SendOnly(HttpxTransport(transport=kazoo.transport()))
        async with AsyncAudian(
            api_key=API_KEY, base_url=BASE, transport=transport, clock=clock
        ) as audian:
            assert (await audian.users.get("u7")).id == "u7"
            with pytest.raises(EventStreamError, match="cannot open websockets"):
                async with audian.events.subscribe("call.*.*"):
                    pass

    run_virtual(main)


def test_without_httpx_ws_the_stream_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from audian_async._transport_httpx import HttpxTransport
    from tests.virtual import FakeKazoo

    monkeypatch.setitem(sys.modules, "httpx_ws", None)  # as if the extra were not installed

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        transport = HttpxTransport(transport=FakeKazoo(clock).transport())
        async with AsyncAudian(
            api_key=API_KEY, base_url=BASE, transport=transport, clock=clock
        ) as audian:
            with pytest.raises(EventStreamError, match=r"\.\[events\]"):
                async with audian.events.subscribe("call.*.*"):
                    pass

    run_virtual(main)


def test_subscribe_checks_its_arguments_before_connecting() -> None:
    from audian_async import ValidationError

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with _client(server, clock) as audian:
            with pytest.raises(ValidationError, match="bindings"):
                audian.events.subscribe()
            with pytest.raises(ValidationError, match="bindings"):
                audian.events.subscribe("call.*.*", "")
            with pytest.raises(ValidationError, match="buffer_size"):
                audian.events.subscribe("call.*.*", buffer_size=0)
            with pytest.raises(ValidationError, match="ping_timeout"):
                audian.events.subscribe("call.*.*", ping_timeout=-1)
            with pytest.raises(ValidationError, match="max_attempts"):
                audian.events.subscribe("call.*.*", max_attempts=0)
        assert server.upgrades == 0
        with pytest.raises(ValidationError, match="events_url"):
            AsyncAudian(api_key=API_KEY, events_url="https://x/v2/websocket")

    run_virtual(main)


def _tasks() -> list[Any]:
    import trio

    root = trio.lowlevel.current_root_task()
    out: list[Any] = []

    def walk(task: Any) -> None:
        out.append(task)
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(root)
    return out


@pytest.mark.parametrize(
    ("settings", "field", "rule"),
    [
        ({"initial": 0}, "backoff.initial", "exclusiveMinimum"),
        ({"maximum": 0.1}, "backoff.maximum", "minimum"),
        ({"multiplier": 0.1}, "backoff.multiplier", "minimum"),
        ({"jitter": 1.5}, "backoff.jitter", "maximum"),
        ({"jitter": -0.1}, "backoff.jitter", "maximum"),
        ({"initial": float("nan")}, "backoff.initial", "type"),
        ({"maximum": float("inf")}, "backoff.maximum", "type"),
        ({"jitter": True}, "backoff.jitter", "type"),
        ({"initial": "1"}, "backoff.initial", "type"),
    ],
)
def test_a_backoff_that_would_reconnect_in_a_hot_loop_is_refused(
    settings: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Backoff(**settings)
    assert (info.value.field, info.value.rule) == (field, rule)


def test_a_stream_retrying_forever_never_overflows_its_backoff() -> None:
    """The wait of the ten-thousandth attempt (and the millionth) is the cap, not an
    OverflowError that would end a stream meant to retry forever."""
    rng = random.Random(3)
    for backoff in (Backoff(), Backoff(multiplier=10.0, maximum=60.0), NO_JITTER):
        for attempt in (1_025, 10_000, 10**6):
            assert 0 < backoff.delay(attempt, rng) <= backoff.maximum
        assert NO_JITTER.delay(10**6, rng) == NO_JITTER.maximum
    same = Backoff(initial=2.0, maximum=2.0, multiplier=1.0, jitter=0.0)
    assert same.delay(10**6, rng) == 2.0


def test_every_valid_backoff_waits_a_positive_capped_time() -> None:
    rng = random.Random(7)
    backoff = Backoff(initial=0.5, maximum=8.0, multiplier=3.0, jitter=1.0)
    delays = [backoff.delay(n, rng) for n in range(1, 30) for _ in range(20)]
    assert all(0 < d <= 8.0 for d in delays)
