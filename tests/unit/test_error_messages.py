"""Error messages say what happened and what to do, with the path that failed."""

from __future__ import annotations

import httpx
import pytest
import respx

from audian_async import (
    APIConnectionError,
    AsyncAstradial,
    AsyncAudian,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
)
from audian_async.testing import SimulatorConfig, create_app
from audian_async.testing._config import DEFAULT_ASTRADIAL_API_KEY
from tests.helpers import ACCOUNT, API_KEY, BASE

ROOT = "https://pbx.example.com:8000"
DID_TYPES = "extension, queue, ivr, ai_agent, external, intercom"


async def test_a_wrong_audian_key_says_the_key_was_refused() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(
            404,
            json={
                "status": "error",
                "error": "404",
                "message": "bad_identifier",
                "data": {"message": "bad identifier"},
            },
        )
        async with AsyncAudian(api_key=API_KEY) as audian:
            with pytest.raises(AuthenticationError) as info:
                await audian.users.get("u1")
    message = str(info.value)
    assert message.startswith("the API key was refused")
    assert "AUDIAN_API_KEY" in message
    assert "404 bad_identifier" in message  # the server's words stay, after the explanation
    assert API_KEY not in message


async def test_a_wrong_astradial_login_says_the_login_was_refused() -> None:
    with respx.mock(base_url=ROOT + "/api/v1") as mock:
        mock.post("/auth/user-login").respond(401, json={"error": "Invalid credentials"})
        async with AsyncAstradial(base_url=ROOT, email="a@b.c", password="nope-123") as c:
            with pytest.raises(AuthenticationError) as info:
                await c.users.get("u1")
    assert str(info.value).startswith("the email and password were refused")


async def test_an_invalid_value_names_the_values_the_spec_knows() -> None:
    with respx.mock(base_url=ROOT + "/api/v1") as mock:
        route = mock.post("/dids").respond(400, json={"error": "Invalid routing_type"})
        async with AsyncAstradial(base_url=ROOT, api_key=DEFAULT_ASTRADIAL_API_KEY) as c:
            with pytest.raises(BadRequestError) as info:
                await c.dids.create(
                    number="+14155550100", routing_type="user", routing_destination="1001"
                )
    assert route.call_count == 1  # an open enum: the server judges, never refused client-side
    assert f"valid values (spec): {DID_TYPES}" in str(info.value)


async def test_an_invalid_value_names_the_values_the_server_listed() -> None:
    sim = create_app(SimulatorConfig(seed=3))
    async with AsyncAstradial(
        base_url="http://sim",
        api_key=DEFAULT_ASTRADIAL_API_KEY,
        transport=httpx.ASGITransport(app=sim),
    ) as c:
        with pytest.raises(BadRequestError) as info:
            await c.dids.create(
                number="+14155550100", routing_type="user", routing_destination="1001"
            )
    assert f"valid values: {DID_TYPES}" in str(info.value)


async def test_a_simulator_contract_violation_carries_its_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = create_app(SimulatorConfig(seed=3, bucket_size=None))
    cause = "GET /v2/accounts/{account_id}/users/{user_id} 200: 'id' is a required property"
    monkeypatch.setattr(
        sim.contract, "check", lambda method, path, *rest: [cause] if "/users/" in path else []
    )
    async with AsyncAudian(
        api_key=sim.default_api_key,
        base_url="http://sim/v2",
        max_retries=0,
        transport=httpx.ASGITransport(app=sim),
    ) as audian:
        with pytest.raises(InternalServerError) as info:
            await audian.users.get("f" * 32)
    assert "simulator contract violation" in str(info.value)
    assert "'id' is a required property" in str(info.value)
    assert "'id' is a required property" in (info.value.server_message or "")


async def test_messages_show_the_path_that_failed_with_its_ids(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.get(f"/accounts/{ACCOUNT}/users/u-42").respond(404, json={"error": "404"})
    with pytest.raises(NotFoundError) as info:
        await audian.users.get("u-42")
    assert f"[GET /accounts/{ACCOUNT}/users/u-42" in str(info.value)
    assert "{user_id}" not in str(info.value)
    assert info.value.url == "/accounts/{account_id}/users/{user_id}"  # the template, as documented


async def test_connection_errors_show_the_path_that_failed(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.get(f"/accounts/{ACCOUNT}/users/u-43").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await audian.with_options(max_retries=0).users.get("u-43")
    assert f"/accounts/{ACCOUNT}/users/u-43" in str(info.value)
    assert "{user_id}" not in str(info.value)


async def test_a_streamed_download_error_shows_the_path_that_failed() -> None:
    with respx.mock(base_url=ROOT + "/api/v1") as mock:
        mock.get("/calls/9/recording").respond(404, json={"error": "Recording not found"})
        async with AsyncAstradial(base_url=ROOT, api_key=DEFAULT_ASTRADIAL_API_KEY) as c:
            with pytest.raises(NotFoundError) as info:
                async with c.calls.recording("9") as stream:
                    await stream.read()
    assert "[GET /calls/9/recording" in str(info.value)
