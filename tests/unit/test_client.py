"""Client behaviour: views, raw responses, injected HTTP clients, secrets, logging, import cost."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import respx

from audian_async import APIResponse, AsyncAudian, AudianError, BadRequestError
from audian_async.audian import Device, DeviceSip
from tests.helpers import ACCOUNT, API_KEY, BASE, auth_body, envelope, make_jwt

USERS = f"/accounts/{ACCOUNT}/users"


async def test_for_account_targets_another_account_and_shares_auth(
    audian: AsyncAudian, mock: respx.MockRouter, auth_route: respx.Route
) -> None:
    child = "c" * 32
    route = mock.get(f"/accounts/{child}/users/u1").respond(200, json=envelope({"id": "u1"}))
    view = audian.for_account(child)
    await view.users.get("u1")
    await audian.authenticate()
    assert route.call_count == 1
    assert auth_route.call_count == 1  # one exchange for the client and its views
    assert view.account_id == child
    assert audian.account_id == ACCOUNT


async def test_with_raw_response_exposes_envelope_metadata(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.get(USERS + "/u1").respond(
        200,
        json=envelope(
            {"id": "u1"},
            request_id="rid-7",
            revision="3-abc",
            tokens={"consumed": 1, "remaining": 99},
            auth_token="tok-SECRET-xyz",
        ),
    )
    raw = await audian.with_raw_response.users.get("u1")
    assert isinstance(raw, APIResponse)
    assert raw.parsed.id == "u1"
    assert raw.request_id == "rid-7"
    assert raw.revision == "3-abc"
    assert raw.tokens == {"consumed": 1, "remaining": 99}
    assert raw.status_code == 200
    assert isinstance(raw.http_response, httpx.Response)
    assert "auth_token" not in raw.envelope
    assert "tok-SECRET-xyz" not in repr(raw)


async def test_requests_carry_headers_and_a_request_id(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).respond(201, json=envelope({"id": "u1"}))
    await audian.users.create(
        first_name="J", last_name="S", extra_headers={"X-Trace": "t1"}, extra_body={"custom": 1}
    )
    request = route.calls[0].request
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-trace"] == "t1"
    assert re.fullmatch(r"[0-9a-f]{32}", request.headers["x-request-id"])
    await audian.users.create(first_name="K", last_name="T")
    assert route.calls[1].request.headers["x-request-id"] != request.headers["x-request-id"]
    assert request.headers["user-agent"].startswith("audian-async/")
    assert json.loads(request.read()) == {
        "data": {"first_name": "J", "last_name": "S", "custom": 1}
    }


async def test_injected_httpx_client_is_used_and_not_closed(
    mock: respx.MockRouter, auth_route: respx.Route
) -> None:
    mock.get(USERS + "/u1").respond(200, json=envelope({"id": "u1"}))
    async with httpx.AsyncClient() as http:
        async with AsyncAudian(api_key=API_KEY, http_client=http) as audian:
            await audian.users.get("u1")
        assert not http.is_closed


async def test_injected_httpx_transport() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api_auth"):
            return httpx.Response(201, json=auth_body(make_jwt()))
        return httpx.Response(200, json=envelope({"id": "u1"}))

    async with AsyncAudian(api_key=API_KEY, transport=httpx.MockTransport(handler)) as audian:
        user = await audian.users.get("u1")
    assert user.id == "u1"


def test_bad_injections_are_rejected() -> None:
    with pytest.raises(TypeError, match="http_client"):
        AsyncAudian(api_key=API_KEY, http_client=object())
    with pytest.raises(TypeError, match="transport"):
        AsyncAudian(api_key=API_KEY, transport=object())


async def test_closed_client_refuses_calls(mock: respx.MockRouter, auth_route: respx.Route) -> None:
    audian = AsyncAudian(api_key=API_KEY)
    await audian.aclose()
    assert audian.is_closed
    with pytest.raises(AudianError, match="closed"):
        await audian.users.get("u1")


async def test_no_secret_in_reprs_logs_or_errors(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    token = make_jwt()
    mock.put("/api_auth").respond(201, json=auth_body(token))
    password = "s3cret-sip-pw"
    mock.put(f"/accounts/{ACCOUNT}/devices").respond(
        201,
        json=envelope(
            {"id": "d1", "name": "Desk", "sip": {"username": "jane", "password": password}},
            auth_token=token,
        ),
    )
    mock.get(USERS + "/bad").respond(
        400,
        json={
            "status": "error",
            "error": "400",
            "message": "validation error",
            "auth_token": token,
            "data": {"password": {"minLength": {"message": "too short", "value": password}}},
        },
    )
    caplog.set_level(logging.DEBUG)
    async with AsyncAudian(api_key=API_KEY) as audian:
        device = await audian.devices.create(
            name="Desk", sip={"username": "jane", "password": password}
        )
        with pytest.raises(BadRequestError) as info:
            await audian.users.get("bad")
        texts = [
            repr(audian),
            repr(device),
            repr(device.sip),
            str(info.value),
            repr(info.value.body),
            repr(audian._core.shared.authenticator.strategy),
            repr(audian._core.shared.authenticator.current),
        ]
    texts += [r.getMessage() for r in caplog.records]
    out = capsys.readouterr()
    texts += [out.out, out.err]
    blob = "\n".join(texts)
    for secret in (API_KEY, token, password):
        assert secret not in blob
    assert (
        isinstance(device.sip, DeviceSip) and device.sip.password == password
    )  # still readable in code
    assert "***" in repr(device.sip)


async def test_one_debug_line_per_request_and_retry(
    audian: AsyncAudian,
    mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    sleeps: list[float],
) -> None:
    mock.get(USERS + "/u1").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=envelope({"id": "u1"}), headers={"X-Request-ID": "rid-9"}),
        ]
    )
    await audian.authenticate()
    caplog.set_level(logging.DEBUG, logger="audian_async")
    await audian.users.get("u1")
    messages = [r.getMessage() for r in caplog.records if r.name == "audian_async"]
    assert len(messages) == 3, messages
    assert messages[0].startswith(f"GET /v2/accounts/{ACCOUNT}/users/u1 -> 503")
    assert "retrying in" in messages[1]
    assert "-> 200" in messages[2] and "request_id=rid-9" in messages[2] and "ms" in messages[2]


def test_import_is_lazy_and_silent() -> None:
    code = (
        "import sys, logging; import audian_async; "
        "heavy = [m for m in ('httpx', 'cattrs', 'audian_async._generated.audian.models.user', 'aiohttp', 'starlette') if m in sys.modules]; "
        "print(heavy, logging.getLogger('audian_async').handlers)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] []"
    assert result.stderr == ""


def test_first_resource_access_loads_only_that_resource() -> None:
    code = (
        "import sys; from audian_async import AsyncAudian; c = AsyncAudian(api_key='k'); c.users; "
        "print(sorted(m.rsplit('.', 1)[-1] for m in sys.modules if m.startswith('audian_async._generated.audian.resources.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['users']"


def test_models_keep_unknown_fields_and_tolerate_new_enum_values() -> None:
    device = Device.from_dict(
        {
            "id": "d",
            "device_type": "hologram",
            "brand_new": [1, 2],
            "sip": {"username": "u", "z": True},
        }
    )
    assert device.device_type == "hologram"
    assert device.extra == {"brand_new": [1, 2]}
    assert device.sip is not None and device.sip.extra == {"z": True}
    assert device.to_dict() == {
        "id": "d",
        "device_type": "hologram",
        "brand_new": [1, 2],
        "sip": {"username": "u", "z": True},
    }


def test_base_url_default() -> None:
    assert AsyncAudian(api_key=API_KEY).base_url == BASE


ROOT = Path(__file__).resolve().parents[2]


def test_a_call_needs_only_the_declared_dependencies() -> None:
    # sniffio is not a dependency of audian-async (nor of anyio 4): the credential exchange,
    # which runs as a task of its own, must not need it.
    code = """
import sys
sys.modules["sniffio"] = None
import asyncio, httpx
from audian_async import AsyncAudian
from tests.helpers import auth_body, envelope, make_jwt

def handler(request):
    if request.url.path.endswith("/api_auth"):
        return httpx.Response(201, json=auth_body(make_jwt()))
    return httpx.Response(200, json=envelope({"id": "u1"}))

async def main():
    async with AsyncAudian(api_key="k" * 8, transport=httpx.MockTransport(handler)) as audian:
        print((await audian.users.get("u1")).id)

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "u1"


async def test_an_update_with_a_fetched_model_sends_no_server_owned_fields(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    doc = {"id": "u1", "first_name": "Ada", "last_name": "L", "features": ["vm_to_email"], "x": 1}
    mock.get(f"/accounts/{ACCOUNT}/users/u1").respond(200, json=envelope(doc))
    update = mock.post(f"/accounts/{ACCOUNT}/users/u1").respond(200, json=envelope(doc))
    user = await audian.users.get("u1")
    await audian.users.update("u1", user, last_name="Lovelace")
    sent = json.loads(update.calls[0].request.content)["data"]
    assert sent == {"first_name": "Ada", "last_name": "Lovelace", "x": 1}
