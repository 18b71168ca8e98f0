"""Exceptions carry ``.request`` and ``.response``, with every secret masked."""

from __future__ import annotations

import httpx
import pytest
import respx

from audian_async import (
    APIConnectionError,
    APIStatusError,
    AsyncAstradial,
    AsyncAudian,
    NotFoundError,
    RateLimitError,
    RequestInfo,
    ResponseInfo,
)
from audian_async._request_info import safe_url
from tests.helpers import ACCOUNT, API_KEY, BASE, auth_body, make_jwt

USERS = f"/accounts/{ACCOUNT}/users"


def everything_shown(exc: BaseException) -> str:
    """Every string an exception offers to a log or a debugger."""
    assert isinstance(exc, APIConnectionError | APIStatusError)
    parts = [str(exc), repr(exc), repr(vars(exc))]
    request = exc.request
    assert request is not None
    parts += [repr(request), request.url, repr(dict(request.headers))]
    if isinstance(exc, APIStatusError):
        parts += [repr(exc.response), repr(dict(exc.response.headers)), repr(dict(exc.headers))]
    return "\n".join(parts)


async def test_a_status_error_carries_the_request_and_the_response_masked() -> None:
    token = make_jwt()
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(token))
        mock.get(f"{USERS}/nobody").respond(
            404,
            json={"error": "404", "status": "error", "message": "bad identifier", "data": {}},
            headers={"X-Request-ID": "req-404", "X-Auth-Token": token, "Set-Cookie": "s=1"},
        )
        async with AsyncAudian(api_key=API_KEY) as audian:
            with pytest.raises(NotFoundError) as caught:
                await audian.users.get("nobody", extra_query={"filter_x": "a,b"})
    exc = caught.value
    assert isinstance(exc.request, RequestInfo) and isinstance(exc.response, ResponseInfo)
    assert exc.request.method == "GET"
    assert exc.request.url == f"{BASE}{USERS}/nobody?filter_x=a%2Cb"
    assert exc.request.headers["x-auth-token"] == "***"
    assert exc.request.headers["accept"] == "application/json"
    assert len(exc.request.headers["x-request-id"]) == 32
    assert exc.response.status_code == 404
    assert exc.response.headers["x-request-id"] == "req-404"
    assert exc.response.headers["x-auth-token"] == "***"  # Kazoo echoes the token
    assert exc.response.headers["set-cookie"] == "***"
    assert exc.response.request is exc.request
    assert exc.headers["x-auth-token"] == "***"
    shown = everything_shown(exc)
    assert token not in shown and API_KEY not in shown
    assert "RequestInfo(method='GET'" in repr(exc.request)
    assert repr(exc.response) == "ResponseInfo(status_code=404)"


async def test_a_rate_limit_error_keeps_retry_after() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))
        mock.get(f"{USERS}/u1").respond(429, json={}, headers={"Retry-After": "7"})
        async with AsyncAudian(api_key=API_KEY, max_retries=0) as audian:
            with pytest.raises(RateLimitError) as caught:
                await audian.users.get("u1")
    assert caught.value.retry_after == 7
    assert caught.value.response.headers["retry-after"] == "7"


async def test_a_connection_error_names_its_request() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))
        mock.get(f"{USERS}/u1").mock(side_effect=httpx.ConnectError("refused"))
        async with AsyncAudian(api_key=API_KEY, max_retries=0) as audian:
            with pytest.raises(APIConnectionError) as caught:
                await audian.users.get("u1")
    exc = caught.value
    assert exc.request is not None
    assert exc.request.method == "GET" and exc.request.url == f"{BASE}{USERS}/u1"
    assert API_KEY not in everything_shown(exc)


async def test_astradial_keys_and_secret_query_values_are_masked() -> None:
    key = "ak_" + "s" * 32
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as mock:
        mock.get("/queues/q1").respond(500, text="boom " + key)
        async with AsyncAstradial(
            base_url="https://pbx.example.com", api_key=key, max_retries=0
        ) as astra:
            with pytest.raises(APIStatusError) as caught:
                await astra.queues.get("q1", extra_query={"token": "t0ken", "page": "2"})
    exc = caught.value
    assert exc.request.headers["x-api-key"] == "***"
    assert exc.request.url == f"{base}/queues/q1?token=***&page=2"
    assert exc.response.status_code == 500
    shown = everything_shown(exc)
    assert key not in shown and "t0ken" not in shown


