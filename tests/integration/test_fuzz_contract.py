"""Property-based fuzzing: request bodies generated from spec/ against the simulator.

For each write operation, hypothesis builds bodies from the operation's JSON schema, some
valid and some breaking a rule. Properties:

* the simulator never fails (no 5xx) and every response matches the spec (the simulator's
  strict contract check turns a mismatch into a 500);
* the SDK's client-side validation and the server agree: a body the SDK rejects is refused
  by the server with 400, and a body the SDK accepts is never refused for a schema rule
  (only uniqueness and references to other documents may still fail).

Bounded: a fixed number of examples per operation, over loopback HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audian_async import ValidationError
from audian_async._generated.audian._schemas import SCHEMAS
from audian_async._validate import validate_body
from audian_async.testing import Simulator, SimulatorConfig, create_app, serve

TEXT = st.text(alphabet=st.sampled_from("abcXYZ019 _-.@+/é"), min_size=0, max_size=40)
# Rules that depend on server state, not on the body alone.
STATEFUL_RULES = {"unique", "not_found", "invalid"}


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def values(schema: Mapping[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for a schema: usually fitting it, sometimes breaking one of its rules."""
    schema = resolve(schema)
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), TEXT)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        if depth > 2:
            return st.just({})
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        keys = sorted(props)
        return st.fixed_dictionaries(
            {k: values(props[k], depth + 1) for k in keys if k in required},
            optional={k: values(props[k], depth + 1) for k in keys if k not in required},
        )
    if kind == "array":
        return st.lists(values(schema.get("items", {}), depth + 1), max_size=3)
    if kind == "integer":
        return st.integers(min_value=-5, max_value=100_000)
    if kind == "number":
        return st.one_of(st.integers(-5, 1000), st.floats(-5, 1000, allow_nan=False))
    if kind == "boolean":
        return st.one_of(st.booleans(), st.just("yes"))
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 40)
        fitting = st.text(
            alphabet=st.sampled_from("abcdefxyz0123_"), min_size=lo, max_size=min(hi, lo + 20)
        )
        if "pattern" in schema:
            fitting = st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda text: lo <= len(text) <= hi
            )
        if schema.get("format") == "email":
            fitting = st.builds(
                lambda a, b: f"{a}@{b}.com",
                st.text("abc", min_size=1, max_size=5),
                st.text("xyz", min_size=1, max_size=5),
            )
        return st.one_of(fitting, TEXT, st.integers(0, 9))
    return st.one_of(TEXT, st.integers(), st.booleans())


OPERATIONS = [
    # (label, method, path suffix, schema name)
    ("users.create", "PUT", "/users", "UserInput"),
    ("devices.create", "PUT", "/devices", "DeviceInput"),
    ("callflows.create", "PUT", "/callflows", "CallflowInput"),
    ("accounts.create_sub_account", "PUT", "/accounts", "AccountInput"),
    ("vmboxes.create", "PUT", "/vmboxes", "VoicemailBoxInput"),
    ("conferences.create", "PUT", "/conferences", "ConferenceInput"),
    ("temporal_rules.create", "PUT", "/temporal_rules", "TemporalRuleInput"),
    ("temporal_rule_sets.create", "PUT", "/temporal_rules_sets", "TemporalRuleSetInput"),
    ("webhooks.create", "PUT", "/webhooks", "WebhookInput"),
    ("faxes.send", "PUT", "/faxes", "FaxInput"),
]


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return create_app(SimulatorConfig(seed=5, bucket_size=None))


@pytest.fixture(autouse=True)
def _contract_clean(sim: Simulator) -> Iterator[None]:
    """Bodies here break the spec on purpose: only the responses must stay in it."""
    before = len(sim.contract_violations)
    yield
    assert sim.contract_violations[before:] == []


@pytest.fixture(scope="module")
def http(sim: Simulator) -> Iterator[httpx.Client]:
    with (
        serve(sim) as server,
        httpx.Client(
            base_url=f"{server.base_url}/v2/accounts/{sim.master_account_id}",
            headers={"X-Auth-Token": sim.mint_token()},
        ) as client,
    ):
        yield client


def rules_of(body: Any) -> set[str]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return set()
    return {rule for rules in data.values() if isinstance(rules, dict) for rule in rules}


@pytest.mark.parametrize(("label", "method", "suffix", "schema_name"), OPERATIONS)
def test_sdk_validation_and_server_agree(
    sim: Simulator, http: httpx.Client, label: str, method: str, suffix: str, schema_name: str
) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    seen: list[tuple[bool, int]] = []

    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(body=values(schema))
    def check(body: dict[str, Any]) -> None:
        try:
            validate_body(body, schema, SCHEMAS, partial=False)
            client_ok = True
        except ValidationError:
            client_ok = False
        response = http.request(method, suffix, json={"data": body})
        status = response.status_code
        seen.append((client_ok, status))
        assert status < 500, f"{label}: {status} {response.text}"
        if not client_ok:
            assert status == 400, (
                f"{label}: the SDK refuses {body!r} but the server answered {status}"
            )
        elif status == 400:
            assert rules_of(response.json()) <= STATEFUL_RULES, (
                f"{label}: the SDK accepts {body!r} but the server refused it: {response.text}"
            )

    check()
    assert sim.contract_violations == []
    assert any(ok for ok, _ in seen) and any(not ok for ok, _ in seen), (
        "both valid and invalid bodies were tried"
    )
