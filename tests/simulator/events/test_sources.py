"""Where events come from: REST writes, the Python API, the HTTP control endpoint, demo traffic."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from audian_async.testing import Simulator
from audian_async.testing.__main__ import _calls_per_second, banner, parse_args
from audian_async.testing._events import CALL_EVENTS, CallTraffic

from .conftest import subscribed_client
from .ws_client import Dropped


@contextmanager
def rest(sim: Simulator, port: int, account_id: str | None = None) -> Iterator[httpx.Client]:
    """A REST client of the served simulator, logged in as ``account_id`` (the master)."""
    token = sim.mint_token(account_id)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}/v2", headers={"X-Auth-Token": token}
    ) as client:
        yield client


def _db(account_id: str) -> str:
    return f"account%2F{account_id[:2]}%2F{account_id[2:4]}%2F{account_id[4:]}"


def test_user_writes_publish_object_events(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with (
        subscribed_client(port, token, master, "object.*.user") as client,
        rest(sim, port) as http,
    ):
        created = http.put(
            f"/accounts/{master}/users", json={"data": {"first_name": "Jane", "last_name": "Doe"}}
        )
        assert created.status_code == 201
        user = created.json()["data"]
        event = client.next_event()
        assert event["name"] == "doc_created" and event["subscribed_key"] == "object.*.user"
        assert event["subscription_key"] == f"*.{_db(master)}.user.*"
        assert event["routing_key"] == f"doc_created.{_db(master)}.user.{user['id']}"
        data = event["data"]
        assert data["id"] == user["id"] and data["type"] == "user"
        assert data["account_id"] == master and data["database"] == _db(master)
        assert data["rev"] == created.json()["revision"] and data["is_soft_deleted"] is False
        assert data["event_name"] == "doc_created" and data["event_category"] == "configuration"

        edited = http.patch(f"/accounts/{master}/users/{user['id']}", json={"data": {"title": "X"}})
        event = client.next_event()
        assert (event["name"], event["data"]["rev"]) == ("doc_edited", edited.json()["revision"])

        assert http.delete(f"/accounts/{master}/users/{user['id']}").status_code == 200
        event = client.next_event()
        assert event["name"] == "doc_deleted" and event["data"]["is_soft_deleted"] is True


def test_each_collection_names_its_kazoo_type(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    bodies = {
        "users": {"first_name": "Ann", "last_name": "Lee"},
        "devices": {"name": "Desk phone"},
        "callflows": {"numbers": ["+14155550123"], "flow": {"module": "user", "data": {}}},
        "vmboxes": {"name": "Main box", "mailbox": "1000"},
    }
    with (
        subscribed_client(port, token, master, "object.doc_created.*") as client,
        rest(sim, port) as http,
    ):
        for collection, body in bodies.items():
            response = http.put(f"/accounts/{master}/{collection}", json={"data": body})
            assert response.status_code == 201, response.text
        kinds = [client.next_event()["data"]["type"] for _ in bodies]
        assert kinds == ["user", "device", "callflow", "vmbox"]


def test_account_events_belong_to_the_accounts_own_database(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    with (
        subscribed_client(port, token, master, "object.*.account") as client,
        rest(sim, port) as http,
    ):
        child = http.put(f"/accounts/{master}/accounts", json={"data": {"name": "Child"}})
        child_id = child.json()["data"]["id"]
        http.patch(f"/accounts/{master}", json={"data": {"name": "Renamed master"}})
        event = client.next_event()  # the child's creation went to the child's database
        assert (event["name"], event["data"]["id"]) == ("doc_edited", master)
        with subscribed_client(port, token, child_id, "object.doc_edited.account") as child_client:
            http.patch(f"/accounts/{child_id}", json={"data": {"name": "Renamed child"}})
            edited = child_client.next_event()
            assert edited["data"]["id"] == child_id and edited["data"]["account_id"] == child_id


def test_a_subscription_sees_only_its_own_account(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    child = sim.create_account("Child")
    with (
        subscribed_client(port, token, master, "object.doc_created.device") as client,
        rest(sim, port) as http,
    ):
        http.put(f"/accounts/{child}/devices", json={"data": {"name": "Child phone"}})
        http.put(f"/accounts/{master}/devices", json={"data": {"name": "Master phone"}})
        event = client.next_event()
        assert event["data"]["account_id"] == master


def test_faxes_publish_in_the_monthly_database(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    with (
        subscribed_client(
            port, token, master, "fax.object.doc_created", "object.doc_deleted.fax"
        ) as client,
        rest(sim, port) as http,
    ):
        body = {
            "to_number": "+14155550100",
            "from_number": "+14155550101",
            "document": {"url": "https://files.example.com/contract.pdf"},
        }
        fax = http.put(f"/accounts/{master}/faxes", json={"data": body}).json()["data"]
        created = client.next_event()
        assert created["subscribed_key"] == "fax.object.doc_created"
        assert created["data"]["id"] == fax["id"] and created["data"]["type"] == "fax"
        assert created["data"]["database"].startswith(f"{_db(master)}-")
        assert http.delete(f"/accounts/{master}/faxes/{fax['id']}").status_code == 200
        deleted = client.next_event()
        assert deleted["subscribed_key"] == "object.doc_deleted.fax"
        assert deleted["subscription_key"] == created["subscription_key"].replace(
            "doc_created", "doc_deleted"
        )


def test_publish_object_covers_types_the_simulator_does_not_store(
    sim: Simulator, port: int, token: str
) -> None:
    master = sim.master_account_id
    with subscribed_client(port, token, master, "object.doc_created.mailbox_message") as client:
        sim.events.publish_object("doc_created", "media")
        doc_id = sim.events.publish_object("doc_created", "mailbox_message", doc_id="msg-1")
        event = client.next_event()
        assert doc_id == "msg-1" and event["data"]["id"] == "msg-1"
        assert event["data"]["database"].startswith(f"{_db(master)}-")  # the monthly database
    with pytest.raises(ValueError, match="doc_renamed"):
        sim.events.publish_object("doc_renamed", "user")


def test_the_control_endpoint(sim: Simulator, port: int, token: str) -> None:
    master = sim.master_account_id
    client = subscribed_client(port, token, master, "call.*.*", "object.doc_edited.media")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/_simulator/events") as http:
        made = http.post("/calls", json={"event_name": "CHANNEL_ANSWER", "caller_id_name": "Eve"})
        assert made.status_code == 201 and made.json()["published"] == 1
        event = client.next_event()
        assert event["name"] == "CHANNEL_ANSWER" and event["data"]["caller_id_name"] == "Eve"
        assert event["data"]["call_id"] == made.json()["call_id"]

        obj = http.post("/objects", json={"action": "doc_edited", "type": "media", "id": "m1"})
        assert obj.json() == {"id": "m1"}
        assert client.next_event()["data"]["id"] == "m1"

        raw = http.post(
            "/publish",
            json={"routing_key": f"call.{master}.CHANNEL_HOLD.c9", "data": {"Call-ID": "c9"}},
        )
        assert raw.json() == {"matched": 1}
        assert client.next_event()["data"] == {"call_id": "c9"}

        burst = {"routing_key": f"call.{master}.CHANNEL_UNHOLD.c7", "data": {"Call-ID": "c7"}}
        sim.events.max_queued = 10  # a burst lets the writer run: a reader keeping up loses none
        assert http.post("/publish", json={**burst, "count": 45}).json() == {"matched": 45}
        unheld = [client.next_event() for _ in range(45)]
        assert {(e["name"], e["data"]["call_id"]) for e in unheld} == {(None, "c7")}
        assert sim.events.dropped_events == 0
        sim.events.max_queued = 50

        stats = http.get("").json()
        assert stats["open_sockets"] == 1 and stats["dropped_events"] == 0
        assert stats["sockets"][0]["account_id"] == master

        burst = http.post("/calls", json={"event_name": "CHANNEL_HOLD", "count": 3})
        assert burst.status_code == 201 and burst.json()["published"] == 3
        held = [client.next_event()["data"]["call_id"] for _ in range(3)]
        assert held[0] == burst.json()["call_id"] and len(set(held)) == 3
        for count in (0, "2", True, 100_001):
            refused = http.post("/calls", json={"event_name": "CHANNEL_HOLD", "count": count})
            assert refused.status_code == 400 and "count" in refused.json()["error"]

        assert http.post("/calls", json={}).status_code == 400
        assert http.post("/calls", json={"event_name": "NOPE"}).status_code == 400
        missing = http.post("/calls", json={"event_name": "CHANNEL_CREATE", "account_id": "0" * 32})
        assert missing.status_code == 404
        assert http.post("/publish", content=b"[1]").status_code == 400

        assert http.post("/drop").json() == {"dropped": 1}
        with pytest.raises(Dropped):
            client.recv()
        client.close()


def test_demo_traffic_on_virtual_time(sim: Simulator, port: int, token: str) -> None:
    sim.events.max_queued = 1000  # the client reads only at the end
    with subscribed_client(port, token, sim.master_account_id, "call.*.*") as client:
        traffic = CallTraffic(sim.events, rate=2, seed=7)
        assert traffic.run_until(0.0) == 1  # the first call starts at once
        assert traffic.run_until(0.9) == 1  # the second, half a second later
        assert traffic.run_until(30.0) > 0
        assert traffic.calls_started == 61
        client.send({"action": "ping", "request_id": "end"})
        client.reply_to("end")
        calls: dict[str, list[str]] = {}
        for event in client.received:
            calls.setdefault(event["data"]["call_id"], []).append(event["name"])
        assert len(calls) == 61
        life = ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_DESTROY"]
        assert all(names == life[: len(names)] for names in calls.values())
        assert sum(names == life for names in calls.values()) >= 61 - 2 * 9  # 9 s at most


def test_the_emit_calls_option() -> None:
    assert parse_args([]).emit_calls is None
    assert parse_args(["--emit-calls", "2.5"]).emit_calls == 2.5
    with pytest.raises(argparse.ArgumentTypeError, match="positive"):
        _calls_per_second("0")
    with pytest.raises(ValueError, match="rate"):
        CallTraffic(Simulator().events, rate=0)


def test_the_banner_names_the_event_socket() -> None:
    text = banner(Simulator(), "http://127.0.0.1:8080")
    assert "Event socket: ws://127.0.0.1:8080/v2/websocket" in text
    assert "http://127.0.0.1:8080/_simulator/events" in text


def test_the_standalone_server_emits_demo_calls() -> None:
    key = "e" * 64
    options = ["--port", "0", "--api-key", key, "--emit-calls", "20"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "audian_async.testing", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().split("listening on ")[1].split()[0]
        login = httpx.put(f"{base}/v2/api_auth", json={"data": {"api_key": key}}, timeout=30)
        token, master = login.json()["auth_token"], login.json()["data"]["account_id"]
        with subscribed_client(int(base.rsplit(":", 1)[1]), token, master, "call.*.*") as client:
            event = client.next_event()  # real traffic: the first one that comes
            assert event["name"] in CALL_EVENTS
            assert event["data"]["custom_channel_vars"]["account_id"] == master
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
