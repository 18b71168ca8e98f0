"""How the event socket delivers, and how it ends: slow readers, stalls, drops, idleness."""

from __future__ import annotations

import pytest

from audian_async.testing import Simulator

from .conftest import subscribed_client, wait_until
from .ws_client import Closed, Dropped, WsClient

FILLER = "x" * 65536


def _fill_until_dropping(sim: Simulator) -> int:
    """Publish big events until the server drops one for the (not reading) client."""
    published = 0
    while sim.events.dropped_events == 0:
        sim.events.publish_call(
            "CHANNEL_DESTROY", call_id=f"call-{published}", custom_sip_headers={"X-Fill": FILLER}
        )
        published += 1
        assert published < 5000, "the server never dropped an event for a client not reading"
    return published


def test_a_slow_reader_loses_events_past_the_queue(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    client = WsClient.connect(port, rcvbuf=4096)
    assert client.subscribe(token, master, "call.CHANNEL_DESTROY.*")["status"] == "success"
    published = _fill_until_dropping(sim)
    for extra in range(20):
        sim.events.publish_call("CHANNEL_DESTROY", call_id=f"late-{extra}")
        assert sim.events.sockets[0].queued <= sim.events.max_queued
    published += 20
    dropped = sim.events.dropped_events
    assert dropped >= 1 and sim.events.sockets[0].dropped_events == dropped
    # The reader catches up: everything not dropped arrives, in order, then the reply.
    client.send({"action": "ping", "request_id": "after"})
    client.reply_to("after")
    ids = [event["data"]["call_id"] for event in client.received]
    assert len(ids) == published - dropped
    order = [f"call-{n}" for n in range(published - 20)] + [f"late-{n}" for n in range(20)]
    assert ids == [call_id for call_id in order if call_id in set(ids)]
    client.close()


def test_a_socket_not_writable_for_five_seconds_is_killed(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    client = WsClient.connect(port, rcvbuf=4096)
    assert client.subscribe(token, master, "call.CHANNEL_DESTROY.*")["status"] == "success"
    _fill_until_dropping(sim)
    limit = sim.events.max_queued
    wait_until(lambda: sim.events.sockets[0].writing, "the server's write blocks")
    # The writer may have taken one more event off the queue before its write blocked.
    while sim.events.sockets[0].queued < limit:
        sim.events.publish_call("CHANNEL_DESTROY", custom_sip_headers={"X-Fill": FILLER})
    stuck = lambda: sim.events.sockets[0].writing and sim.events.sockets[0].queued == limit  # noqa: E731
    wait_until(stuck, "the server's write blocks with a full queue")
    sent: list[int | None] = [sim.events.sockets[0].sent]
    sim.advance_clock(4.9)
    assert sim.events.open_sockets == 1
    sim.advance_clock(0.2)

    # A write that was only slow (the kernel took it after all) ends, and the next one starts
    # on the advanced clock: its own five seconds count from there.
    def sent_so_far() -> int | None:  # None once the socket is gone
        sockets = sim.events.sockets
        return sockets[0].sent if sockets else None

    for _ in range(20):
        wait_until(lambda: sent_so_far() != sent[-1], "the stalled socket is killed, or moves")
        sent.append(sent_so_far())
        if sent[-1] is None:
            break
        sim.advance_clock(5.1)
    assert sim.events.open_sockets == 0
    with pytest.raises(Dropped):
        while True:  # whatever was in flight, then the end without a close frame
            client.recv()
    client.close()


def test_drop_sockets_ends_every_socket_without_a_close_frame(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    first = subscribed_client(port, token, master, "call.*.*")
    second = subscribed_client(port, token, master, "object.*.*")
    assert sim.events.open_sockets == 2
    assert sim.events.drop_sockets() == 2
    assert sim.events.open_sockets == 0
    sim.events.publish_call("CHANNEL_CREATE")
    for client in (first, second):
        with pytest.raises(Dropped):
            client.recv()
        client.close()
    assert sim.events.drop_sockets() == 0
    with subscribed_client(port, token, master, "call.CHANNEL_CREATE.*") as again:
        call_id = sim.events.publish_call("CHANNEL_CREATE")
        assert again.next_event()["data"]["call_id"] == call_id


def test_an_idle_socket_is_closed_after_an_hour(sim: Simulator, port: int, token: str) -> None:
    with WsClient.connect(port) as client:
        assert client.request("ping", token)["status"] == "success"
        sim.advance_clock(3599)
        assert client.request("ping")["status"] == "success"  # activity restarts the hour
        sim.advance_clock(3599)
        assert client.request("ping")["status"] == "success"
        sim.advance_clock(3600)
        with pytest.raises(Closed) as closed:
            client.recv()
        assert closed.value.code == 1000
    wait_until(lambda: sim.events.open_sockets == 0, "the idle socket is forgotten")


def test_events_keep_flowing_to_a_quiet_subscriber_within_the_hour(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "call.CHANNEL_CREATE.*") as client:
        sim.advance_clock(1800)
        call_id = sim.events.publish_call("CHANNEL_CREATE")
        assert client.next_event()["data"]["call_id"] == call_id


def test_reset_drops_the_sockets(sim: Simulator, port: int, token: str) -> None:
    with subscribed_client(port, token, sim.master_account_id, "call.*.*") as client:
        sim.reset()
        assert sim.events.open_sockets == 0
        with pytest.raises(Dropped):
            client.recv()
