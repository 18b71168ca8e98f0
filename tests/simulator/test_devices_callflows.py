"""Devices and callflows: defaults, references, uniqueness, summaries, search."""

from __future__ import annotations

from typing import Any

from audian_async.testing import Simulator

from .conftest import USER, Session

DEVICE = {"name": "Desk", "sip": {"username": "desk_1001", "password": "s3cret-pass"}}


def _errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_device_defaults_realm_and_hidden_password(sim: Simulator, session: Session) -> None:
    account = (await session.get()).json()["data"]
    created = await session.put("/devices", DEVICE)
    assert created.status_code == 201
    device = created.json()["data"]
    assert device["enabled"] is True and device["device_type"] == "sip_device"
    assert device["sip"] == {"username": "desk_1001", "realm": account["realm"]}
    assert account["realm"].endswith(".sip.audian.com")
    assert (
        "s3cret" not in created.text
        and "s3cret" not in (await session.get(f"/devices/{device['id']}")).text
    )
    assert sim.state.secrets("devices", device["id"]) == {"sip.password": "s3cret-pass"}
    row = (await session.get("/devices")).json()["data"][0]
    assert row == {
        "id": device["id"],
        "name": "Desk",
        "enabled": True,
        "device_type": "sip_device",
        "username": "desk_1001",
    }
    # PATCH of another field keeps the password
    await session.patch(f"/devices/{device['id']}", {"name": "Desk 2"})
    assert sim.state.secrets("devices", device["id"]) == {"sip.password": "s3cret-pass"}


async def test_device_owner_must_exist(session: Session) -> None:
    errors = _errors(await session.put("/devices", {**DEVICE, "owner_id": "a" * 32}))
    assert errors["owner_id"]["not_found"]["message"] == "Referenced user does not exist"
    user = (await session.put("/users", USER)).json()["data"]
    created = await session.put("/devices", {**DEVICE, "owner_id": user["id"]})
    assert created.status_code == 201 and created.json()["data"]["owner_id"] == user["id"]
    errors = _errors(await session.put("/devices", {"name": "x", "owner_id": "short"}))
    assert "minLength" in errors["owner_id"]


async def test_device_sip_rules(session: Session) -> None:
    await session.put("/devices", DEVICE)
    errors = _errors(
        await session.put(
            "/devices", {"name": "Other", "sip": {"username": "DESK_1001", "password": "abcdef"}}
        )
    )
    assert errors == {
        "sip.username": {
            "unique": {"message": "SIP credentials already in use", "cause": "DESK_1001"}
        }
    }
    errors = _errors(await session.put("/devices", {"sip": {"username": "x", "password": "abc"}}))
    assert errors["name"]["required"]["message"] == "Field is required but missing"
    assert errors["sip.username"]["minLength"]["message"] == "String must be at least 2 characters"
    assert errors["sip.password"]["minLength"] == {
        "message": "String must be at least 5 characters",
        "target": 5,
    }


CALLFLOW = {
    "name": "Main Line",
    "numbers": ["+14155550100", "1000"],
    "flow": {
        "module": "ring_group",
        "data": {"timeout": 30},
        "children": {"_": {"module": "voicemail"}},
    },
}


async def test_callflow_rules_and_summary(session: Session) -> None:
    errors = _errors(await session.put("/callflows", {"name": "empty"}))
    assert errors == {
        "numbers": {
            "required": {"message": "Callflows must be assigned at least one number or pattern"}
        }
    }
    created = await session.put("/callflows", CALLFLOW)
    assert created.status_code == 201
    flow = created.json()["data"]
    assert flow["patterns"] == [] and flow["flow"]["children"]["_"]["data"] == {}
    errors = _errors(await session.put("/callflows", {"numbers": ["1000"]}))
    assert errors["numbers"]["unique"]["cause"] == "1000"
    errors = _errors(await session.put("/callflows", {"numbers": ["2000"], "flow": {"data": {}}}))
    assert errors["flow.module"]["required"]["message"] == "Field is required but missing"
    row = (await session.get("/callflows")).json()["data"][0]
    assert row == {
        "id": flow["id"],
        "name": "Main Line",
        "numbers": ["+14155550100", "1000"],
        "patterns": [],
        "modules": ["ring_group", "voicemail"],
    }
    # updating the same callflow with its own numbers is fine
    assert (await session.post(f"/callflows/{flow['id']}", CALLFLOW)).status_code == 200
    assert (await session.put("/callflows", {"patterns": ["^\\*7"]})).status_code == 201


async def test_search_callflows(session: Session) -> None:
    await session.put("/callflows", CALLFLOW)
    await session.put("/callflows", {"name": "Support", "numbers": ["+14155550200"]})
    by_number = await session.get(
        "/search", params={"t": "callflow", "q": "number", "v": "+1415555"}
    )
    assert [r["name"] for r in by_number.json()["data"]] == ["Main Line", "Support"]
    by_name = await session.get("/search", params={"t": "callflow", "q": "name", "v": "sup"})
    assert [r["name"] for r in by_name.json()["data"]] == ["Support"]
    both = await session.get(
        "/search", params={"t": "callflow", "q": "name_and_number", "v": "100"}
    )
    assert [r["name"] for r in both.json()["data"]] == ["Main Line"]
    bad = await session.get("/search", params={"t": "user", "q": "number", "v": "1"})
    assert bad.status_code == 400 and "enum" in bad.json()["data"]["t"]
    missing = await session.get("/search", params={"t": "callflow", "q": "number"})
    assert missing.json()["data"]["v"]["required"]["message"] == "Field is required but missing"
