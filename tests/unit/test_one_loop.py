"""Logins, JSON calls and downloads share one attempt loop: the same deadline, retry policy,
Retry-After handling and log lines (issue 9, point 5)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx

from audian_async import AsyncAstradial, AsyncAudian, InternalServerError, RateLimitError
from tests.helpers import ACCOUNT, API_KEY, auth_body, envelope, make_jwt

ASTRA = "https://pbx.example.com:8000/api/v1"
KEY = "ak_" + "e" * 32
EMAIL, PASSWORD = "owner@example.com", "pw-" + "s" * 20


@pytest.fixture
def astra_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=ASTRA, assert_all_called=False) as router:
        yield router


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "audian_async"]


async def test_the_login_and_its_retries_write_log_lines_without_secrets(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    mock.put("/api_auth").mock(
        side_effect=[httpx.Response(503), httpx.Response(201, json=auth_body(make_jwt()))]
    )
    mock.get(f"/accounts/{ACCOUNT}/users/u1").respond(200, json=envelope({"id": "u1"}))
    caplog.set_level(logging.DEBUG, logger="audian_async")
    async with AsyncAudian(api_key=API_KEY) as audian:
        await audian.users.get("u1")
    messages = _messages(caplog)
    assert messages[0].startswith("PUT /v2/api_auth -> 503")
    assert "retrying in" in messages[1]
    assert messages[2].startswith("PUT /v2/api_auth -> 201")
    assert messages[3].startswith(f"GET /v2/accounts/{ACCOUNT}/users/u1 -> 200")
    assert not any(API_KEY in m for m in messages)


async def test_the_login_honours_max_retry_after(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    auth = mock.put("/api_auth").respond(429, headers={"Retry-After": "3600"})
    async with AsyncAudian(api_key=API_KEY) as audian:
        with pytest.raises(RateLimitError) as info:
            await audian.authenticate()
    assert auth.call_count == 1 and info.value.retry_after == 3600
    assert sleeps == []


async def test_login_time_is_charged_to_the_calls_deadline(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # The exchange keeps failing with 503: its backoffs use up the call's 1-second deadline.
    mock.put("/api_auth").respond(503, headers={"Retry-After": "0.4"})
    async with AsyncAudian(api_key=API_KEY, deadline=1.0, max_retries=10) as audian:
        with pytest.raises(InternalServerError) as info:
            await audian.users.get("u1")
    assert sleeps == [0.4, 0.4]  # a third wait would end past the deadline
    assert info.value.status_code == 503


async def test_downloads_honour_retry_after_and_log_each_attempt(
    astra_api: respx.MockRouter, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    astra_api.get("/calls/7/recording").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.Response(200, content=b"RIFF....WAVE", headers={"Content-Type": "audio/wav"}),
        ]
    )
    caplog.set_level(logging.DEBUG, logger="audian_async")
    astra = AsyncAstradial(base_url=ASTRA, api_key=KEY)
    async with astra, astra.calls.recording("7") as stream:
        body = b"".join([chunk async for chunk in stream.iter_bytes()])
    assert body == b"RIFF....WAVE"
    assert sleeps == [2.0]
    messages = _messages(caplog)
    assert messages[0].startswith("GET /api/v1/calls/7/recording -> 503")
    assert messages[-1].startswith("GET /api/v1/calls/7/recording -> 200")
    assert not any(KEY in m for m in messages)


async def test_downloads_stop_at_the_deadline(
    astra_api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = astra_api.get("/calls/7/recording").respond(503)
    async with AsyncAstradial(base_url=ASTRA, api_key=KEY, deadline=1.0, max_retries=50) as astra:
        with pytest.raises(InternalServerError):
            async with astra.calls.recording("7"):
                pass
    assert 0 < sum(sleeps) < 1.0
    assert route.call_count == len(sleeps) + 1 < 50


async def test_a_password_login_is_logged_without_the_password(
    astra_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_jwt(86400)
    astra_api.post("/auth/user-login").respond(200, json={"token": token, "user": {"id": "u"}})
    astra_api.get("/users").respond(200, json=[])
    caplog.set_level(logging.DEBUG, logger="audian_async")
    async with AsyncAstradial(base_url=ASTRA, email=EMAIL, password=PASSWORD) as astra:
        await astra.users.list().collect()
    messages = _messages(caplog)
    assert messages[0].startswith("POST /api/v1/auth/user-login -> 200")
    assert not any(PASSWORD in m or token in m for m in messages)
