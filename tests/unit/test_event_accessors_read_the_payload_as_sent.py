"""Typed accessors read the payload as sent when its keys are in Kazoo's spelling.

Blackhole already sends lower-cased, underscored keys; reading one typed field used to copy
every key of the event into a new dict (``Event.data``): 6.9 of the 16.0 us per event the
stream cost (bench/RESULTS.md, realtime events). A payload in another spelling is still read
as if normalised, with the same priorities between names.
"""

from __future__ import annotations

from typing import Any

import pytest

from audian_async.events import _models
from audian_async.events._models import CallEvent, Event, ObjectEvent, parse_event


def _event(data: Any, binding: str = "call.CHANNEL_CREATE.*", **extra: Any) -> Event:
    message = {"action": "event", "subscribed_key": binding, "name": "CHANNEL_CREATE"}
    return parse_event(message | {"data": data} | extra)


def test_a_typed_accessor_does_not_normalise_a_payload_already_in_kazoos_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    real = _models.normalize_keys

    def counting(value: Any) -> Any:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(_models, "normalize_keys", counting)
    event = _event(
        {"call_id": "c1", "caller_id_number": "+1415", "custom_channel_vars": {"account_id": "a1"}}
    )
    assert isinstance(event, CallEvent)
    assert (event.call_id, event.caller_id_number, event.account_id) == ("c1", "+1415", "a1")
    assert event.direction is None and event.callee_id_name is None
    assert calls == []
    assert event.data["call_id"] == "c1" and calls  # .data still normalises (recursively)


def test_an_accessor_still_finds_a_key_a_server_sent_in_another_spelling() -> None:
    assert _event({"Call-ID": "c2"}).call_id == "c2"  # type: ignore[attr-defined]


def test_name_priorities_are_those_of_the_normalised_payload() -> None:
    # "call_direction" comes before "direction": sent as Call-Direction it still wins.
    event = _event({"Call-Direction": "inbound", "direction": "other"})
    assert isinstance(event, CallEvent)
    assert event.direction == "inbound"
    normal = _event({"call_direction": "", "direction": "outbound"})
    assert isinstance(normal, CallEvent)
    assert normal.direction == "outbound"  # an empty value is not an answer


def test_the_account_is_found_in_any_spelling_at_any_place() -> None:
    nested = _event({"Custom-Channel-Vars": {"Account-ID": "a2"}})
    top_wins = _event({"Account-ID": "top", "custom_channel_vars": {"account_id": "ccv"}})
    sent_nested = _event({"call_id": "c", "custom_channel_vars": {"Account-ID": "a3"}})
    database = parse_event(
        {
            "action": "event",
            "subscribed_key": "object.doc_edited.user",
            "name": "doc_edited",
            "data": {"database": "account%2Fab%2Fcd%2Fef12", "id": "u1", "type": "user"},
        }
    )
    assert isinstance(nested, CallEvent) and isinstance(top_wins, CallEvent)
    assert isinstance(sent_nested, CallEvent) and isinstance(database, ObjectEvent)
    assert nested.account_id == "a2"
    assert top_wins.account_id == "top"
    assert sent_nested.account_id == "a3"
    assert (database.account_id, database.id, database.type) == ("abcdef12", "u1", "user")


def test_routing_and_subscription_keys_are_read_when_asked_for() -> None:
    event = _event({"call_id": "c"}, routing_key="call.a.CHANNEL_CREATE.c", subscription_key="s")
    assert (event.routing_key, event.subscription_key) == ("call.a.CHANNEL_CREATE.c", "s")
    bare = _event({"call_id": "c"}, routing_key=7)
    assert (bare.routing_key, bare.subscription_key) == (None, None)
    built = CallEvent(name="n", binding="call.n.c", data={}, routing_key="r")
    assert (built.routing_key, built.subscription_key) == ("r", None)
    assert built == CallEvent(name="n", binding="call.n.c", data={}, routing_key="r")


def test_the_class_comes_from_the_bindings_prefix_else_from_the_name() -> None:
    assert type(_event({}, binding="call.CHANNEL_CREATE.*")) is CallEvent
    assert type(_event({}, binding="object.doc_created.user")) is ObjectEvent
    assert type(_event({}, binding="callx.CHANNEL_CREATE")) is CallEvent  # by its name
    assert type(_event({}, binding="call")) is CallEvent
    other = parse_event({"action": "event", "subscribed_key": "qubicle.x", "name": "other"})
    assert type(other) is Event
    old_shape = parse_event({"name": "doc_created", "args": {"id": "d"}, "binding": "x.y"})
    assert type(old_shape) is ObjectEvent and old_shape.binding == "x.y"
