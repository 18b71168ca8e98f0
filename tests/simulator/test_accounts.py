"""Accounts: the Kazoo document, the tree, and the flat POST /v2/accounts."""

from __future__ import annotations

import re

from audian_async.testing import Simulator

from .conftest import Session


async def test_get_update_patch_account(sim: Simulator, session: Session) -> None:
    got = (await session.get()).json()
    account = got["data"]
    assert account["id"] == sim.master_account_id and account["name"] == "Master Account"
    assert account["enabled"] is True and re.fullmatch(
        r"[0-9a-f]+\.sip\.audian\.com", account["realm"]
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", account["created"])
    assert re.fullmatch(r"1-[0-9a-f]{32}", got["revision"])
    posted = (
        await session.post("", {"name": "Acme Corporation Inc", "timezone": "America/Los_Angeles"})
    ).json()
    assert posted["data"]["realm"] == account["realm"]  # kept when omitted
    assert posted["data"]["timezone"] == "America/Los_Angeles"
    patched = (await session.patch("", {"language": "en-us", "timezone": None})).json()["data"]
    assert patched["language"] == "en-us" and "timezone" not in patched
    assert patched["name"] == "Acme Corporation Inc"


async def test_child_accounts_tree(sim: Simulator, session: Session) -> None:
    child = await session.put(
        "/accounts", {"name": "West Coast Office", "timezone": "America/Los_Angeles"}
    )
    assert child.status_code == 201
    child_id = child.json()["data"]["id"]
    grandchild = await session.client.put(
        f"/accounts/{child_id}/accounts",
        json={"data": {"name": "LA Branch"}},
        headers=session.headers,
    )
    grandchild_id = grandchild.json()["data"]["id"]
    children = (await session.get("/accounts")).json()
    assert [c["id"] for c in children["data"]] == [child_id]
    assert set(children["data"][0]) == {"id", "name", "realm"}
    descendants = (await session.get("/descendants")).json()["data"]
    assert [d["id"] for d in descendants] == [child_id, grandchild_id]
    parents = await session.client.get(
        f"/accounts/{grandchild_id}/parents", headers=session.headers
    )
    assert [p["id"] for p in parents.json()["data"]] == [sim.master_account_id, child_id]
    assert parents.json()["data"][1] == {"id": child_id, "name": "West Coast Office"}
    root = await session.get("/parents")
    assert root.status_code == 200 and root.json()["data"] == []
    # name uniqueness is system-wide on the normalised name
    dup = await session.put("/accounts", {"name": "west-coast  OFFICE"})
    assert dup.status_code == 400 and "unique" in dup.json()["data"]["name"]
    # deleting an account with children is refused, leaves first
    refused = await session.client.delete(f"/accounts/{child_id}", headers=session.headers)
    assert refused.status_code == 400 and refused.json()["message"] == "account_has_descendants"
    gone = await session.client.delete(f"/accounts/{grandchild_id}", headers=session.headers)
    assert gone.status_code == 200 and gone.json()["data"]["_read_only"] == {"deleted": True}
    assert sim.state.children(child_id) == []
    master = await session.delete("")
    assert master.status_code == 403


async def test_child_token_sees_only_its_subtree(sim: Simulator, session: Session) -> None:
    child_id = sim.create_account("Child")
    key = sim.api_key_for(child_id)
    assert sim.api_keys[key] == child_id
    response = await session.client.put("/api_auth", json={"data": {"api_key": key}})
    body = response.json()
    assert (
        body["data"]["account_id"] == child_id
        and body["data"]["reseller_id"] == sim.master_account_id
    )
    parents = await session.client.get(
        f"/accounts/{child_id}/parents", headers={"X-Auth-Token": body["auth_token"]}
    )
    assert [p["id"] for p in parents.json()["data"]] == [sim.master_account_id]


async def test_flat_account_create(sim: Simulator, session: Session) -> None:
    body = {
        "name": "Acme Corporation",
        "displayName": "Acme Corp",
        "email": "admin@acme.com",
        "phone": "+1-555-0100",
        "plan": "professional",
        "address": {"street": "123 Business Ave", "city": "San Francisco", "country": "US"},
        "settings": {"timezone": "America/Los_Angeles", "language": "en"},
        "metadata": {"department": "IT"},
    }
    response = await session.client.post("/accounts", json=body, headers=session.headers)
    assert response.status_code == 201, response.text
    flat = response.json()
    assert set(flat) == {
        "id", "name", "displayName", "email", "phone", "status", "plan",
        "address", "settings", "metadata", "createdAt", "updatedAt",
    }  # fmt: skip
    assert (
        flat["status"] == "active"
        and flat["plan"] == "professional"
        and flat["metadata"] == {"department": "IT"}
    )
    assert "x-request-id" in response.headers
    assert sim.state.parent_of(flat["id"]) == sim.master_account_id
    kazoo = (await session.client.get(f"/accounts/{flat['id']}", headers=session.headers)).json()[
        "data"
    ]
    assert kazoo["name"] == "Acme Corporation" and kazoo["timezone"] == "America/Los_Angeles"


async def test_flat_account_errors(session: Session) -> None:
    async def post(body: object) -> tuple[int, dict[str, object]]:
        response = await session.client.post("/accounts", json=body, headers=session.headers)
        return response.status_code, response.json()

    status, body = await post({"email": "a@b.co"})
    assert status == 400
    assert body == {
        "error": {
            "code": "INVALID_REQUEST",
            "message": "Missing required field: name",
            "details": {"field": "name"},
        }
    }
    status, body = await post({"name": "x" * 101, "email": "a@b.co"})
    assert status == 400 and body["error"]["details"] == {"field": "name"}  # type: ignore[index]
    for bad, field in (
        ({"email": "nope"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"plan": "gold"}, "plan"),
        ({"settings": {"timezone": "Mars/Olympus"}}, "settings.timezone"),
    ):
        status, body = await post({"name": "Fine", "email": "a@b.co", **bad})
        assert status == 400 and body["error"]["details"] == {"field": field}, bad  # type: ignore[index]
    assert (await post({"name": "Dup Co", "email": "a@b.co"}))[0] == 201
    status, body = await post({"name": "dup co", "email": "a@b.co"})
    assert status == 409 and body == {
        "error": {"code": "CONFLICT", "message": "account name already exists"}
    }
    unauth = await session.client.post("/accounts", json={"name": "n", "email": "a@b.co"})
    assert unauth.status_code == 401  # every error of this endpoint is flat, auth included
    assert unauth.json() == {"error": {"code": "UNAUTHORIZED", "message": "invalid credentials"}}
