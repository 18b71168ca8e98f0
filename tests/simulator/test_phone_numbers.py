"""Phone numbers: the keyed listing, percent-encoded paths, 409, search for available numbers."""

from __future__ import annotations

import httpx

from audian_async.testing import Simulator, SimulatorConfig, create_app

from .conftest import Session, asgi_client, login

NUMBER = "+14155550001"
ENCODED = "%2B14155550001"


async def test_number_lifecycle(sim: Simulator, session: Session) -> None:
    created = await session.put(f"/phone_numbers/{ENCODED}", {})
    assert created.status_code == 201
    doc = created.json()["data"]
    assert doc["id"] == NUMBER and doc["state"] == "in_service" and doc["features"] == []
    assert set(doc["_read_only"]) == {"created", "modified", "state"}
    assert doc["_read_only"]["created"] > 63_000_000_000  # Gregorian seconds
    again = await session.put(f"/phone_numbers/{ENCODED}", {})
    assert again.status_code == 409 and again.json()["message"] == "number_exists"
    posted = await session.post(
        f"/phone_numbers/{ENCODED}", {"cnam": {"display_name": "ACME"}, "label": "main"}
    )
    assert (
        posted.json()["data"]["features"] == ["cnam"] and posted.json()["data"]["label"] == "main"
    )
    posted = await session.post(
        f"/phone_numbers/{ENCODED}",
        {
            "cnam": {"display_name": "ACME"},
            "label": "main",
            "e911": {
                "street_address": "1 Main",
                "locality": "SF",
                "region": "CA",
                "postal_code": "94105",
            },
        },
    )
    assert posted.json()["data"]["features"] == ["cnam", "e911"]
    bad = await session.post(f"/phone_numbers/{ENCODED}", {"e911": {"region": "California"}})
    assert bad.status_code == 400 and "maxLength" in bad.json()["data"]["e911.region"]
    replaced = await session.post(f"/phone_numbers/{ENCODED}", {"e911": {"region": "CA"}})
    assert (
        replaced.status_code == 400 and "required" in replaced.json()["data"]["e911.street_address"]
    )
    fetched = await session.get(f"/phone_numbers/{ENCODED}")
    assert fetched.json()["data"]["cnam"] == {"display_name": "ACME"}
    deleted = await session.delete(f"/phone_numbers/{ENCODED}")
    assert deleted.json()["data"]["_read_only"]["deleted"] is True
    assert (await session.get(f"/phone_numbers/{ENCODED}")).status_code == 404
    assert sim.state.phone_numbers() == {}


async def test_listing_is_keyed_by_number(sim: Simulator, session: Session) -> None:
    for n in ("+14155550003", "+14155550001", "+14155550002"):
        assert (
            await session.put(
                f"/phone_numbers/{n.replace('+', '%2B')}",
                {"cnam": {"display_name": "X"}} if n.endswith("1") else {},
            )
        ).status_code == 201
    await session.put("/callflows", {"numbers": ["+14155550002"]})
    body = (await session.get("/phone_numbers")).json()
    assert list(body["data"]) == ["+14155550001", "+14155550002", "+14155550003"]
    entry = body["data"]["+14155550001"]
    assert entry["state"] == "in_service" and entry["features"] == ["cnam"]
    assert isinstance(entry["created"], int) and isinstance(entry["updated"], int)
    assert body["data"]["+14155550002"]["assigned_to"]["type"] == "callflow"
    page = (await session.get("/phone_numbers", params={"page_size": 2})).json()
    assert list(page["data"]) == ["+14155550001", "+14155550002"] and "next_start_key" in page
    rest = (
        await session.get(
            "/phone_numbers", params={"page_size": 2, "start_key": page["next_start_key"]}
        )
    ).json()
    assert list(rest["data"]) == ["+14155550003"] and "next_start_key" not in rest
    filtered = (
        await session.get("/phone_numbers", params={"filter_features": "x", "has_key": "cnam"})
    ).json()
    assert filtered["data"] == {}
    cnam_only = (await session.get("/phone_numbers", params={"has_key": "cnam"})).json()
    assert list(cnam_only["data"]) == ["+14155550001"]


async def test_number_patch_merges() -> None:
    sim = create_app(SimulatorConfig())
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        await s.put(f"/phone_numbers/{ENCODED}", {"cnam": {"display_name": "ACME"}})
        patched = await s.patch(
            f"/phone_numbers/{ENCODED}", {"cnam": {"inbound_lookup": True}, "x": 1}
        )
        assert patched.status_code == 200
        assert patched.json()["data"]["cnam"] == {"display_name": "ACME", "inbound_lookup": True}
        assert patched.json()["data"]["x"] == 1
    assert sim.contract_violations == []


async def test_nested_listing_switch() -> None:
    sim = create_app(SimulatorConfig(phone_numbers_nested=True))
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        await s.put(f"/phone_numbers/{ENCODED}", {})
        body = (await s.get("/phone_numbers")).json()
        assert body["data"]["cascade_quantity"] == 0 and list(body["data"]["numbers"]) == [NUMBER]
    assert sim.contract_violations == []


async def test_number_forms(session: Session) -> None:
    plain = await session.put("/phone_numbers/4155550009", {})
    assert plain.status_code == 201 and plain.json()["data"]["id"] == "+14155550009"
    for bad in ("abc", "%2B0123", "12"):
        response = await session.put(f"/phone_numbers/{bad}", {})
        assert response.status_code == 404 and response.json()["message"] == "bad_identifier"
    state = await session.put("/phone_numbers/%2B14155550010", {"create_with_state": "reserved"})
    assert state.json()["data"]["state"] == "reserved"


async def test_find_available_numbers(sim: Simulator, session: Session) -> None:
    found = await session.client.get(
        "/phone_numbers", params={"prefix": "415", "quantity": 3}, headers=session.headers
    )
    assert found.status_code == 200
    assert found.json()["data"] == ["+14155550100", "+14155550101", "+14155550102"]
    await session.put("/phone_numbers/%2B14155550100", {})
    again = await session.client.get(
        "/phone_numbers", params={"prefix": "415", "quantity": 2}, headers=session.headers
    )
    assert again.json()["data"] == ["+14155550101", "+14155550102"]
    assert (await session.client.get("/phone_numbers", params={"prefix": "415"})).status_code == 401
    missing = await session.client.get("/phone_numbers", headers=session.headers)
    assert missing.status_code == 400 and "prefix" in missing.json()["data"]


async def test_number_search_follows_kazoos_find_numbers_rules(session: Session) -> None:
    async def search(**params: object) -> httpx.Response:
        return await session.client.get("/phone_numbers", params=params, headers=session.headers)

    short = await search(prefix="41")
    assert short.status_code == 400 and "minLength" in short.json()["data"]["prefix"]
    long = await search(prefix="14155550100")
    assert long.status_code == 400 and "maxLength" in long.json()["data"]["prefix"]
    assert (await search(prefix="415", quantity=0)).status_code == 400
    assert (await search(prefix="abc")).json()["data"] == []  # no carrier has it
    many = await search(prefix="415", quantity=500)  # no upper bound; the carrier has 100
    assert many.status_code == 200 and len(many.json()["data"]) == 100
