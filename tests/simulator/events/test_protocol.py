"""The event socket's protocol, as blackhole's code behaves (over real loopback)."""

from __future__ import annotations

import json

import pytest

from audian_async.testing import Simulator

from .conftest import subscribed_client, wait_until
from .ws_client import Closed, Refused, WsClient


def _errors(reply: dict[str, object]) -> object:
    assert reply["action"] == "reply" and reply["status"] == "error", reply
    data = reply["data"]
    assert isinstance(data, dict)
    return data["errors"]


# -- connecting -------------------------------------------------------------------------------


def test_any_path_upgrades(port: int, token: str) -> None:
    for path in ["/", "/v2/websocket", "/anything/at/all", "/v2/users", "/_simulator/events"]:
        with WsClient.connect(port, path) as client:
            reply = client.request("ping", token)
            assert reply["status"] == "success" and reply["data"] == {}, path


def test_a_subprotocol_is_refused_with_400(port: int) -> None:
    with pytest.raises(Refused) as refused:
        WsClient.connect(port, subprotocols=("kazoo",))
    assert refused.value.status == 400


def test_the_per_ip_cap_answers_429(sim: Simulator, port: int, token: str) -> None:
    sim.events.max_connections_per_ip = 2
    first, second = WsClient.connect(port), WsClient.connect(port)
    with pytest.raises(Refused) as refused:
        WsClient.connect(port)
    assert refused.value.status == 429
    first.close()
    wait_until(lambda: sim.events.open_sockets == 1, "the closed socket is forgotten")
    with WsClient.connect(port) as third:
        assert third.request("ping", token)["status"] == "success"
    second.close()


def test_no_cap_by_default(sim: Simulator, port: int) -> None:
    clients = [WsClient.connect(port) for _ in range(5)]
    wait_until(lambda: sim.events.open_sockets == 5, "five sockets open")
    for client in clients:
        client.close()


# -- messages ---------------------------------------------------------------------------------


def test_ping_answers_success_and_pong_only_with_the_module(
    sim: Simulator, port: int, token: str
) -> None:
    with WsClient.connect(port) as client:
        assert client.request("ping", token)["data"] == {}
        sim.events.pong = True
        assert client.request("ping")["data"] == {"response": "pong"}


