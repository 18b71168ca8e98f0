"""The spec check (`_contract`) and the JSON-Schema subset validator behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from audian_async.testing import SimulatorConfig, create_app, status
from audian_async.testing._contract import Contract, default_spec_location
from audian_async.testing._schema import Validator, kazoo_error_map

from .conftest import USER, asgi_client, login

SPEC = """
openapi: 3.1.0
info: {title: t, version: "1"}
servers: [{url: "https://example.test/v2"}]
paths:
  /api_auth:
    put:
      responses:
        '201':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Auth'}
  /accounts/{account_id}/users:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [data]
                properties:
                  data: {type: array, items: {type: integer}}
components:
  schemas:
    Auth:
      type: object
      required: [auth_token, data]
      properties:
        data: {type: object, required: [account_id]}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(SPEC)
    return path


async def test_conforming_response_passes_and_mismatch_is_a_loud_500(spec_file: Path) -> None:
    sim = create_app(SimulatorConfig(spec_path=spec_file))
    assert sim.contract is not None and sim.contract.files == [spec_file]
    async with asgi_client(sim) as client:
        session = await login(client, sim.default_api_key)  # conforms to the mini spec
        assert sim.contract_violations == []
        await session.put("/users", USER)  # PUT /users is not in the mini spec: 500
        response = await session.get("/users")  # rows are objects, the mini spec says integers
        assert response.status_code == 500
        body = response.json()
        assert body["message"] == "simulator contract violation" and body["error"] == "500"
        assert any("data.0: type" in d for d in body["data"]["detail"])
        assert response.headers["x-request-id"]
    assert any("no operation in the spec for PUT" in v for v in sim.contract_violations)
    assert sim.state.user_count() == 1  # the handler did run


async def test_non_strict_records_but_passes_through(spec_file: Path) -> None:
    sim = create_app(SimulatorConfig(spec_path=spec_file, strict_contract=False))
    async with asgi_client(sim) as client:
        session = await login(client, sim.default_api_key)
        assert (await session.get("/users")).status_code == 200
        assert (
            await session.get("/users", params={"page_size": 0})
        ).status_code == 404  # undocumented
    assert len(sim.contract_violations) == 1
    assert "status 404 is not documented" in sim.contract_violations[0]


async def test_faults_are_not_contract_checked(spec_file: Path) -> None:
    sim = create_app(SimulatorConfig(spec_path=spec_file))
    sim.faults.script(kind=status(503))
    async with asgi_client(sim) as client:
        assert (await client.put("/api_auth", json={"data": {}})).status_code == 503
    assert sim.contract_violations == []


def test_operation_lookup_and_missing_spec(spec_file: Path, tmp_path: Path) -> None:
    contract = Contract.load(spec_file)
    assert contract is not None
    assert contract.operation_for("GET", "/v2/accounts/abc/users") == (
        "GET",
        "/accounts/{account_id}/users",
    )
    assert contract.operation_for("HEAD", "/v2/accounts/abc/users") == (
        "GET",
        "/accounts/{account_id}/users",
    )
    assert contract.operation_for("GET", "/v2/accounts/abc/users/x") is None
    assert contract.operation_for("PUT", "/api_auth") is None  # outside the base path
    assert Contract.load(tmp_path / "absent") is None
    assert create_app(SimulatorConfig(check_contract=False)).contract is None


@pytest.mark.skipif(default_spec_location() is None, reason="no spec/ next to the package")
def test_repository_spec_is_found_and_covers_the_core_routes() -> None:
    contract = Contract.load()
    assert contract is not None
    for method, path in [
        ("PUT", "/v2/api_auth"),
        ("POST", "/v2/accounts"),
        ("GET", "/v2/accounts/a/users/b"),
        ("PUT", "/v2/accounts/a/phone_numbers/+14155550100"),
        ("GET", "/v2/phone_numbers"),
        ("GET", "/v2/accounts/a/search"),
    ]:
        assert contract.operation_for(method, path) is not None, (method, path)


def test_validator_subset() -> None:
    root = {
        "components": {
            "schemas": {
                "Pet": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": {"type": "integer"},
                    "properties": {"name": {"type": "string"}, "tag": {"type": ["string", "null"]}},
                },
                "Kind": {"type": "string", "enum": ["a", "b"]},
                "Open": {"type": "string", "enum": ["a"], "x-open-enum": True},
            }
        }
    }
    v = Validator(root)
    pet = {"$ref": "#/components/schemas/Pet"}
    assert v.validate({"name": "x", "tag": None, "age": 3}, pet) == []
    errors = v.validate({"tag": 1, "age": "old"}, pet)
    assert {(e.dotted(), e.rule) for e in errors} == {
        ("name", "required"),
        ("tag", "type"),
        ("age", "type"),
    }
    assert v.validate("c", {"$ref": "#/components/schemas/Kind"})[0].rule == "enum"
    assert v.validate("c", {"$ref": "#/components/schemas/Open"}) == []
    one_of = {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 2}]}
    assert v.validate("x", one_of) == [] and v.validate("xy", one_of)[0].rule == "oneOf"
    assert v.validate(5, {"anyOf": [{"type": "string"}, {"type": "boolean"}]})[0].rule == "anyOf"
    assert v.validate(5, {"allOf": [{"type": "integer"}, {"minimum": 6}]})[0].rule == "minimum"
    assert v.validate([1, 1], {"type": "array", "uniqueItems": True})[0].rule == "uniqueItems"
    assert v.validate(None, {"type": "string", "nullable": True}) == []
    secret = v.validate("abc", {"type": "string", "minLength": 5, "x-secret": True})
    assert kazoo_error_map(secret) == {
        "": {"minLength": {"message": "String must be at least 5 characters", "target": 5}}
    }
    assert (
        Validator(check_formats=False).validate("no", {"type": "string", "format": "email"}) == []
    )
    with pytest.raises(ValueError):
        v.validate(1, {"$ref": "#/components/schemas/Missing"})


async def test_requests_are_checked_against_the_spec() -> None:
    sim = create_app(SimulatorConfig())
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        # a body that breaks the spec is still served (the server answers with its 400) ...
        bad = await s.put("/users", {"first_name": 5, "last_name": "X"})
        assert bad.status_code == 400
        # ... a required query parameter missing, and a PATCH with only some fields
        await client.get("/phone_numbers", headers=s.headers)
        user = await s.put("/users", {"first_name": "A", "last_name": "B"})
        patched = await s.patch(f"/users/{user.json()['data']['id']}", {"timezone": None})
        assert patched.status_code == 200
    assert any("data.first_name: type" in v for v in sim.request_violations)
    assert any("'prefix' is missing" in v for v in sim.request_violations)
    assert not any("PATCH" in v for v in sim.request_violations)  # merge updates are partial
    assert len(sim.request_violations) == 2


async def test_strict_requests_refuse_loudly() -> None:
    sim = create_app(SimulatorConfig(strict_requests=True))
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        response = await s.put("/users", {"first_name": "A"})
        assert response.status_code == 500
        assert response.json()["message"] == "simulator contract violation"
    assert sim.state.user_count() == 0
    assert sim.contract_violations == []
