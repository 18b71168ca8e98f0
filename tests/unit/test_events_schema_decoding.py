"""Event frames decoded by schema (msgspec, ``events/_schema.py``) read exactly as frames decoded
whole: every accessor, ``data`` and equality agree, whatever the payload's spelling, value types
or shape; a frame the schema does not take is decoded whole, never lost or crashing the reader.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audian_async import AsyncAudian, CallEvent, Event, EventStreamError, ObjectEvent
from audian_async._clock import LoopClock
from audian_async.events import _stream
from audian_async.events._models import class_of, decode_whole, new_event_of_frame, parse_event
from audian_async.events._schema import decode
from tests.fake_blackhole import FakeBlackhole
from tests.helpers import API_KEY, BASE
from tests.virtual import EPOCH, run_virtual

ACCESSORS = {
    CallEvent: (
        "call_id",
        "event_name",
        "direction",
        "caller_id_name",
        "caller_id_number",
        "callee_id_name",
        "callee_id_number",
        "account_id",
    ),
    ObjectEvent: ("action", "type", "id", "account_id"),
    Event: (),
}
COMMON = ("name", "binding", "routing_key", "subscription_key")

KEYS = [
    "call_id", "event_name", "call_direction", "direction", "caller_id_name",
    "caller_id_number", "callee_id_name", "callee_id_number", "account_id", "database",
    "action", "type", "pvt_type", "id", "_id", "doc_id", "other",
    "Call-ID", "Event-Name", "Call-Direction", "Caller-ID-Number", "Account-ID", "Pvt-Type",
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(["", "x", "inbound", "account%2Fab%2Fcd%2Fef12", "account/12/34/56-789"]),
    st.text(max_size=6),
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
CHANNEL_VARS = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["account_id", "Account-ID", "realm"]), SCALARS, max_size=3),
)
PAYLOADS = st.dictionaries(
    st.sampled_from([*KEYS, "custom_channel_vars", "Custom-Channel-Vars"]),
    st.one_of(SCALARS, CHANNEL_VARS, st.lists(SCALARS, max_size=2)),
    max_size=10,
)
BINDINGS = st.sampled_from(["call.CHANNEL_CREATE.*", "object.doc_edited.user", "qubicle.x"])
NAMES = st.sampled_from(["CHANNEL_CREATE", "doc_edited", "PARK_PARKED", "other"])


def _read(event: Event, data_first: bool) -> tuple[Any, ...]:
    names = COMMON + ACCESSORS[type(event)]
    if data_first:
        return (dict(event.data), *(getattr(event, n) for n in names))
    return (*(getattr(event, n) for n in names), dict(event.data))


def _by_schema(text: str) -> Event | None:
    """The event as the reader's schema path builds it, or None when the schema refuses it."""
    try:
        envelope = decode(text)
    except Exception:
        return None
    name, binding, fields = envelope.name, envelope.subscribed_key, envelope.data
    if not (type(name) is str and name and type(binding) is str and binding and fields is not None):
        return None
    return new_event_of_frame(class_of(binding, name), envelope, fields, name, binding, text)


@settings(max_examples=400, deadline=None)
@given(
    payload=PAYLOADS,
    binding=BINDINGS,
    name=NAMES,
    routing_key=st.one_of(st.none(), st.just("call.a.b.c"), st.integers()),
    data_first=st.booleans(),
)
def test_a_frame_decoded_by_schema_reads_exactly_as_one_decoded_whole(
    payload: dict[str, Any], binding: str, name: str, routing_key: Any, data_first: bool
) -> None:
    message = {"action": "event", "subscribed_key": binding, "name": name, "data": payload}
    if routing_key is not None:
        message["routing_key"] = routing_key
    text = json.dumps(message)
    whole = parse_event(json.loads(text))
    fast = _by_schema(text)
    assert fast is not None  # the schema takes every event whose payload is an object
    assert type(fast) is type(whole)
    assert _read(fast, data_first) == _read(whole, data_first)
    assert fast == whole


def test_reading_data_decodes_the_frame_once_and_lets_the_text_go() -> None:
    text = json.dumps(
        {
            "action": "event",
            "subscribed_key": "call.CHANNEL_CREATE.*",
            "name": "CHANNEL_CREATE",
            "data": {"call_id": "c1", "Custom-Channel-Vars": {"Account-ID": "a1"}},
        }
    )
    event = _by_schema(text)
    assert isinstance(event, CallEvent)
    assert event.call_id == "c1" and event._frame is text  # typed field: nothing decoded
    assert event.account_id == "a1"  # another spelling: the whole payload decides
    assert event._frame is None
    assert event.data == {"call_id": "c1", "custom_channel_vars": {"account_id": "a1"}}
    assert event.data is event.data


