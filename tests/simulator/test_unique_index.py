"""Uniqueness checks use an index: a create never scans the stored users (both APIs)."""

from __future__ import annotations

from typing import Any, NoReturn

import httpx

from audian_async.testing import SimulatorConfig, create_app
from audian_async.testing._astradial import astradial_state
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY
from audian_async.testing._unique import UniqueIndex


class NoScan(dict[str, Any]):
    """A record table that fails the test if anything walks through it (lookups by id are fine)."""

    def _scan(self, *args: Any) -> NoReturn:
        raise AssertionError("a uniqueness check scanned every record")

    values = items = keys = __iter__ = _scan  # type: ignore[assignment]


async def test_audian_user_and_device_creates_do_not_scan() -> None:
    sim = create_app(SimulatorConfig(bucket_size=None, seed=5))
    account = sim.master_account_id
    for n in range(3000):
        sim.create("users", account, {"first_name": "U", "last_name": str(n), "username": f"u{n}"})
    sim.create(
        "devices",
        account,
        {
            "name": "d",
            "device_type": "sip_device",
            "sip": {"username": "desk", "password": "secret-pw-1"},
        },
    )
    store = sim._core.store
    store.docs["user"] = NoScan(store.docs["user"])
    store.docs["device"] = NoScan(store.docs["device"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim/v2"
    ) as http:
        auth = await http.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
        http.headers["X-Auth-Token"] = auth.json()["auth_token"]

        async def put(collection: str, data: dict[str, Any]) -> httpx.Response:
            return await http.put(f"/accounts/{account}/{collection}", json={"data": data})

        fresh = await put("users", {"first_name": "New", "last_name": "One", "username": "new"})
        taken = await put("users", {"first_name": "Dup", "last_name": "X", "username": "U17"})
        device = await put(
            "devices",
            {
                "name": "e",
                "device_type": "sip_device",
                "sip": {"username": "DESK", "password": "secret-pw-2"},
            },
        )
    assert fresh.status_code == 201
    assert taken.status_code == 400 and "unique" in taken.text
    assert device.status_code == 400 and "SIP credentials already in use" in device.text


def test_index_answers_from_current_values_only() -> None:
    rows = {"a": {"name": "x"}, "b": {"name": "y"}}
    index: UniqueIndex[dict[str, str]] = UniqueIndex(lambda r: [r["name"]])
    for rid, row in rows.items():
        index.put(rid, row)
    rows["a"]["name"] = "z"  # changed without telling the index: the stale "x" is not believed
    assert index.holders("x", rows.get) == []
    index.put("a", rows["a"])
    assert index.holders("z", rows.get) == [rows["a"]]
    del rows["b"]
    assert index.holders("y", rows.get) == []  # gone from the table
    index.drop("b")
    assert len(index) == 1


async def test_astradial_user_creates_do_not_scan() -> None:
    sim = create_app(SimulatorConfig(bucket_size=None, seed=5))
    state = astradial_state(sim)
    org = next(iter(state.orgs))
    for n in range(3000):
        state._insert_user(org, {"extension": str(2000 + n), "email": f"u{n}@x.test"}, 0.0)
    state.users = NoScan(state.users)
    headers = {"X-API-Key": DEFAULT_ASTRADIAL_API_KEY}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim/api/v1", headers=headers
    ) as http:
        body = {"extension": "9001", "full_name": "N", "email": "n@x.test"}
        fresh = await http.post("/users", json=body)
        same_ext = await http.post("/users", json={**body, "email": "other@x.test"})
        same_email = await http.post(
            "/users", json={**body, "extension": "9002", "email": "U5@X.test"}
        )
    assert fresh.status_code == 201, fresh.text
    assert same_ext.status_code == 409 and "Extension" in same_ext.text
    assert same_email.status_code == 409 and "Email" in same_email.text
