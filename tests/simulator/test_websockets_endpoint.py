"""``GET /v2/websockets``: Kazoo's ``cb_websockets`` listing, served in-process."""

from __future__ import annotations

import httpx

from audian_async.testing import Simulator

from .conftest import login


async def test_the_listing_needs_no_token_and_matches_kazoo(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    response = await client.get("/websockets")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert sorted(data) == ["call", "conference", "fax", "object"]
    assert data["call"] == [
        f"call.{event}.{{CALL_ID}}"
        for event in (
            "CHANNEL_CREATE",
            "CHANNEL_ANSWER",
            "CHANNEL_DESTROY",
            "CHANNEL_HOLD",
            "CHANNEL_UNHOLD",
            "CHANNEL_BRIDGE",
            "PARK_PARKED",
            "PARK_RETRIEVED",
            "PARK_ABANDONED",
        )
    ]
    assert len(data["object"]) == 30  # three actions by ten document types
    assert data["object"][:2] == ["object.doc_created.account", "object.doc_created.callflow"]
    assert data["object"][-1] == "object.doc_deleted.call_recording"
    assert sim.contract_violations == []


async def test_with_a_token_too(sim: Simulator, client: httpx.AsyncClient) -> None:
    session = await login(client, sim.default_api_key)
    response = await client.get("/websockets", headers=session.headers)
    assert response.status_code == 200 and "fax" in response.json()["data"]
