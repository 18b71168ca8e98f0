"""Live credentials and the secrets a request carried never show in what an error shows.

A server may echo the exchanged token or JWT in an error message, or quote what it stored
(the open-source Astradial server's 500s carry the SQL statement and its parameters). Every
such value is scrubbed from ``str(e)``, ``repr(e)``, the traceback, ``e.body``, ``e.details``,
``e.server_message`` and the SDK's log lines.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from audian_async import APIStatusError, AsyncAstradial, AsyncAudian
from audian_async._redact import SECRET_FIELD_NAMES, redact
from tests.helpers import ACCOUNT, API_KEY, BASE, auth_body, make_jwt

ROOT = "https://pbx.example.com:8000"
ASTRA = ROOT + "/api/v1"


def shown(err: APIStatusError, caplog: pytest.LogCaptureFixture) -> str:
    """Everything an error shows: message, repr, traceback, parsed parts, logs."""
    parts = [
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        repr(err.body),
        repr(err.details),
        repr(err.server_message),
        repr(err.error),
        repr(err.request),
        repr(err.response),
        repr(dict(err.headers)),
    ]
    parts += [r.getMessage() for r in caplog.records]
    return "\n".join(parts)


@pytest.fixture
def astra_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=ASTRA, assert_all_called=False) as router:
        yield router


async def test_the_exchanged_audian_token_echoed_by_a_server_is_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = make_jwt()
    caplog.set_level(logging.DEBUG, logger="audian_async")
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(token))
        mock.get(f"/accounts/{ACCOUNT}/users/u1").respond(
            500,
            json={
                "status": "error",
                "error": "500",
                "message": "internal error",
                "data": {"message": f"session {token} could not be loaded"},
                "request_id": "rq-1",
            },
            headers={"x-echo": f"X-Auth-Token: {token}"},
        )
        async with AsyncAudian(api_key=API_KEY, max_retries=0) as audian:
            with pytest.raises(APIStatusError) as info:
                await audian.users.get("u1")
    text = shown(info.value, caplog)
    assert token not in text and API_KEY not in text
    assert "could not be loaded" in str(info.value)  # the rest of the message stays


async def test_the_astradial_login_jwt_echoed_by_a_server_is_scrubbed(
    astra_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_jwt(86400, orgId="org-1")
    caplog.set_level(logging.DEBUG, logger="audian_async")
    astra_mock.post("/auth/user-login").respond(200, json={"token": token, "user": {"id": "u"}})
    astra_mock.get("/users/u1").respond(
        400, json={"error": f"jwt malformed: Bearer {token}", "details": [token]}
    )
    async with AsyncAstradial(base_url=ROOT, email="a@example.com", password="pw-Login-1") as c:
        with pytest.raises(APIStatusError) as info:
            await c.users.get("u1")
    text = shown(info.value, caplog)
    assert token not in text and "pw-Login-1" not in text
    assert "jwt malformed" in str(info.value)


PLAIN = "Plain-Pass-42"  # a name, not the literal: a traceback shows the test's source lines
SQL_INSERT = (
    "Data truncated for column 'password' (value 'Plain-Pass-42') sql: INSERT INTO users "
    "(id,org_id,email,password_hash,sip_password,role,created_at) VALUES (?,?,?,?,?,?,?) "
    "- parameters:['u-9','org-1','new@example.com','$2b$10$abcdefghijABCDEFGHIJ01',"
    "'Gen-Sip-Secret-77','agent','2026-12-07 10:00:00']"
)


async def test_an_oss_sql_500_never_shows_the_request_password_or_stored_secrets(
    astra_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="audian_async")
    astra_mock.post("/users").respond(500, json={"error": SQL_INSERT})
    async with AsyncAstradial(base_url=ROOT, api_key="ak_" + "1" * 32, max_retries=0) as c:
        with pytest.raises(APIStatusError) as info:
            await c.users.create(extension="1099", email="new@example.com", password=PLAIN)
    text = shown(info.value, caplog)
    for secret in ("Plain-Pass-42", "$2b$10$abcdefghijABCDEFGHIJ01", "Gen-Sip-Secret-77"):
        assert secret not in text
    # What is not secret stays readable: the statement, its columns, the error.
    assert "INSERT INTO users" in str(info.value) and "Data truncated" in str(info.value)


async def test_sql_parameters_of_a_statement_without_secret_columns_stay_visible(
    astra_mock: respx.MockRouter,
) -> None:
    error = (
        "invalid input value for enum role sql: UPDATE users SET role=?,updated_at=? "
        "WHERE id = ? - parameters:['superhero','2026-12-07 10:00:00','u1']"
    )
    astra_mock.put("/users/u1").respond(500, json={"error": error})
    async with AsyncAstradial(base_url=ROOT, api_key="ak_" + "1" * 32, max_retries=0) as c:
        with pytest.raises(APIStatusError) as info:
            await c.users.update("u1", role="superhero")
    assert "parameters:['superhero'" in str(info.value)


async def test_a_kazoo_sip_password_and_pin_echoed_in_free_text_are_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="audian_async")
    echo = "sip password Sip-Pass-31337 rejected; hotdesk pin 908172 too weak"
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))
        mock.put(f"/accounts/{ACCOUNT}/devices").respond(
            400,
            json={"status": "error", "error": "400", "message": "invalid", "data": {"x": echo}},
        )
        async with AsyncAudian(api_key=API_KEY, max_retries=0) as audian:
            with pytest.raises(APIStatusError) as info:
                await audian.devices.create(
                    name="desk",
                    sip={"username": "desk1", "password": "Sip-Pass-31337"},
                    hotdesk={"enabled": True, "id": "7", "pin": "908172"},
                    validate=False,
                )
    text = shown(info.value, caplog)
    assert "Sip-Pass-31337" not in text and "908172" not in text
    assert "rejected" in repr(info.value.body)


def _spec_secret_names() -> set[str]:
    import re
    from pathlib import Path

    names: set[str] = set()
    for spec in Path(__file__).parents[2].joinpath("spec").glob("*.yaml"):
        lines = spec.read_text().splitlines()
        for i, line in enumerate(lines):
            inline = re.match(r"\s*([A-Za-z_]+):\s*\{.*x-secret:\s*true", line)
            if inline:
                names.add(inline.group(1))
            elif re.match(r"\s*x-secret:\s*true", line):
                indent = len(line) - len(line.lstrip())
                for back in range(i - 1, -1, -1):
                    prev = lines[back]
                    if len(prev) - len(prev.lstrip()) < indent:
                        names.add(prev.strip().rstrip(":"))
                        break
    return names


def test_every_field_the_spec_marks_secret_is_redacted_by_name() -> None:
    names = _spec_secret_names()
    assert {"password", "pin", "bridge_password", "sip_password"} <= names
    assert names <= SECRET_FIELD_NAMES
    body: dict[str, Any] = {name: f"v-{name}" for name in names}
    assert all(v == "***" for v in redact(body).values())


async def test_a_token_retired_after_a_401_is_still_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The token a 401 retired is a recent credential: an answer quoting it is scrubbed."""
    first, second = make_jwt(), make_jwt(lifetime=7200)
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.put("/api_auth").side_effect = [
            httpx.Response(201, json=auth_body(first)),
            httpx.Response(201, json=auth_body(second)),
        ]
        mock.get(f"/accounts/{ACCOUNT}/users/u1").side_effect = [
            httpx.Response(401, json={"status": "error", "error": "401", "message": "expired"}),
            httpx.Response(
                500,
                json={
                    "status": "error",
                    "error": "500",
                    "message": "internal",
                    "data": {"message": f"previous session {first} still cached"},
                },
            ),
        ]
        async with AsyncAudian(api_key=API_KEY, max_retries=0) as audian:
            with pytest.raises(APIStatusError) as info:
                await audian.users.get("u1")
    text = shown(info.value, caplog)
    assert first not in text and second not in text
    assert "still cached" in text
