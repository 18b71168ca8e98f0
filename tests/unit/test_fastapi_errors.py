"""error_response never forwards the upstream's internals: a fixed message and the request
id for 5xx and refused credentials (details logged once, server-side, secrets scrubbed);
what the caller can act on (400 field maps, 404, 409) still passes through."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import respx

from audian_async import AsyncAstradial
from audian_async._classify import build_status_error
from audian_async.integrations.fastapi import (
    CREDENTIALS_REFUSED,
    UPSTREAM_FAILED,
    error_response,
)

LOGGER = "audian_async.integrations.fastapi"
SQL = (
    "ER_DUP_ENTRY sql: UPDATE users SET role=?,updated_at=? WHERE id = ? "
    "- parameters:['superhero','2026-12-07','u1']"
)


def answer(exc: Exception) -> tuple[int, dict[str, Any]]:
    response = error_response(exc)  # type: ignore[arg-type]
    return response.status_code, json.loads(bytes(response.body))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_upstream_5xx_answers_a_fixed_message_and_logs_the_details_once(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    exc = build_status_error(
        status,
        {"error": SQL},
        headers={"x-request-id": "rq-5"},
        method="PUT",
        url="/api/v1/users/u1",
    )
    code, body = answer(exc)
    assert code == 502
    assert body == {"detail": UPSTREAM_FAILED, "upstream_status": status, "request_id": "rq-5"}
    assert "superhero" not in json.dumps(body) and "sql" not in json.dumps(body).lower()
    logged = [r for r in caplog.records if r.name == LOGGER]
    assert len(logged) == 1 and "superhero" in logged[0].getMessage()
    assert "rq-5" in logged[0].getMessage()
    error_response(exc)  # the same error answered again is not logged again
    assert len([r for r in caplog.records if r.name == LOGGER]) == 1


@pytest.mark.parametrize(("status", "auth"), [(401, True), (403, False), (404, True)])
def test_refused_credentials_answer_a_fixed_message_without_the_upstream_words(
    status: int, auth: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    exc = build_status_error(
        status,
        {"error": "key ak_live_internal_detail revoked by admin@corp"},
        headers={"x-request-id": "rq-4"},
        method="GET",
        url="/x",
        auth_failure=auth,
    )
    code, body = answer(exc)
    assert code == 502
    assert body == {"detail": CREDENTIALS_REFUSED, "upstream_status": status, "request_id": "rq-4"}
    assert "admin@corp" in caplog.records[-1].getMessage()


def test_caller_actionable_errors_still_pass_through() -> None:
    kazoo = {
        "status": "error",
        "error": "400",
        "message": "validation error",
        "data": {"username": {"unique": {"message": "Username must be unique"}}},
        "request_id": "rq-400",
    }
    code, body = answer(build_status_error(400, kazoo, headers={}, method="PUT", url="/u"))
    assert code == 400 and body["fields"] == {"username": {"unique": "Username must be unique"}}
    code, body = answer(
        build_status_error(404, {"error": "User not found"}, headers={}, method="GET", url="/u")
    )
    assert (code, body["detail"]) == (404, "User not found")
    code, body = answer(
        build_status_error(409, {"error": "Extension taken"}, headers={}, method="PUT", url="/u")
    )
    assert (code, body["detail"]) == (409, "Extension taken")


def test_the_request_id_sent_is_used_when_the_upstream_gives_none() -> None:
    from audian_async import RequestInfo

    request = RequestInfo("GET", "https://x/api/v1/users", [("X-Request-ID", "sent-7")])
    exc = build_status_error(500, "boom", headers={}, method="GET", url="/u", request=request)
    assert answer(exc)[1]["request_id"] == "sent-7"


async def test_a_sql_500_with_the_request_password_reaches_neither_caller_nor_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Plain-Pass-42"
    error = f"bad value '{password}' sql: INSERT INTO users (email,password_hash) VALUES (?,?) - parameters:['a@b.c','$2b$10$hashhashhash']"
    with respx.mock(base_url="https://pbx.example.com/api/v1") as mock:
        mock.post("/users").respond(500, json={"error": error})
        async with AsyncAstradial(
            base_url="https://pbx.example.com", api_key="ak_" + "2" * 32, max_retries=0
        ) as c:
            try:
                await c.users.create(extension="1", email="a@b.c", password=password)
            except Exception as exc:
                code, body = answer(exc)
    assert code == 502 and body["detail"] == UPSTREAM_FAILED
    text = json.dumps(body) + "\n".join(r.getMessage() for r in caplog.records)
    assert password not in text and "$2b$10$hashhashhash" not in text
    assert any("INSERT INTO users" in r.getMessage() for r in caplog.records)
