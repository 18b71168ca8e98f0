"""``with_raw_response`` on each resource: the same calls, each returning an ``APIResponse``."""

from __future__ import annotations

import json

import pytest
import respx

from audian_async import (
    APIResponse,
    AsyncAstradial,
    AsyncAudian,
    NotFoundError,
    ValidationError,
)
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


async def test_raw_calls_take_the_per_call_options(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).respond(201, json=envelope({"id": "u2"}, request_id="r2"))
    raw = await audian.users.with_raw_response.create(
        first_name="A", last_name="B", accept_charges=True, extra_headers={"X-Trace": "t"}
    )
    assert isinstance(raw, APIResponse) and raw.parsed.id == "u2" and raw.request_id == "r2"
    request = route.calls[0].request
    assert request.headers["x-trace"] == "t"
    assert json.loads(request.content)["accept_charges"] is True
    plain = await audian.users.create(first_name="A", last_name="B")
    assert isinstance(plain, User)  # the raw wrapper leaves the resource's own method alone


async def test_raw_upload(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    mock.put(f"/accounts/{ACCOUNT}/faxes").respond(
        201, json=envelope({"id": "f1", "to_number": "+15550100"}, request_id="rf")
    )
    raw = await audian.faxes.with_raw_response.send_upload(
        document=b"%PDF-1.4", to_number="+15550100", from_number="+15550199"
    )
    assert raw.status_code == 201 and raw.parsed.id == "f1" and raw.request_id == "rf"


async def test_raw_write_checked_for_ignored_fields() -> None:
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        router.post("/queues").respond(
            201,
            json={"id": "q1", "number": "5000", "name": "Support"},
            headers={"X-Request-ID": "r"},
        )
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            raw = await astra.queues.with_raw_response.create(number="5000", name="Support")
    assert isinstance(raw, APIResponse) and isinstance(raw.parsed, Queue)
    assert raw.request_id == "r"


async def test_with_streaming_response_streams_a_listings_first_page(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    body = envelope([{"id": "u1"}], next_start_key="k2")
    route = mock.get(USERS).respond(200, json=body)
    listing = audian.users.with_streaming_response.list(page_size=5, filters={"enabled": True})
    async with listing as response:
        assert response.status == 200
        received = b"".join([chunk async for chunk in response.iter_bytes()])
    assert json.loads(received) == body
    params = route.calls[0].request.url.params
    assert params["page_size"] == "5" and params["filter_enabled"] == "true"
    async with audian.with_streaming_response.users.list(paginate=False) as whole:
        await whole.read()
    assert route.calls[1].request.url.params["paginate"] == "false"
    assert route.call_count == 2


async def test_with_streaming_response_raises_typed_errors_and_refuses_max_items(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).respond(404, json={"error": "404", "message": "bad_identifier"})
    with pytest.raises(NotFoundError):
        async with audian.users.with_streaming_response.list():
            pass  # pragma: no cover - the 404 raises on entry
    with pytest.raises(ValidationError) as caught:
        audian.users.with_streaming_response.list(max_items=3)
    assert caught.value.field == "max_items"
    assert route.call_count == 1


async def test_with_streaming_response_of_downloads_and_offset_listings() -> None:
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        recording = router.get("/calls/c1/recording").respond(200, content=b"RIFF....")
        calls = router.get("/calls").respond(200, json={"data": [], "total": 0})
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            async with astra.calls.with_streaming_response.recording("c1") as audio:
                assert await audio.read() == b"RIFF...."
            async with astra.with_streaming_response.calls.list(page_size=7) as page:
                assert json.loads(await page.read()) == {"data": [], "total": 0}
    assert recording.call_count == 1
    params = calls.calls[0].request.url.params
    assert (params["limit"], params["offset"]) == ("7", "0")
