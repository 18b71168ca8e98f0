"""api_auth, tokens, 401/403/404 and the envelope."""

from __future__ import annotations

import base64
import json
import re

import httpx

from audian_async.testing import DEFAULT_API_KEY, Simulator, SimulatorConfig, create_app

from .conftest import Session, asgi_client, login

ENVELOPE_KEYS = {
    "auth_token",
    "data",
    "node",
    "request_id",
    "revision",
    "status",
    "timestamp",
    "tokens",
    "version",
}


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_api_auth_success_shape(sim: Simulator, client: httpx.AsyncClient) -> None:
    response = await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == "success" and body["revision"] == "automatic"
    assert body["version"] == "5.4.32.6"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", body["node"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["tokens"] == {"consumed": 1, "remaining": 99}
    data = body["data"]
    assert data["account_id"] == sim.master_account_id
    assert data["account_name"] == "Master Account"
    assert data["language"] == "en-us" and data["is_reseller"] is False and data["apps"] == []
    assert re.fullmatch(r"[0-9a-f]{32}", data["owner_id"])
    claims = _claims(body["auth_token"])
    assert claims["account_id"] == sim.master_account_id and claims["iss"] == "kazoo"
    assert claims["method"] == "cb_api_auth" and claims["owner_id"] == data["owner_id"]
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    assert sim.default_api_key == DEFAULT_API_KEY and len(DEFAULT_API_KEY) == 64


async def test_api_auth_wrong_length_is_400_without_echo(client: httpx.AsyncClient) -> None:
    response = await client.put("/api_auth", json={"data": {"api_key": "short-secret"}})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "validation error" and "revision" not in body
    assert body["data"] == {
        "api_key": {"minLength": {"message": "String must be at least 64 characters", "target": 64}}
    }
    assert "short-secret" not in response.text
    too_long = await client.put("/api_auth", json={"data": {"api_key": "x" * 65}})
    assert "maxLength" in too_long.json()["data"]["api_key"]


async def test_api_auth_unknown_key_is_404_without_echo(client: httpx.AsyncClient) -> None:
    key = "f" * 64
    response = await client.put("/api_auth", json={"data": {"api_key": key}})
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == "bad_identifier" and body["error"] == "404"
    assert body["data"] == {"message": "bad identifier"}
    assert key not in response.text


async def test_missing_and_bad_tokens(sim: Simulator, client: httpx.AsyncClient) -> None:
    url = f"/accounts/{sim.master_account_id}/users"
    missing = await client.get(url)
    assert missing.status_code == 401
    assert missing.json()["message"] == "invalid_credentials"
    assert missing.json()["data"] == {"message": "invalid credentials"}
    assert "auth_token" not in missing.json()
    forged = await client.get(url, headers={"X-Auth-Token": "a.b.c"})
    assert forged.status_code == 401
    assert forged.json()["message"] == "invalid credentials" and forged.json()["data"] == {}
    assert forged.json()["auth_token"] == "a.b.c"


async def test_token_expiry_by_clock_and_by_reset(sim: Simulator, session: Session) -> None:
    assert (await session.get("/users")).status_code == 200
    sim.advance_clock(3601)
    assert (await session.get("/users")).status_code == 401
    fresh = await login(session.client, sim.default_api_key)
    assert (await fresh.get("/users")).status_code == 200
    sim.expire_all_tokens()
    assert (await fresh.get("/users")).status_code == 401


async def test_token_lifetime_config_and_bearer_header() -> None:
    sim = create_app(SimulatorConfig(token_lifetime=60))
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        claims = _claims(s.token)
        assert claims["exp"] == claims["iat"] + 60  # type: ignore[operator]
        response = await client.get(s.url("/users"), headers={"Authorization": f"Bearer {s.token}"})
        assert response.status_code == 200


async def test_request_id_echo(session: Session) -> None:
    response = await session.get("/users", headers={**session.headers, "X-Request-ID": "trace-123"})
    assert response.json()["request_id"] == "trace-123"
    assert response.headers["x-request-id"] == "trace-123"
    generated = await session.get("/users")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.json()["request_id"])
    assert generated.headers["x-request-id"] == generated.json()["request_id"]


async def test_unknown_account_and_foreign_account(sim: Simulator, session: Session) -> None:
    unknown = await session.client.get("/accounts/" + "0" * 32, headers=session.headers)
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "bad_identifier"
    assert unknown.json()["data"] == {"message": f"invalid account_id '{'0' * 32}'"}
    child = sim.create_account("Child Co")
    sibling = sim.create_account("Sibling Co")
    child_session = await login(session.client, sim.api_key_for(child))
    denied = await child_session.client.get(f"/accounts/{sibling}", headers=child_session.headers)
    assert denied.status_code == 403
    assert denied.json()["message"] == "forbidden"
    assert denied.json()["data"] == {"message": "forbidden", "cause": "account is not a descendant"}
    up = await child_session.client.get(
        f"/accounts/{sim.master_account_id}", headers=child_session.headers
    )
    assert up.status_code == 403
    # the master reaches its descendants
    assert (
        await session.client.get(f"/accounts/{child}/users", headers=session.headers)
    ).status_code == 200


async def test_method_not_allowed_and_unknown_path() -> None:
    # neither is a spec operation, so a strict simulator would turn them into 500s
    sim = create_app(SimulatorConfig(strict_contract=False))
    async with asgi_client(sim) as client:
        session = await login(client, sim.default_api_key)
        response = await session.client.delete(session.url("/users"), headers=session.headers)
        assert response.status_code == 405
        assert (
            response.json()["message"] == "invalid_method" and response.json()["status"] == "error"
        )
        missing = await session.client.get("/nowhere", headers=session.headers)
        assert missing.status_code == 404 and missing.json()["message"] == "faulty_request"
    if sim.contract is not None:
        assert len(sim.contract_violations) == 2
        assert "no operation in the spec for DELETE" in sim.contract_violations[0]


async def test_malformed_json_and_bad_envelope(session: Session) -> None:
    broken = await session.client.put(
        session.url("/users"),
        content=b'{"data": {',
        headers={**session.headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json()["message"] == "validation error"
    assert broken.json()["data"]["json"]["invalid"]["target"] == "body"
    not_object = await session.client.put(
        session.url("/users"), json={"data": [1]}, headers=session.headers
    )
    assert not_object.status_code == 400 and "data" in not_object.json()["data"]