def test_safe_url_masks_passwords_and_secret_parameters_only() -> None:
    assert (
        safe_url("https://me:pw@host:1/p?a=1&api_key=x&next_start_key=k#f")
        == "https://me:***@host:1/p?a=1&api_key=***&next_start_key=k#f"
    )
    assert safe_url("https://host/p/SECRET?q=SECRET", ["SECRET"]) == "https://host/p/***?q=***"
    assert safe_url("/relative/path") == "/relative/path"


def test_errors_built_without_a_request_still_have_both() -> None:
    from audian_async._classify import build_status_error

    exc = build_status_error(
        409, {"error": "conflict"}, headers={"x-request-id": "r"}, method="PUT", url="/users"
    )
    assert exc.request.method == "PUT" and exc.request.url == "/users"
    assert exc.response.status_code == 409 and exc.response.headers["x-request-id"] == "r"


async def test_an_answer_that_cannot_be_the_result_names_its_request() -> None:
    from audian_async import APIResponseValidationError

    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))
        mock.get(f"{USERS}/u1").respond(200, json={"data": None})
        async with AsyncAudian(api_key=API_KEY) as audian:
            with pytest.raises(APIResponseValidationError) as caught:
                await audian.users.get("u1")
    request = caught.value.request
    assert request is not None and request.url == f"{BASE}{USERS}/u1"
    assert request.headers["x-auth-token"] == "***"


async def test_a_download_error_names_its_request() -> None:
    path = f"/accounts/{ACCOUNT}/vmboxes/b1/messages/m1/raw"
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))
        mock.get(path).respond(404, json={"error": "404", "status": "error", "message": "nope"})
        async with AsyncAudian(api_key=API_KEY) as audian:
            with pytest.raises(NotFoundError) as caught:
                async with audian.vmboxes.download_message("b1", "m1"):
                    pass
    assert caught.value.request.url == f"{BASE}{path}"
    assert caught.value.request.headers["accept"] == "*/*"
    assert caught.value.response.status_code == 404


async def test_a_page_that_cannot_be_a_listing_names_its_request() -> None:
    from audian_async import APIResponseValidationError

    token = make_jwt()
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(token))
        mock.get(USERS).respond(200, json={"data": [1, 2]}, headers={"X-Request-ID": "pg-1"})
        async with AsyncAudian(api_key=API_KEY) as audian:
            with pytest.raises(APIResponseValidationError, match="cannot be a listing") as caught:
                await audian.users.list(page_size=2).collect()
    exc = caught.value
    assert exc.status_code == 200 and exc.request_id == "pg-1"
    assert exc.request is not None
    assert exc.request.method == "GET"
    assert exc.request.url == f"{BASE}{USERS}?page_size=2"
    assert exc.request.headers["x-auth-token"] == "***"
    assert token not in str(exc) + repr(dict(exc.request.headers))


async def test_a_write_answer_that_cannot_be_read_names_its_request() -> None:
    from audian_async import APIResponseValidationError

    key = "ak_" + "w" * 32
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as mock:
        mock.post("/users").respond(201, json=[1], headers={"X-Request-ID": "w-1"})
        async with AsyncAstradial(
            base_url="https://pbx.example.com", api_key=key, max_retries=0
        ) as astra:
            with pytest.raises(APIResponseValidationError, match="could not read it as") as caught:
                await astra.users.create(
                    extension="1001", email="ada@example.com", full_name="Ada Lovelace"
                )
    exc = caught.value
    assert exc.status_code == 201 and exc.request_id == "w-1" and "[request_id=w-1]" in str(exc)
    assert exc.request is not None
    assert exc.request.method == "POST" and exc.request.url == f"{base}/users"
    assert exc.request.headers["x-api-key"] == "***"


async def test_a_raw_response_names_its_request_masked() -> None:
    token = make_jwt()
    with respx.mock(base_url=BASE) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(token))
        mock.get(f"{USERS}/u1").respond(200, json={"data": {"id": "u1"}})
        async with AsyncAudian(api_key=API_KEY) as audian:
            raw = await audian.users.with_raw_response.get("u1")
    assert raw.request is not None
    assert raw.request.method == "GET" and raw.request.url == f"{BASE}{USERS}/u1"
    assert raw.request.headers["x-auth-token"] == "***"
    assert token not in repr(raw)
