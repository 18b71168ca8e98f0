"""The open-source flavour reproduces what was observed on the real server (reference 5d, 5e).

Plain httpx against the simulator in process; one test per observed behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from audian_async.testing import Simulator, SimulatorConfig, create_app
from audian_async.testing._astradial import astradial_state

from .test_astradial_sim import KEY, client_for

UNKNOWN_ROUTE = {"error": "Not Found", "documentation": "/api"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    sim = create_app(SimulatorConfig(seed=12, astradial_oss_shapes=True))
    yield sim
    assert sim.contract_violations == []


@pytest.fixture
async def oss(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sim, **{"X-API-Key": KEY}) as client:
        yield client


NEW_USER = {
    "extension": "1099",
    "email": "a@example.com",
    "username": "alice",
    "password": "pw-123456",
}


async def user_ids(oss: httpx.AsyncClient) -> dict[str, str]:
    return {u["extension"]: u["id"] for u in (await oss.get("/users")).json()}


# -- routes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ivrs"),
        ("POST", "/ivrs"),
        ("GET", "/queues/q1/members"),
        ("DELETE", "/queues/q1/members/1001"),
        ("POST", "/did-pool/d1/release"),
    ],
)
async def test_missing_routes_answer_the_unknown_route_404(
    oss: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await oss.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404
    body = response.json()
    assert {k: body[k] for k in UNKNOWN_ROUTE} == UNKNOWN_ROUTE
    assert body["message"] == f"Endpoint /api/v1{path} not found"  # the server's originalUrl


async def test_extra_routes_beyond_the_documented_catalog(oss: httpx.AsyncClient) -> None:
    ids = await user_ids(oss)
    assert (await oss.get(f"/users/{ids['1001']}")).json()["extension"] == "1001"
    queue = (await oss.get("/queues")).json()[0]
    assert (await oss.get(f"/queues/{queue['id']}")).json()["number"] == queue["number"]
    created = await oss.post("/dids", json={"number": "+918065970123"})
    assert created.status_code == 201
    did = created.json()
    # The create answer carries what the INSERT set or defaulted (recordings/flavour.json).
    assert {"pool_status", "call_limit", "recording_enabled"} <= set(did)
    assert not {"monthly_price", "region", "provider", "routing_type"} & set(did)
    fetched = (await oss.get(f"/dids/{did['id']}")).json()
    assert fetched["number"] == "+918065970123"
    assert {"monthly_price", "region", "provider", "requested_at", "trunk"} <= set(fetched)
    routing = f"/dids/{did['id']}/routing"
    assert (await oss.put(routing, json={"routing_type": "extension"})).status_code == 400
    routed = await oss.put(routing, json={"routing_type": "queue", "routing_destination": "5001"})
    assert routed.json()["routing_destination"] == "5001"
    duplicate = await oss.post("/dids", json={"number": "+918065970123"})
    assert (duplicate.status_code, duplicate.json()) == (500, {"error": "Validation error"})
    assert (await oss.post("/dids", json={"number": "+9180", "trunk_id": "t"})).status_code == 400
    assert (await oss.delete(f"/dids/{did['id']}")).status_code == 204
    history = (await oss.get("/calls/history", params={"page": 2, "limit": 20})).json()
    assert set(history) == {"items", "total", "page", "pages", "hasMore"}
    assert (len(history["items"]), history["page"], history["hasMore"]) == (20, 2, True)


async def test_org_key_and_secret_login(sim: Simulator) -> None:
    config = sim.config
    async with client_for(sim) as anonymous:
        missing = await anonymous.post(
            "/auth/login", json={"api_key": config.astradial_org_api_key}
        )
        assert missing.status_code == 400
        wrong = await anonymous.post(
            "/auth/login", json={"api_key": config.astradial_org_api_key, "api_secret": "nope"}
        )
        assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid credentials"})
        ok = await anonymous.post(
            "/auth/login",
            json={
                "api_key": config.astradial_org_api_key,
                "api_secret": config.astradial_org_api_secret,
            },
        )
        body = ok.json()
        assert (body["token_type"], body["expires_in"]) == ("Bearer", "24h")
        assert body["organization"]["id"] == astradial_state(sim).main_org_id
        users = await anonymous.get("/users", headers={"Authorization": body["token"]})
        assert users.status_code == 200  # with or without the `Bearer ` prefix
    async with client_for(sim, **{"X-API-Key": config.astradial_org_api_key}) as keyed:
        assert (await keyed.get("/users")).status_code == 200  # the org key in X-API-Key


# -- writes that ignore names they do not know ------------------------------------------------


async def test_queue_documented_names_are_ignored_with_a_normal_201(
    oss: httpx.AsyncClient,
) -> None:
    documented = await oss.post(
        "/queues",
        json={
            "number": "5101",
            "name": "Docs names",
            "ring_strategy": "linear",
            "moh_class": "jazz",
            "timeout_destination_type": "queue",
            "timeout_destination": "5001",
        },
    )
    assert documented.status_code == 201
    body = documented.json()
    assert (body["strategy"], body["music_on_hold"]) == ("ringall", "default")
    # Not stored on create, and the answer leaves timeout_destination out (recordings).
    assert body["timeout_destination_type"] == "hangup" and "timeout_destination" not in body
    own = await oss.post(
        "/queues",
        json={"number": "5102", "name": "OSS names", "strategy": "linear", "music_on_hold": "jazz"},
    )
    assert (own.json()["strategy"], own.json()["music_on_hold"]) == ("linear", "jazz")


async def test_user_fields_it_does_not_know_are_dropped(oss: httpx.AsyncClient) -> None:
    created = await oss.post(
        "/users",
        json={
            **NEW_USER,
            "ring_target": "phone",
            "phone_number": "+919944421125",
            "outbound_did": "+918065978015",
            "call_recording": False,
            "recording_enabled": False,
        },
    )
    assert created.status_code == 201
    user = created.json()
    # phone_number is not stored, and the create answer leaves it out (recordings/flavour).
    assert user["ring_target"] == "ext" and "phone_number" not in user
    assert (await oss.get(f"/users/{user['id']}")).json()["phone_number"] is None
    assert "outbound_did" not in user and "call_recording" not in user
    assert user["recording_enabled"] is True  # always on at creation
    updated = await oss.put(
        f"/users/{user['id']}",
        json={"ring_target": "phone", "phone_number": "+919944421125", "recording_enabled": False},
    )
    assert updated.status_code == 200
    assert (updated.json()["ring_target"], updated.json()["recording_enabled"]) == ("ext", False)
    owner = await oss.post(
        "/users", json={**NEW_USER, "extension": "1098", "username": "b", "role": "owner"}
    )
    assert owner.status_code == 500  # roles: admin, supervisor, agent, user


# -- queue members -----------------------------------------------------------------------------


async def test_member_records_and_unknown_users(oss: httpx.AsyncClient) -> None:
    ids = await user_ids(oss)
    queue = (await oss.post("/queues", json={"number": "5103", "name": "Q"})).json()
    members = f"/queues/{queue['id']}/members"
    added = await oss.post(members, json={"user_id": ids["1001"], "penalty": 2})
    assert added.status_code == 201
    record = added.json()
    assert set(record) == {
        "id",
        "queue_id",
        "user_id",
        "penalty",
        "paused",
        "ring_inuse",
        "added_at",
        "updated_at",
    }
    assert len(record["id"]) == 36  # a UUID
    unknown = await oss.post(members, json={"user_id": "no-such-user"})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "invalid_user", "skipped": ["no-such-user"]},
    )
    batch = await oss.post(members, json={"user_ids": [ids["1002"], "nope"]})
    assert batch.status_code == 201
    assert [m["user_id"] for m in batch.json()["created"]] == [ids["1002"]]
    only_unknown = await oss.post(members, json={"user_ids": ["nope"]})
    assert (only_unknown.status_code, only_unknown.json()["error"]) == (400, "invalid_user")
    duplicate = await oss.post(members, json={"user_id": ids["1001"]})
    assert (duplicate.status_code, duplicate.json()["error"]) == (409, "already_member")
    embedded = (await oss.get(f"/queues/{queue['id']}")).json()["members"]
    assert embedded[0]["user"]["extension"] == "1001"


# -- calls -------------------------------------------------------------------------------------


async def test_call_rows_carry_the_derived_fields(oss: httpx.AsyncClient) -> None:
    rows = (await oss.get("/calls", params={"limit": 45})).json()["data"]
    derived = {
        "from_number",
        "to_number",
        "started_at",
        "ended_at",
        "talk_time",
        "recording_url",
        "answered_by",
    }
    raw = {"accountcode", "amaflags", "dcontext", "userfield", "peeraccount", "sequence"}
    more = {"hangup_reason", "wait_time", "rang_extension", "answered_type", "disconnected_by"}
    for row in rows:
        assert derived | raw | more <= set(row) and "status" not in row and row["disposition"]
        assert row["hangup_cause"].isdigit()
        # Raw CDR text columns are "" when empty; the server's CASE-derived ones are null.
        assert "" not in (row["answered_type"], row["rang_extension"], row["recording_url"])
    missed = next(r for r in rows if r["disposition"] != "ANSWERED")
    assert (missed["recording_url"], missed["answered_by"]) == (None, None)
    assert (missed["recordingfile"], missed["dstchannel"]) == ("", "")
    answered = next(r for r in rows if r["disposition"] == "ANSWERED")
    assert answered["recording_url"] == f"/api/v1/calls/{answered['id']}/recording"
    assert (answered["hangup_cause"], answered["hangup_reason"]) == ("16", "Normal Clearing")
    assert answered["answered_type"] == "human" and answered["answered_by"] == answered["dst"]


async def test_a_page_size_above_200_is_capped_without_error() -> None:
    sim = create_app(SimulatorConfig(seed=12, astradial_oss_shapes=True, astradial_calls=230))
    async with client_for(sim, **{"X-API-Key": KEY}) as oss:
        response = await oss.get("/calls", params={"limit": 500})
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 200 and body["pagination"]["limit"] == 200


async def test_unknown_journey_is_a_missed_call_not_a_404(oss: httpx.AsyncClient) -> None:
    response = await oss.get("/calls/no-such-call/journey")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["total_duration"], body["steps"]) == ("missed", None, [])


async def test_count_reads_from_and_to_as_dates_and_answers_integers(
    oss: httpx.AsyncClient, sim: Simulator
) -> None:
    # The server counts its own call_records table, not the CDRs the listings read: zeros
    # although calls are seeded; `active` is its in-memory test calls, not the live ones.
    everything = (await oss.get("/calls/count")).json()
    assert everything == {
        "total": 0,
        "active": 0,
        "completed": 0,
        "failed": 0,
        "average_duration": 0,
        "total_duration": 0,
    }
    state = astradial_state(sim)
    march = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
    with state.lock:
        for n, status in enumerate(("completed", "completed", "failed")):
            state.call_records.append(
                {
                    "org_id": state.main_org_id,
                    "status": status,
                    "duration": 10 * (n + 1),
                    "started": march + n * 86_400,
                }
            )
    counted = (await oss.get("/calls/count")).json()
    assert (counted["total"], counted["completed"], counted["failed"]) == (3, 2, 1)
    assert (counted["total_duration"], counted["average_duration"]) == (60, 20)
    first_day = await oss.get("/calls/count", params={"from": "2026-03-01", "to": "2026-03-02"})
    assert first_day.json()["total"] == 1  # `to` is midnight of that day
    failed = await oss.get("/calls/count", params={"status": "failed"})
    assert failed.json()["total"] == 1


async def test_stats_put_the_numbers_under_totals(oss: httpx.AsyncClient, sim: Simulator) -> None:
    stats = (await oss.get("/calls/stats")).json()
    assert "total_calls" not in stats
    assert stats["totals"]["total_calls"] == sim.config.astradial_calls


async def test_transfer_needs_channel_id_and_destination(oss: httpx.AsyncClient) -> None:
    response = await oss.post(
        "/calls/transfer", json={"call_id": "PJSIP/1001-1", "destination": "1"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "channel_id and destination required"},
    )


async def test_password_login_without_the_org_users_table_is_a_500_with_sql() -> None:
    sim = create_app(
        SimulatorConfig(seed=12, astradial_oss_shapes=True, astradial_org_users_table=False)
    )
    config = sim.config
    async with client_for(sim) as client:
        response = await client.post(
            "/auth/user-login",
            json={"email": config.astradial_email, "password": config.astradial_password},
        )
        assert response.status_code == 500 and "org_users" in response.json()["error"]
        org = await client.post(
            "/auth/login",
            json={
                "api_key": config.astradial_org_api_key,
                "api_secret": config.astradial_org_api_secret,
            },
        )
        assert org.status_code == 200  # the organisation login does not need the table
