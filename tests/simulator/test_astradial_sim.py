"""The Astradial router (``/api/v1``) with plain httpx, in both answer styles."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from audian_async.testing import Simulator, SimulatorConfig, create_app
from audian_async.testing._astradial import AstradialState, astradial_state
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY

KEY = DEFAULT_ASTRADIAL_API_KEY
EMAIL = "owner@astradial.test"
PASSWORD = "simulator-password"


def make(oss: bool = False, **config: Any) -> Simulator:
    return create_app(SimulatorConfig(seed=11, astradial_oss_shapes=oss, **config))


@pytest.fixture
def docs_sim() -> Iterator[Simulator]:
    sim = make()
    yield sim
    assert sim.contract_violations == []


@pytest.fixture
def oss_sim() -> Iterator[Simulator]:
    sim = make(oss=True)
    yield sim
    assert sim.contract_violations == []


def client_for(sim: Simulator, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim.test/api/v1", headers=headers
    )


@pytest.fixture
async def docs(docs_sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(docs_sim, **{"X-API-Key": KEY}) as c:
        yield c


@pytest.fixture
async def oss(oss_sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(oss_sim, **{"X-API-Key": KEY}) as c:
        yield c


async def login(client: httpx.AsyncClient, email: str = EMAIL) -> str:
    response = await client.post("/auth/user-login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# -- auth -------------------------------------------------------------------------------------


async def test_credentials_are_required(docs_sim: Simulator) -> None:
    async with client_for(docs_sim) as anonymous:
        r = await anonymous.get("/users")
        assert (r.status_code, r.json()) == (401, {"error": "Authentication required"})
        r = await anonymous.get("/users", headers={"X-API-Key": "ak_" + "0" * 32})
        assert r.json() == {"error": "Invalid authentication or organization not active"}
        r = await anonymous.get("/users", headers={"Authorization": "Bearer not.a.jwt"})
        assert (r.status_code, r.json()) == (401, {"error": "Authentication failed"})
        astradial_state(docs_sim).revoked.add(KEY)
        r = await anonymous.get("/users", headers={"X-API-Key": KEY})
        assert r.status_code == 401


async def test_login_and_jwt_lifetime(docs_sim: Simulator) -> None:
    docs_sim.config.astradial_token_lifetime = 600
    async with client_for(docs_sim) as c:
        r = await c.post("/auth/user-login", json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code == 200
        body = r.json()
        assert set(body["user"]) == {"id", "email", "role"}
        token = body["token"]
        found = claims(token)
        assert found["exp"] - found["iat"] == 600
        assert found["orgId"] == astradial_state(docs_sim).main_org_id
        assert (
            await c.get("/users", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 200
        # The Bearer prefix is optional.
        assert (await c.get("/users", headers={"Authorization": token})).status_code == 200
        docs_sim.advance_clock(601)
        r = await c.get("/users", headers={"Authorization": f"Bearer {token}"})
        assert (r.status_code, r.json()) == (401, {"error": "Authentication failed"})


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        ({"email": EMAIL}, 400, {"error": "email and password required"}),
        (
            {"email": "ghost@example.com", "password": PASSWORD},
            404,
            {"error": "No account found with this email."},
        ),
        ({"email": EMAIL, "password": "wrong"}, 401, {"error": "Invalid password."}),
    ],
)
async def test_login_failures(
    docs_sim: Simulator, body: dict[str, Any], status: int, answer: dict[str, Any]
) -> None:
    async with client_for(docs_sim) as c:
        r = await c.post("/auth/user-login", json=body)
    assert (r.status_code, r.json()) == (status, answer)


async def test_login_without_org_or_awaiting_approval(oss_sim: Simulator) -> None:
    async with client_for(oss_sim) as c:
        r = await c.post(
            "/auth/user-login", json={"email": "noorg@astradial.test", "password": PASSWORD}
        )
        assert r.status_code == 404 and r.json()["error"] == "no_org" and r.json()["message"]
        r = await c.post(
            "/auth/user-login", json={"email": "pending@astradial.test", "password": PASSWORD}
        )
        assert r.status_code == 202
        assert r.json()["status"] == "pending_approval" and "token" not in r.json()
        r = await c.post("/auth/user-login", json={"email": EMAIL, "password": PASSWORD})
        assert {"org_id", "org_name", "permissions"} <= set(r.json()["user"])


# -- users ------------------------------------------------------------------------------------

NEW_USER = {
    "extension": "1099",
    "full_name": "Alice Agent",
    "email": "alice@example.com",
    "role": "agent",
    "ring_target": "sip",
    "call_recording": True,
}


async def test_users_documented_shapes(docs: httpx.AsyncClient, docs_sim: Simulator) -> None:
    seeded = (await docs.get("/users")).json()
    assert [u["extension"] for u in seeded] == ["1001", "1002"]
    r = await docs.post("/users", json=NEW_USER)
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["created_at"].endswith("Z") and "createdAt" not in user
    assert user["username"] == "simulated_org_1099"
    assert (user["call_recording"], user["ring_target"]) == (True, "sip")

    dup_ext = await docs.post("/users", json={**NEW_USER, "email": "other@example.com"})
    assert (dup_ext.status_code, dup_ext.json()["error"]) == (409, "Extension already in use")
    dup_email = await docs.post("/users", json={**NEW_USER, "extension": "1098"})
    assert (dup_email.status_code, dup_email.json()["error"]) == (409, "Email already in use")
    for field, value in (("role", "overlord"), ("ring_target", "pager")):
        r = await docs.post(
            "/users", json={**NEW_USER, "extension": "1097", "email": "b@example.com", field: value}
        )
        assert r.status_code == 422, r.text
    r = await docs.post(
        "/users",
        json={**NEW_USER, "extension": "1097", "email": "b@example.com", "ring_target": "phone"},
    )
    assert r.status_code == 422 and "E.164" in r.json()["message"]
    r = await docs.post("/users", json={"extension": "1097"})
    assert r.status_code == 400
    assert r.json()["required_fields"] == ["full_name", "email"]

    r = await docs.put(
        f"/users/{user['id']}", json={"ring_target": "phone", "phone_number": "+919944421125"}
    )
    assert r.status_code == 200 and r.json()["phone_number"] == "+919944421125"
    creds = (await docs.get(f"/users/{user['id']}/sip-credentials")).json()
    assert set(creds) == {"username", "password", "domain", "port", "transport"}
    assert len(creds["password"]) == 12

    other_key = astradial_state(docs_sim).other_api_key
    r = await docs.put(
        f"/users/{user['id']}", json={"full_name": "X"}, headers={"X-API-Key": other_key}
    )
    assert (r.status_code, r.json()) == (404, {"error": "User not in your org"})
    assert (await docs.delete(f"/users/{user['id']}")).status_code == 204
    assert (await docs.delete(f"/users/{user['id']}")).status_code == 404


async def test_users_oss_shapes(oss: httpx.AsyncClient) -> None:
    r = await oss.post("/users", json=NEW_USER)
    assert (r.status_code, r.json()) == (400, {"error": "Required fields missing"})
    body = {**NEW_USER, "ring_target": "ext", "username": "alice", "password": "pw-123456"}
    body.pop("call_recording")
    r = await oss.post("/users", json={**body, "recording_enabled": True})
    assert r.status_code == 201, r.text
    user = r.json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", user["createdAt"])
    assert "created_at" not in user
    assert len(user["sip_password"]) == 12
    assert (user["recording_enabled"], user["ring_target"]) == (True, "ext")
    # The server's `${context_prefix}_${extension}`.
    assert re.fullmatch(r"org_[0-9a-f]{8}__1099", user["asterisk_endpoint"])
    listed = [u for u in (await oss.get("/users?limit=1&page=3")).json() if u["id"] == user["id"]]
    assert "sip_password" not in listed[0]
    assert len((await oss.get("/users?limit=1")).json()) == 3  # paging parameters are ignored

    r = await oss.post(
        "/users", json={**body, "extension": "1098", "username": "al2", "role": "owner"}
    )
    assert r.status_code == 500 and "INSERT INTO" in r.json()["error"]
    r = await oss.post("/users", json={**body, "extension": "1098", "email": "x@example.com"})
    assert (r.status_code, r.json()) == (500, {"error": "Validation error"})  # duplicate username
    r = await oss.post("/users", json={**body, "extension": "1098", "username": "al3"})
    assert r.status_code == 201  # duplicate email accepted
    r = await oss.post("/users", json={**body, "extension": "1001", "username": "al4"})
    assert (r.status_code, r.json()) == (409, {"error": "Extension already exists"})
    r = await oss.post("/users", json={**body, "extension": "12345678901", "username": "al5"})
    assert r.status_code == 500 and "Data too long" in r.json()["error"]
    r = await oss.post(
        "/users", json={**body, "extension": "1096", "username": "al6", "email": "bad"}
    )
    assert r.json() == {"error": "Validation error: Validation isEmail on email failed"}

    creds = (await oss.get(f"/users/{user['id']}/sip-credentials")).json()
    assert creds == {
        "sip_password": user["sip_password"],
        "endpoint": user["asterisk_endpoint"],
        "extension": "1099",
    }
    assert (await oss.delete(f"/users/{user['id']}")).status_code == 204
    r = await oss.delete(f"/users/{user['id']}")
    assert (r.status_code, r.json()) == (404, {"error": "User not found"})


# -- DIDs -------------------------------------------------------------------------------------


async def test_dids_and_pool(
    docs: httpx.AsyncClient, oss: httpx.AsyncClient, docs_sim: Simulator
) -> None:
    dids = (await docs.get("/dids")).json()
    assert [d["number"] for d in dids] == ["+918065978015", "+918065978016"]
    assert set(dids[0]) == {
        "id",
        "number",
        "routing_type",
        "routing_destination",
        "description",
        "status",
    }
    target = dids[1]["id"]
    r = await docs.put(
        f"/dids/{target}", json={"routing_type": "queue", "routing_destination": "5001"}
    )
    assert r.json()["routing_type"] == "queue"
    assert (await docs.put(f"/dids/{target}", json={"routing_type": "fax"})).status_code == 400
    r = await docs.put(
        f"/dids/{target}",
        json={"routing_type": "queue"},
        headers={"X-API-Key": astradial_state(docs_sim).other_api_key},
    )
    assert r.status_code == 404

    state = astradial_state(docs_sim)
    pool = next(d["id"] for d in state.dids.values() if d["org_id"] is None)
    r = await docs.post(f"/did-pool/{pool}/request")
    assert r.status_code == 200 and r.json()["success"] is True
    assert (await docs.post(f"/did-pool/{pool}/request")).status_code == 409
    assert len((await docs.get("/dids")).json()) == 3
    assert (await docs.post(f"/did-pool/{pool}/release")).json()["success"] is True
    assert len((await docs.get("/dids")).json()) == 2

    oss_dids = (await oss.get("/dids")).json()
    assert {"pool_status", "monthly_price", "region", "provider", "createdAt"} <= set(oss_dids[0])


# -- queues -----------------------------------------------------------------------------------


async def test_queues_documented(docs: httpx.AsyncClient) -> None:
    r = await docs.post(
        "/queues",
        json={
            "number": "5002",
            "name": "Sales",
            "ring_strategy": "rrmemory",
            "timeout": 20,
            "moh_class": "jazz",
        },
    )
    assert r.status_code == 201, r.text
    queue = r.json()
    assert (queue["ring_strategy"], queue["moh_class"], queue["timeout"]) == (
        "rrmemory",
        "jazz",
        20,
    )
    assert (await docs.post("/queues", json={"number": "5002", "name": "Dup"})).status_code == 409
    assert (await docs.post("/queues", json={"name": "No number"})).status_code == 400
    assert (
        await docs.post("/queues", json={"number": "5003", "name": "S", "ring_strategy": "random"})
    ).status_code == 400
    r = await docs.put(f"/queues/{queue['id']}", json={"timeout": 60})
    assert r.json()["timeout"] == 60

    members = f"/queues/{queue['id']}/members"
    r = await docs.post(members, json={"extension": "1001", "penalty": 1})
    assert r.status_code == 201 and r.json()["extension"] == "1001"
    r = await docs.post(members, json={"extension": "1001"})
    assert (r.status_code, r.json()["error"]) == (409, "already_member")
    assert (await docs.post(members, json={"extension": "4040"})).status_code == 404
    assert [m["extension"] for m in (await docs.get(members)).json()] == ["1001"]
    assert (await docs.delete(f"{members}/1001")).status_code == 204
    assert (await docs.delete(f"{members}/1001")).status_code == 404
    assert (await docs.delete(f"/queues/{queue['id']}")).status_code == 204


async def test_queues_oss(oss: httpx.AsyncClient) -> None:
    r = await oss.post(
        "/queues",
        json={"number": "5002", "name": "Sales", "strategy": "random", "music_on_hold": "jazz"},
    )
    assert r.status_code == 201, r.text
    queue = r.json()
    assert (queue["strategy"], queue["music_on_hold"]) == ("random", "jazz")
    assert "members" not in queue  # a create answer has no members; get and list do
    assert queue["createdAt"].endswith("Z")
    users = {u["extension"]: u["id"] for u in (await oss.get("/users")).json()}
    members = f"/queues/{queue['id']}/members"
    assert (await oss.get(members)).status_code == 404  # no such route on the OSS server
    assert (await oss.post(members, json={"extension": "1001"})).status_code == 400
    r = await oss.post(members, json={"user_id": users["1001"], "penalty": 2})
    assert r.status_code == 201 and r.json()["user_id"] == users["1001"]
    r = await oss.post(members, json={"user_id": users["1001"]})
    assert (r.status_code, r.json()) == (
        409,
        {"error": "already_member", "skipped": [users["1001"]]},
    )
    r = await oss.post(members, json={"user_ids": [users["1001"], users["1002"]]})
    assert r.status_code == 201
    assert [m["user_id"] for m in r.json()["created"]] == [users["1002"]]
    assert r.json()["skipped"] == [{"user_id": users["1001"], "reason": "already_member"}]
    listed = next(q for q in (await oss.get("/queues")).json() if q["id"] == queue["id"])
    assert [m["user"]["extension"] for m in listed["members"]] == ["1001", "1002"]

    r = await oss.request("DELETE", members, json={"userId": users["1001"]})
    assert r.status_code == 400  # a JSON body is not enough
    assert (await oss.delete(members, params={"userId": users["1001"]})).status_code == 204
    assert (await oss.delete(f"{members}/1002")).status_code == 404  # no by-extension route


# -- IVRs -------------------------------------------------------------------------------------


async def test_ivr_lifecycle(docs: httpx.AsyncClient, docs_sim: Simulator) -> None:
    r = await docs.post(
        "/ivrs", json={"name": "Main", "extension": "6000", "description": "Front door"}
    )
    assert r.status_code == 201, r.text
    ivr = r.json()
    assert (ivr["greeting_language"], ivr["timeout"], ivr["max_retries"]) == ("en-IN", 10, 3)
    assert "createdAt" in ivr and "updatedAt" in ivr
    for ext in ("6000", "1001", "5001"):
        assert (
            await docs.post("/ivrs", json={"name": "Clash", "extension": ext})
        ).status_code == 409
    path = f"/ivrs/{ivr['id']}"
    options = [
        {"digit": "1", "action_type": "queue", "action_destination": "5001"},
        {"digit": "#", "action_type": "hangup", "action_destination": None},
    ]
    r = await docs.put(f"{path}/menu", json={"options": options})
    assert r.status_code == 200 and [o["digit"] for o in r.json()["menuOptions"]] == ["1", "#"]
    bad = [{"digit": "1", "action_type": "queue", "action_destination": "5001"}] * 2
    assert (await docs.put(f"{path}/menu", json={"options": bad})).status_code == 400
    assert (
        await docs.put(f"{path}/menu", json={"options": [{"digit": "12", "action_type": "hangup"}]})
    ).status_code == 400
    assert len((await docs.get(path)).json()["menuOptions"]) == 2
    assert "menuOptions" not in (await docs.get("/ivrs")).json()[0]

    assert (await docs.get(f"{path}/greeting-audio")).status_code == 404
    r = await docs.post(
        f"{path}/generate-greeting", json={"text": "Welcome to Acme", "voice": "en-IN-Wavenet-A"}
    )
    assert r.json() == {
        "success": True,
        "greeting_prompt": f"greeting_ivr_{ivr['id']}",
        "language": "en-IN",
        "voice": "en-IN-Wavenet-A",
    }
    audio = await docs.get(f"{path}/greeting-audio")
    assert audio.headers["content-type"] == "audio/wav" and audio.content[:4] == b"RIFF"
    astradial_state(docs_sim).tts_available = False
    assert (await docs.post(f"{path}/generate-greeting", json={"text": "x"})).status_code == 500
    r = await docs.post(f"{path}/publish")
    assert r.json() == {
        "success": True,
        "message": "Configuration deployed for organization Simulated Org",
    }
    assert (await docs.post(f"{path}/publish")).status_code == 200  # idempotent
    assert astradial_state(docs_sim).published[ivr["id"]] == 2
    assert (await docs.put(path, json={"name": "Renamed"})).json()["name"] == "Renamed"
    assert (await docs.delete(path)).status_code == 204
    assert (await docs.get(path)).status_code == 404


async def test_ivrs_do_not_exist_on_the_oss_server(oss: httpx.AsyncClient) -> None:
    r = await oss.get("/ivrs")
    assert r.status_code == 404
    assert r.json() == {
        "error": "Not Found",
        "message": "Endpoint /api/v1/ivrs not found",  # Express's req.originalUrl
        "documentation": "/api",
    }


# -- calls ------------------------------------------------------------------------------------


async def test_call_history_documented(docs: httpx.AsyncClient) -> None:
    page = (await docs.get("/calls")).json()
    assert (page["total"], page["page"], page["pages"], len(page["data"])) == (45, 1, 3, 20)
    first = page["data"][0]
    assert set(first) == {
        "id",
        "from_number",
        "to_number",
        "direction",
        "status",
        "duration",
        "talk_time",
        "started_at",
        "ended_at",
        "recording_url",
    }
    assert first["id"] == "45"  # newest first
    page3 = (await docs.get("/calls", params={"limit": 20, "offset": 40})).json()
    assert (page3["page"], len(page3["data"])) == (3, 5)
    inbound = (await docs.get("/calls", params={"direction": "inbound", "limit": 200})).json()
    assert inbound["total"] == 15 and {c["direction"] for c in inbound["data"]} == {"inbound"}
    day = (
        await docs.get(
            "/calls", params={"date_from": "2026-03-02", "date_to": "2026-03-02", "limit": 200}
        )
    ).json()
    assert day["total"] > 0 and all(c["started_at"].startswith("2026-03-02") for c in day["data"])
    answered = (await docs.get("/calls", params={"disposition": "ANSWERED", "limit": 200})).json()
    assert all(c["recording_url"] for c in answered["data"])
    assert (await docs.get("/calls", params={"limit": 500})).status_code == 400
    assert (await docs.get("/calls/count", params={"direction": "inbound"})).json() == {"total": 15}
    stats = (await docs.get("/calls/stats")).json()
    assert stats["total_calls"] == 45 and len(stats["weekly"]) == 7


async def test_call_history_oss(oss: httpx.AsyncClient) -> None:
    page = (await oss.get("/calls")).json()
    assert len(page["data"]) == 45 and page["pagination"] == {
        "total": 45,
        "limit": 50,
        "offset": 0,
        "has_more": False,
    }
    row = page["data"][0]
    assert (
        row["id"] == 45
        and "status" not in row
        and row["disposition"] in ("ANSWERED", "NO ANSWER", "FAILED", "BUSY")
    )
    lower = (await oss.get("/calls", params={"disposition": "no answer", "limit": 5})).json()
    assert lower["pagination"]["has_more"] is True
    assert {c["disposition"] for c in lower["data"]} == {"NO ANSWER"}
    count = (await oss.get("/calls/count")).json()
    assert set(count) == {
        "total",
        "active",
        "completed",
        "failed",
        "average_duration",
        "total_duration",
    }
    stats = (await oss.get("/calls/stats")).json()
    assert set(stats) == {"weekly", "totals"} and stats["totals"]["total_calls"] == 45


async def test_empty_stats_are_null_on_the_oss_server() -> None:
    sim = make(oss=True, astradial_calls=0)
    async with client_for(sim, **{"X-API-Key": KEY}) as c:
        totals = (await c.get("/calls/stats")).json()["totals"]
    assert (
        totals["total_calls"] == 0 and totals["inbound"] is None and totals["avg_duration"] is None
    )
    assert sim.contract_violations == []


async def test_live_calls_and_control(docs: httpx.AsyncClient, docs_sim: Simulator) -> None:
    live = (await docs.get("/calls/live")).json()
    assert [c["channel_id"] for c in live] == ["PJSIP/1001-00000001", "PJSIP/trunk-00000002"]
    r = await docs.post(
        "/calls/transfer",
        json={"call_id": "PJSIP/1001-00000001", "destination": "1002", "type": "blind"},
    )
    assert r.status_code == 200 and r.json()["destination"] == "1002"
    assert (
        await docs.post("/calls/transfer", json={"call_id": "PJSIP/9-1", "destination": "1"})
    ).status_code == 404
    r = await docs.post(
        "/calls/hangup-channel", json={"channel_id": "PJSIP/1001-00000001", "reason": "normal"}
    )
    assert r.json() == {"success": True, "channel_id": "PJSIP/1001-00000001"}
    assert len((await docs.get("/calls/live")).json()) == 1

    r = await docs.post(
        "/calls/click-to-call", json={"from": "1001", "to": "9944421125", "to_type": "external"}
    )
    assert r.json() == {"status": "success", "message": "Call initiated"}
    r = await docs.post("/calls/click-to-call", json={"from": "1777", "to": "1001"})
    assert r.status_code == 400
    assert r.json() == {
        "status": "error",
        "message": "Failed to originate call: extension not registered",
    }
    assert (
        await docs.post("/calls/click-to-call", json={"from": "1001", "to": "1", "to_type": "fax"})
    ).status_code == 400
    r = await docs.post("/calls/originate-to-ai", json={"to": "9944421125"})
    assert r.status_code == 400  # the documented API requires wss_url
    r = await docs.post(
        "/calls/originate-to-ai", json={"to": "9944421125", "wss_url": "wss://bot.example/ws"}
    )
    assert r.json()["channel_id"].startswith("PJSIP/trunk-")

    astradial_state(docs_sim).pbx_up = False
    r = await docs.get("/calls/live")
    assert r.status_code == 500 and r.json()["status"] == "error"


async def test_live_calls_and_control_oss(oss: httpx.AsyncClient, oss_sim: Simulator) -> None:
    live = (await oss.get("/calls/live")).json()
    assert live["count"] == 2 and live["calls"][0]["status"] == "Up"
    r = await oss.post(
        "/calls/transfer", json={"call_id": "PJSIP/1001-00000001", "destination": "1002"}
    )
    assert (r.status_code, r.json()) == (400, {"error": "channel_id and destination required"})
    r = await oss.post(
        "/calls/transfer",
        json={
            "channel_id": "PJSIP/1001-00000001",
            "destination": "5001",
            "destination_type": "queue",
        },
    )
    assert r.json()["success"] is True
    r = await oss.post(
        "/calls/click-to-call", json={"from": "1001", "to": "5001", "to_type": "queue"}
    )
    assert r.json()["success"] is True and r.json()["call"]["to_type"] == "queue"
    r = await oss.post("/calls/click-to-call", json={"from": "1777", "to": "1001"})
    assert (r.status_code, r.json()) == (
        500,
        {"error": "Failed to originate call", "details": "extension not registered"},
    )
    r = await oss.post("/calls/click-to-call", json={"to": "1001"})
    assert r.json() == {"error": "Missing required fields", "required": ["from", "to"]}
    r = await oss.post("/calls/originate-to-ai", json={"to": "1002"})
    assert r.json()["success"] is True  # wss_url optional
    r = await oss.post("/calls/originate-to-ai", json={"to": "1002", "wss_url": "https://nope"})
    assert r.status_code == 400
    astradial_state(oss_sim).pbx_up = False
    r = await oss.post("/calls/hangup-channel", json={"channel_id": "PJSIP/1001-00000001"})
    # The handler answers the refused manager connection's own message.
    assert (r.status_code, r.json()) == (500, {"error": "connect ECONNREFUSED 127.0.0.1:5038"})


async def test_recordings_and_journey(docs: httpx.AsyncClient, docs_sim: Simulator) -> None:
    answered = (await docs.get("/calls", params={"disposition": "ANSWERED", "limit": 1})).json()[
        "data"
    ][0]
    r = await docs.get(answered["recording_url"].removeprefix("/api/v1"))
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert len(r.content) == docs_sim.config.astradial_recording_size and r.content[:4] == b"RIFF"
    missed = (await docs.get("/calls", params={"disposition": "BUSY", "limit": 1})).json()["data"][
        0
    ]
    assert (await docs.get(f"/calls/{missed['id']}/recording")).status_code == 404
    assert (await docs.get("/calls/99999/recording")).status_code == 404

    state: AstradialState = astradial_state(docs_sim)
    linked = next(c["linkedid"] for c in state.calls if c["id"] == int(answered["id"]))
    journey = (await docs.get(f"/calls/{linked}/journey")).json()
    assert journey["linkedid"] == linked and journey["status"] == "answered"
    assert journey["steps"][-1]["action"] == "Bridged"
    assert (await docs.get("/calls/0.0/journey")).status_code == 404


async def test_oss_recordings_need_a_jwt_of_a_manager(
    oss: httpx.AsyncClient, oss_sim: Simulator
) -> None:
    call_id = next(c["id"] for c in astradial_state(oss_sim).calls if c["has_recording"])
    path = f"/calls/{call_id}/recording"
    r = await oss.get(path)
    assert (r.status_code, r.json()) == (401, {"error": "Authentication required"})
    async with client_for(oss_sim) as c:
        owner = await login(c)
        agent = await login(c, "agent@astradial.test")
        assert (await c.get(path, headers={"Authorization": f"Bearer {owner}"})).status_code == 200
        assert (await c.get(path, params={"token": owner})).status_code == 200
        r = await c.get(path, headers={"Authorization": f"Bearer {agent}"})
        assert r.status_code == 403 and r.json()["your_role"] == "agent"


async def test_other_organisation_sees_nothing(
    docs: httpx.AsyncClient, docs_sim: Simulator
) -> None:
    other = {"X-API-Key": astradial_state(docs_sim).other_api_key}
    assert [u["extension"] for u in (await docs.get("/users", headers=other)).json()] == ["2001"]
    assert (await docs.get("/calls", headers=other)).json()["total"] == 3
    queue = (await docs.get("/queues")).json()[0]
    assert (
        await docs.put(f"/queues/{queue['id']}", json={"timeout": 1}, headers=other)
    ).status_code == 404
    assert (await docs.get("/calls/1/recording", headers=other)).status_code == 404


async def test_unknown_route_and_reset() -> None:
    sim = make(check_contract=False)
    async with client_for(sim, **{"X-API-Key": KEY}) as c:
        r = await c.get("/nowhere")
        assert r.status_code == 404 and r.json()["documentation"] == "/api"
        r = await c.patch("/users/x")
        assert r.status_code == 404
        assert (await c.post("/users", json={**NEW_USER})).status_code == 201
        assert len((await c.get("/users")).json()) == 3
        sim.reset()
        assert len((await c.get("/users")).json()) == 2
        r = await c.post(
            "/users", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400
