"""``with_raw_response`` on each resource: the same calls, each returning an ``APIResponse``."""

from __future__ import annotations

import json

import respx

from audian_async import APIResponse, AsyncAstradial, AsyncAudian
from audian_async.astradial import Queue
from audian_async.audian import User
from tests.helpers import ACCOUNT, envelope

USERS = f"/accounts/{ACCOUNT}/users"


async def test_resource_with_raw_response_gives_the_typed_result_and_metadata(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.get(f"{USERS}/u1").respond(
        200,
        json=envelope({"id": "u1", "first_name": "Jane"}, request_id="req-9", revision="3-x"),
        headers={"X-Request-ID": "req-9"},
    )
    raw = await audian.users.with_raw_response.get("u1")
    assert isinstance(raw, APIResponse)
    assert isinstance(raw.parsed, User) and raw.parsed.first_name == "Jane"
    assert raw.status_code == 200
    assert raw.request_id == "req-9" and raw.revision == "3-x"
    assert raw.headers["x-request-id"] == "req-9"


async def test_resource_with_raw_response_is_one_object_bound_to_the_same_view(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    assert audian.users.with_raw_response is audian.users.with_raw_response
    other = "b" * 32
    route = mock.put(f"/accounts/{other}/users").respond(201, json=envelope({"id": "u2"}))
    raw = await audian.for_account(other).users.with_raw_response.create(
        first_name="A", last_name="B"
    )
    assert raw.status_code == 201 and raw.parsed.id == "u2"
    assert json.loads(route.calls[0].request.content) == {
        "data": {"first_name": "A", "last_name": "B"}
    }


async def test_astradial_resources_have_it_too() -> None:
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        router.get("/queues/q1").respond(
            200,
            json={"id": "q1", "number": "5000", "name": "Support"},
            headers={"X-Request-ID": "r1"},
        )
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            raw = await astra.queues.with_raw_response.get("q1")
            calls_raw = astra.calls.with_raw_response  # calls is the SDK's subclass
    assert isinstance(raw.parsed, Queue) and raw.parsed.name == "Support"
    assert raw.request_id == "r1"
    assert type(calls_raw).__name__ == "RawCallsResource"