def test_unknown_actions_and_a_missing_action_answer_success(port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        assert client.request("frobnicate", token)["data"] == {}
        client.send({"request_id": "no-action"})
        reply = client.reply_to("no-action")
        assert reply == {
            "action": "reply",
            "request_id": "no-action",
            "status": "success",
            "data": {},
        }


def test_numbers_are_read_as_text(port: int, token: str) -> None:
    """Kazoo reads request_id and auth_token with get_ne_binary_value: 7 is "7"."""
    with WsClient.connect(port) as client:
        client.send({"action": "ping", "auth_token": token, "request_id": 7})
        assert client.reply_to("7")["status"] == "success"
    with WsClient.connect(port) as client:
        client.send({"action": "ping", "auth_token": 12345, "request_id": "n"})
        assert _errors(client.reply_to("n")) == ["failed to authenticate token 12345"]


def test_a_missing_request_id_gets_an_invented_one(port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        client.send({"action": "ping", "auth_token": token})
        reply = client.recv()
        assert reply["action"] == "reply" and reply["status"] == "success"
        assert len(reply["request_id"]) == 32 and int(reply["request_id"], 16) >= 0


def test_undecodable_json_closes_the_socket_with_1011(port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        assert client.request("ping", token)["status"] == "success"
        client.send_text("{not json")
        with pytest.raises(Closed) as closed:
            client.recv()
        assert closed.value.code == 1011


def test_binary_frames_are_ignored(port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        client.send_bytes(b'{"action": "ping"}')
        assert client.request("ping", token)["status"] == "success"


# -- authentication ---------------------------------------------------------------------------


def test_the_first_message_needs_a_token(port: int) -> None:
    with WsClient.connect(port) as client:
        assert _errors(client.request("ping")) == ["authentication token required"]


def test_a_refused_token_is_named_in_the_error(sim: Simulator, port: int) -> None:
    bad = sim.mint_token() + "x"
    with WsClient.connect(port) as client:
        errors = _errors(client.request("ping", bad))
        assert errors == [f"failed to authenticate token {bad}"]


def test_later_tokens_are_ignored(sim: Simulator, port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        assert client.request("ping", token)["status"] == "success"
        assert client.request("ping")["status"] == "success"
        assert client.request("ping", "not-a-token")["status"] == "success"
        reply = client.subscribe("garbage", sim.master_account_id, "call.CHANNEL_CREATE.*")
        assert reply["status"] == "success"


def test_a_socket_is_authenticated_only_by_a_message_that_succeeds(
    sim: Simulator, port: int, token: str
) -> None:
    with WsClient.connect(port) as client:
        refused = client.request("subscribe", token, {"account_id": sim.master_account_id})
        assert _errors(refused) == ["missing required keys : binding"]
        assert _errors(client.request("ping")) == ["authentication token required"]


def test_the_socket_belongs_to_the_first_tokens_account(sim: Simulator, port: int) -> None:
    child = sim.create_account("Child")
    child_token = sim.mint_token(child)
    with WsClient.connect(port) as client:
        assert client.request("ping", child_token)["status"] == "success"
        master_token = sim.mint_token()
        reply = client.subscribe(master_token, sim.master_account_id, "call.*.*")
        assert _errors(reply) == ["unauthorized account id"]


def test_an_expired_token_does_not_end_a_socket(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "call.CHANNEL_CREATE.*") as client:
        sim.advance_clock(3000)
        assert client.request("ping")["status"] == "success"  # not idle for the hour
        sim.advance_clock(sim.config.token_lifetime + 60 - 3000)
        sim.expire_all_tokens()
        call_id = sim.events.publish_call("CHANNEL_CREATE")
        assert client.next_event()["data"]["call_id"] == call_id
        reply = client.subscribe(token, master, "call.CHANNEL_DESTROY.*")
        assert reply["status"] == "success"
    with WsClient.connect(port) as fresh:
        assert _errors(fresh.request("ping", token)) == [f"failed to authenticate token {token}"]


# -- subscribe and unsubscribe ----------------------------------------------------------------


def test_subscribe_answers_every_binding_on_the_socket(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    with WsClient.connect(port) as client:
        first = client.subscribe(token, master, "call.CHANNEL_CREATE.*")
        assert first["data"] == {"subscribed": ["call.CHANNEL_CREATE.*"]}
        second = client.subscribe(token, master, "object.doc_edited.user")
        assert second["data"] == {"subscribed": ["call.CHANNEL_CREATE.*", "object.doc_edited.user"]}


def test_one_entry_per_server_binding(sim: Simulator, port: int, token: str) -> None:
    """``call.*.*`` is nine server bindings, ``object.*.*`` two: Kazoo lists each."""
    master = sim.master_account_id
    with WsClient.connect(port) as client:
        assert client.subscribe(token, master, "call.*.*")["data"]["subscribed"] == ["call.*.*"] * 9
        both = client.subscribe(token, master, "object.*.*")["data"]["subscribed"]
        assert both == ["call.*.*"] * 9 + ["object.*.*"] * 2


def test_a_duplicate_subscribe_is_deduplicated(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "call.CHANNEL_CREATE.*") as client:
        again = client.subscribe(token, master, "call.CHANNEL_CREATE.*")
        assert again["data"] == {"subscribed": ["call.CHANNEL_CREATE.*"]}
        first = sim.events.publish_call("CHANNEL_CREATE")
        second = sim.events.publish_call("CHANNEL_CREATE")
        assert client.next_event()["data"]["call_id"] == first
        assert client.next_event()["data"]["call_id"] == second  # the first came once


def test_a_bindings_list_alone_is_refused(sim: Simulator, port: int, token: str) -> None:
    """doc vs code: the documented ``bindings`` list is never read."""
    data = {"account_id": sim.master_account_id, "bindings": ["call.CHANNEL_CREATE.*"]}
    with WsClient.connect(port) as client:
        assert _errors(client.request("subscribe", token, data)) == [
            "missing required keys : binding"
        ]


def test_the_audian_page_shape_is_refused(sim: Simulator, port: int, token: str) -> None:
    """The Audian example (``account_id`` at the top, a ``bindings`` list) misses both keys."""
    with WsClient.connect(port) as client:
        reply = client.request(
            "subscribe",
            token,
            {"bindings": ["call.*", "presence.*"]},
            account_id=sim.master_account_id,
        )
        assert _errors(reply) == ["missing required keys : account_id, binding"]


def test_unsubscribe_everything_is_refused(sim: Simulator, port: int, token: str) -> None:
    """doc vs code: an ``unsubscribe`` with only a token is refused."""
    master = sim.master_account_id
    with subscribed_client(port, token, master, "call.CHANNEL_CREATE.*") as client:
        assert _errors(client.request("unsubscribe", token)) == [
            "missing required keys in data object"
        ]
        call_id = sim.events.publish_call("CHANNEL_CREATE")
        assert client.next_event()["data"]["call_id"] == call_id


def test_unsubscribe_one_binding(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with subscribed_client(
        port, token, master, "call.CHANNEL_CREATE.*", "call.CHANNEL_DESTROY.*"
    ) as client:
        reply = client.request(
            "unsubscribe", None, {"account_id": master, "binding": "call.CHANNEL_CREATE.*"}
        )
        assert reply["data"] == {
            "unsubscribed": ["call.CHANNEL_CREATE.*"],
            "subscribed": ["call.CHANNEL_DESTROY.*"],
        }
        sim.events.publish_call("CHANNEL_CREATE")
        destroyed = sim.events.publish_call("CHANNEL_DESTROY")
        event = client.next_event()
        assert (event["name"], event["data"]["call_id"]) == ("CHANNEL_DESTROY", destroyed)


def test_accounts_of_the_hierarchy_only(sim: Simulator, port: int) -> None:
    child = sim.create_account("Child")
    grandchild = sim.create_account("Grandchild", parent_id=child)
    sibling = sim.create_account("Sibling")
    child_token = sim.mint_token(child)
    with WsClient.connect(port) as client:
        assert client.subscribe(child_token, child, "call.*.*")["status"] == "success"
        assert client.subscribe(None, grandchild, "call.*.*")["status"] == "success"
        assert _errors(client.subscribe(None, sibling, "call.*.*")) == ["unauthorized account id"]
        parent = sim.master_account_id
        assert _errors(client.subscribe(None, parent, "call.*.*")) == ["unauthorized account id"]
        assert _errors(client.subscribe(None, "0" * 32, "call.*.*")) == ["unauthorized account id"]
        assert _errors(client.subscribe(None, "*", "call.*.*")) == [
            "unauthorized wildcard account id"
        ]


def test_the_wildcard_account_for_the_super_admin(sim: Simulator, port: int, token: str) -> None:
    child = sim.create_account("Child")
    with subscribed_client(port, token, "*", "call.CHANNEL_CREATE.*") as client:
        call_id = sim.events.publish_call("CHANNEL_CREATE", account_id=child)
        event = client.next_event()
        assert event["data"]["call_id"] == call_id
        assert event["subscription_key"] == "call.*.CHANNEL_CREATE.*"


ACCEPTED = [
    "call.CHANNEL_CREATE.*",
    "call.*.*",
    "call.PARK_ABANDONED.some-call-id",
    "object.doc_created.user",
    "object.*.*",
    "object.*.vmbox",
    "object.doc_deleted.*",
    "fax.status.*",
    "fax.object.doc_created",
    "conference.command.conf1",
    "conference.event.conf1.*",
]

REFUSED = [
    # doc vs code: the documented form lacks the ``object.`` module
    ("doc_created.*.user.*", "no available subscriptions to requested binding"),
    (
        "object.doc_created.*.user.*",
        "invalid format for object subscription : doc_created, *, user, *",
    ),
    ("object.doc_edited.widget", "event doc_edited.widget not supported"),
    ("object.doc_renamed.*", "event doc_renamed.* not supported"),
    ("object.*.widget", "event *.widget not supported"),
    ("call.CHANNEL_CREATE", "invalid format for call subscription : CHANNEL_CREATE"),
    ("call.*", "invalid format for call subscription : *"),
    ("call.CHANNEL_EXECUTE.*", "event CHANNEL_EXECUTE not supported"),
    ("conference.command.*", "ConferenceId required"),
    ("conference.event.*.*", "ConferenceId required"),
    ("conference.event.conf1", "invalid format for conference subscription : event, conf1"),
    ("fax.*", "invalid format for fax subscription : *"),
    ("presence.update.*", "no available subscriptions to requested binding"),
    ("nonsense", "no available subscriptions to requested binding"),
]


def test_accepted_bindings(sim: Simulator, port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        for binding in ACCEPTED:
            reply = client.subscribe(token, sim.master_account_id, binding)
            assert reply["status"] == "success", binding
            assert binding in reply["data"]["subscribed"]


def test_refused_bindings(sim: Simulator, port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        assert client.request("ping", token)["status"] == "success"
        refused = {b: _errors(client.subscribe(None, sim.master_account_id, b)) for b, _ in REFUSED}
        assert refused == {binding: [error] for binding, error in REFUSED}


# -- the message bucket -----------------------------------------------------------------------


def test_the_message_bucket_on_the_simulators_clock(sim: Simulator, port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        session = f"127.0.0.1:{client.sock.getsockname()[1]}"
        replies = [client.request("ping", token)["status"] for _ in range(100)]
        assert replies == ["success"] * 100
        limited = client.request("ping")
        assert _errors(limited) == [f"rate limiting threshold hit for {session}!"]
        sim.advance_clock(0.5)  # five tokens
        assert [client.request("ping")["status"] for _ in range(6)] == ["success"] * 5 + ["error"]
        sim.advance_clock(60)  # refilled to the brim, never beyond
        statuses = [client.request("ping")["status"] for _ in range(101)]
        assert statuses == ["success"] * 100 + ["error"]
        info = sim.events.sockets[0]
        assert (info.received, info.errors, info.rate_limited) == (208, 3, 3)


def test_refused_messages_cost_a_token_too(sim: Simulator, port: int) -> None:
    """The bucket is the first step: even a message refused for its token pays."""
    sim.events.bucket_size = 3
    with WsClient.connect(port) as client:
        errors = [_errors(client.request("ping")) for _ in range(4)]
        assert errors[:3] == [["authentication token required"]] * 3
        assert isinstance(errors[3], list) and errors[3][0].startswith(
            "rate limiting threshold hit"
        )


# -- events -----------------------------------------------------------------------------------


def test_an_event_message(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "call.CHANNEL_CREATE.*") as client:
        call_id = sim.events.publish_call(
            "CHANNEL_CREATE", call_id="abc.def@host", caller_id_name="Alice", other_leg_call_id=None
        )
        event = client.next_event()
        assert call_id == "abc.def@host"
        assert {k: v for k, v in event.items() if k != "data"} == {
            "action": "event",
            "subscribed_key": "call.CHANNEL_CREATE.*",
            "subscription_key": f"call.{master}.CHANNEL_CREATE.*",
            "name": "CHANNEL_CREATE",
            "routing_key": f"call.{master}.CHANNEL_CREATE.abc%2Edef%40host",
        }
        data = event["data"]
        assert data["call_id"] == "abc.def@host" and data["caller_id_name"] == "Alice"
        assert data["event_name"] == "CHANNEL_CREATE" and data["call_direction"] == "inbound"
        assert data["custom_channel_vars"]["account_id"] == master
        assert all(k == k.lower() and "-" not in k for k in data)


def test_event_data_is_normalised(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "fax.status.fax1") as client:
        routing_key = f"fax.status.{master}.fax1"
        data = {"Fax-ID": "fax1", "Fax-State": None, "Nested": {"Inner-Key": 1, "Gone": None}}
        assert sim.events.publish(routing_key, data, name="status") == 1
        event = client.next_event()
        assert event["name"] == "status"
        assert event["data"] == {"fax_id": "fax1", "nested": {"inner_key": 1}}


def test_events_of_other_accounts_and_calls_do_not_arrive(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    child = sim.create_account("Child")
    with subscribed_client(port, token, master, "call.CHANNEL_ANSWER.call-1") as client:
        sim.events.publish_call("CHANNEL_ANSWER", account_id=child, call_id="call-1")
        sim.events.publish_call("CHANNEL_ANSWER", call_id="call-2")
        sim.events.publish_call("CHANNEL_CREATE", call_id="call-1")
        sim.events.publish_call("CHANNEL_ANSWER", call_id="call-1", caller_id_name="Bob")
        event = client.next_event()
        assert event["data"]["caller_id_name"] == "Bob"
        assert sim.events.sockets[0].queued == 0


def test_a_message_over_64_kib(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "call.CHANNEL_DESTROY.*") as client:
        note = "x" * 200_000
        sim.events.publish_call("CHANNEL_DESTROY", custom_sip_headers={"X-Note": note})
        event = client.next_event()
        assert event["data"]["custom_sip_headers"] == {"x_note": note}
        assert client.request("ping")["status"] == "success"


def test_publish_call_checks_its_input(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="CHANNEL_EXECUTE"):
        sim.events.publish_call("CHANNEL_EXECUTE")
    with pytest.raises(KeyError):
        sim.events.publish_call("CHANNEL_CREATE", account_id="0" * 32)


def test_frames_are_json_text(sim: Simulator, port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        client.send_text(json.dumps({"action": "ping", "auth_token": token, "request_id": "t"}))
        assert client.reply_to("t")["status"] == "success"