def test_a_number_orjson_refuses_is_still_delivered_on_both_paths() -> None:
    text = (
        '{"action":"event","subscribed_key":"call.CHANNEL_CREATE.*","name":"CHANNEL_CREATE",'
        '"data":{"call_id":"c1","rate":1e400}}'
    )
    event = _by_schema(text)
    assert event is not None and event.data["rate"] == float("inf")


def test_an_integer_too_long_for_int_is_read_exactly_not_lost() -> None:
    digits = "12345678901234567890" * 250
    text = (
        '{"action":"event","subscribed_key":"call.X.*","name":"X",'
        f'"data":{{"call_id":"c","n":{digits},"m":-{digits}}}}}'
    )
    event = _by_schema(text)
    assert event is not None and event.call_id == "c"
    assert event.data == {"call_id": "c", "n": Decimal(digits), "m": Decimal(f"-{digits}")}
    assert event.data["n"] == Decimal(digits)  # read again: the same payload
    whole = parse_event(decode_whole(text))
    assert whole.data == event.data


def test_a_payload_too_deep_to_decode_whole_is_a_typed_error_from_data_every_time() -> None:
    event = _by_schema(
        '{"action":"event","subscribed_key":"call.X.*","name":"X","data":{"call_id":"c"}}'
    )
    assert event is not None
    event._frame = '{"data":{"n":' + "[" * 100_000 + "]" * 100_000 + "}}"  # as if
    for _ in range(2):  # never an empty payload on a second read
        with pytest.raises(EventStreamError, match="could not be decoded"):
            _ = event.data


@pytest.mark.parametrize("decoding", ["schema", "whole"])
def test_the_stream_takes_every_frame_shape_on_both_paths(
    decoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames the schema does not take (the older ``args`` payload, a raw surrogate, nesting
    deeper than msgspec goes) and odd values it does take (channel vars that are not an
    object, a number orjson refuses) reach the application or are counted, on the
    schema path as without msgspec; a Kazoo event on a known binding takes the schema path."""
    if decoding == "whole":
        monkeypatch.setattr(_stream, "schema_decoder", lambda: None)
    else:
        assert _stream.schema_decoder() is not None, "msgspec is not installed"

    def event(data: str) -> str:
        return (
            '{"action":"event","subscribed_key":"call.*.*","name":"CHANNEL_CREATE",'
            f'"data":{data}}}'
        )

    class_of("call.*.*", "CHANNEL_CREATE")  # the binding is known: its events take the fast path

    async def main() -> None:
        clock = LoopClock(epoch=EPOCH)
        server = FakeBlackhole(clock)
        async with (
            AsyncAudian(
                base_url=BASE, api_key=API_KEY, transport=server.transport(), clock=clock
            ) as audian,
            audian.events.subscribe("call.*.*") as events,
        ):
            server.publish_call("CHANNEL_CREATE", "c0")
            server.publish_call("CHANNEL_ANSWER", "c1")
            server.send_raw(event('{"call_id":"c2","custom_channel_vars":"vars"}'))
            server.send_raw(event('null,"args":{"Call-ID":"c2b"}'))
            server.send_raw(event('{"call_id":"c3","rate":1e400,"big":' + "9" * 5000 + "}"))
            server.send_raw(event('{"call_id":"c4","note":"\ud800"}'))
            server.send_raw(event('{"call_id":"c5","n":' + "[" * 5000 + "]" * 5000 + "}"))
            server.publish_call("CHANNEL_DESTROY", "c6")
            got = [await events.__anext__() for _ in range(7)]
            assert all(isinstance(e, CallEvent) for e in got)
            calls = [e.call_id for e in got if isinstance(e, CallEvent)]
            assert calls == ["c0", "c1", "c2", "c2b", "c3", "c4", "c6"]
            assert got[2].data["custom_channel_vars"] == "vars"
            assert got[2].account_id is None
            assert got[4].data["rate"] == float("inf")
            assert got[4].data["big"] == Decimal("9" * 5000)  # past int()'s 4,300 digits
            assert got[5].data["note"] == "\ud800"
            assert events.stats.skipped == 1  # c5: deeper than any decoder goes
            assert (events.stats.received, events.stats.delivered) == (7, 7)
            by_schema = [e._fields is not None for e in got]
            if decoding == "schema":
                assert by_schema == [True, True, True, False, True, False, True]
            else:
                assert not any(by_schema)
            assert len(server.sockets) == 1  # never a reconnect over a frame

    run_virtual(main)


def test_a_payload_deeper_than_python_recurses_is_kept_as_sent_not_half_normalised() -> None:
    import sys

    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(300):
        deep = {"n": deep}
    payload = {"call_id": "c", "x": {"Caller-ID": "first"}, "y": deep}
    event = _by_schema(
        json.dumps({"action": "event", "subscribed_key": "call.X.*", "name": "X", "data": payload})
    )
    assert event is not None
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # "x" is normalised in place before "y" is found too deep
    try:
        data = event.data
    finally:
        sys.setrecursionlimit(limit)
    assert data == payload
