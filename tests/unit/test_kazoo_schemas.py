"""The spec's request bodies against Kazoo's own validation schemas, so they cannot drift apart.

For each writable body of ``spec/audian.yaml`` that Kazoo validates with a crossbar schema
(their folder named by ``$AUDIAN_KAZOO_SCHEMAS``; they are kept out of this repository, and
without it these tests are deselected, see ``tests/conftest.py``), hypothesis builds bodies from
our schema, mostly fitting it and sometimes breaking one of its rules. Properties:

* not looser: a body our client-side validation accepts is accepted by Kazoo's schema;
* never stricter: a body our validation refuses is refused by Kazoo's schema too (except for
  the few rules Kazoo enforces in code rather than in its schema, listed in ``IN_CODE``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audian_async import ValidationError
from audian_async._generated.audian._schemas import SCHEMAS
from audian_async._validate import validate_body

ROOT = Path(__file__).resolve().parents[2]


# Read only by the tests, which run only when the folder is there (tests/conftest.py).
KAZOO_DIR = Path(os.environ.get("AUDIAN_KAZOO_SCHEMAS") or "/nonexistent/kazoo-schemas")
pytestmark = pytest.mark.kazoo_schemas

# Our input schema -> Kazoo's schema of the same document.
BODIES = {
    "UserInput": "users",
    "DeviceInput": "devices",
    "CallflowInput": "callflows",
    "AccountInput": "accounts",
    "PhoneNumberInput": "phone_numbers",
    "ApiAuthInput": "api_auth",
}
OPTIONAL_BODIES = {
    "VoicemailBoxInput": "vmboxes",
    "ConferenceInput": "conferences",
    "TemporalRuleInput": "temporal_rules",
    "TemporalRuleSetInput": "temporal_rules_sets",
    "WebhookInput": "webhooks",
    "FaxInput": "faxes",
    "UserAuthInput": "user_auth",
}
# Rules Kazoo checks in its code, not in the JSON schema (a refusal there is still a 400).
IN_CODE = {
    ("CallflowInput", "numbers", "required"),  # "at least one number or pattern" (cb_callflows)
    ("FaxInput", "document", "required"),  # a document URL or an upload (cb_faxes)
}


def _registry() -> Any:
    resources = []
    for path in sorted(KAZOO_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        resource = referencing.Resource.from_contents(
            doc, default_specification=referencing.jsonschema.DRAFT4
        )
        resources.append((doc.get("_id", path.stem), resource))
    return referencing.Registry().with_resources(resources)


def kazoo_validator(name: str) -> Any:
    schema = json.loads((KAZOO_DIR / f"{name}.json").read_text())
    return jsonschema.Draft4Validator(schema, registry=_registry())


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _text(lo: int, hi: int | None) -> st.SearchStrategy[str]:
    top = lo + 12 if hi is None else min(hi, lo + 12)
    return st.text(alphabet=st.sampled_from("abcxyz019_-."), min_size=lo, max_size=top)


def fitting(schema: Mapping[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that fit ``schema`` (our spec) in most cases."""
    schema = resolve(schema)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        return st.one_of([fitting(v, depth) for v in variants])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return st.just({})
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fixed = {k: values(v, depth + 1) for k, v in props.items() if k in required}
        optional = {k: values(v, depth + 1) for k, v in props.items() if k not in required}
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and not props:
            return st.dictionaries(_text(1, 8), values(extra, depth + 1), max_size=2)
        return st.fixed_dictionaries(fixed, optional=optional)
    if kind == "array":
        items = values(schema.get("items", {}), depth + 1)
        return st.lists(
            items, max_size=3, unique_by=json.dumps if schema.get("uniqueItems") else None
        )
    if kind == "integer":
        return st.integers(schema.get("minimum", -5), schema.get("maximum", 100_000))
    if kind == "number":
        return st.integers(schema.get("minimum", -5), schema.get("maximum", 1000))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: schema.get("minLength", 0) <= len(s) <= schema.get("maxLength", 10**6)
            )
        if schema.get("format") == "email":
            return st.sampled_from(["ops@localhost", "jane@example.com"])
        return _text(schema.get("minLength", 0), schema.get("maxLength"))
    return st.one_of(st.text(max_size=5), st.integers(), st.booleans())


def breaking(schema: Mapping[str, Any]) -> list[Any]:
    """Values that break one of ``schema``'s own rules (a wrong type, a bound, the enum)."""
    schema = resolve(schema)
    kind = schema.get("type")
    out: list[Any] = [12345 if kind == "string" else "x"]
    if "enum" in schema:
        out.append("not-an-enum-value")
    if schema.get("minLength"):
        out.append("a" * (schema["minLength"] - 1))
    if "maxLength" in schema:
        out.append("a" * (schema["maxLength"] + 1))
    if "minimum" in schema:
        out.append(schema["minimum"] - 1)
    if "maximum" in schema:
        out.append(schema["maximum"] + 1)
    if "pattern" in schema:
        out.append("!! ~")
    if kind == "array" and schema.get("uniqueItems"):
        item = sample(schema.get("items", {}))
        out.append([item, item])
    return out


def values(schema: Mapping[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values fitting ``schema``."""
    return fitting(schema, depth)


_SAMPLES = [
    "abcd",
    "a",
    "ops@localhost",
    "+14155550100",
    "America/New_York",
    "1",
    "PCMU",
    "https://example.com/a.pdf",
]


def sample(schema: Mapping[str, Any]) -> Any:
    """One small value that fits ``schema`` (required fields of the bodies built below)."""
    schema = resolve(schema)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        return sample(variants[0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: sample(props[k]) for k in schema.get("required", [])}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    for candidate in [*_SAMPLES, "a" * schema.get("minLength", 1)]:
        try:
            validate_body(candidate, schema, SCHEMAS, partial=False)
        except ValidationError:
            continue
        return candidate
    raise AssertionError(f"no sample fits {schema}")


def mutations(
    schema: Mapping[str, Any], path: tuple[str, ...] = (), depth: int = 0
) -> list[tuple[tuple[str, ...], Any]]:
    """``(path, value)`` for every field of ``schema`` and every value breaking its rules."""
    schema = resolve(schema)
    out: list[tuple[tuple[str, ...], Any]] = []
    if path:
        out += [(path, v) for v in breaking(schema)]
    if depth < 4:
        for name, sub in schema.get("properties", {}).items():
            out += mutations(sub, (*path, name), depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and not schema.get("properties"):
            out += mutations(extra, (*path, "key"), depth + 1)
    return out


def with_value(schema: Mapping[str, Any], path: tuple[str, ...], value: Any) -> Any:
    """A minimal body fitting ``schema`` except for ``value`` at ``path``."""
    schema = resolve(schema)
    body = sample(schema)
    if not path:
        return value
    props = schema.get("properties", {})
    sub = props.get(path[0]) or schema.get("additionalProperties") or {}
    body[path[0]] = with_value(sub, path[1:], value)
    return body


def _cases() -> list[tuple[str, str]]:
    cases = list(BODIES.items())
    cases += [(ours, theirs) for ours, theirs in OPTIONAL_BODIES.items() if ours in SCHEMAS]
    return cases


def test_every_kazoo_validated_body_is_checked() -> None:
    """Each Kazoo-style body of the spec with a Kazoo schema is in the table above."""
    known = set(BODIES) | set(OPTIONAL_BODIES)
    for ours in OPTIONAL_BODIES:
        if ours in SCHEMAS:
            assert (KAZOO_DIR / f"{OPTIONAL_BODIES[ours]}.json").is_file()
    assert set(BODIES) <= set(SCHEMAS) and known


@pytest.mark.parametrize(("ours", "theirs"), _cases())
def test_bodies_the_spec_accepts_pass_kazoo(ours: str, theirs: str) -> None:
    """Not looser: every generated body our validation accepts passes Kazoo's schema."""
    kazoo = kazoo_validator(theirs)
    schema = {"$ref": f"#/components/schemas/{ours}"}
    outcomes: list[bool] = []

    @settings(
        max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(body=fitting(schema))
    def check(body: dict[str, Any]) -> None:
        try:
            validate_body(body, schema, SCHEMAS, partial=False)
        except ValidationError:
            outcomes.append(False)  # e.g. an x-require-any rule: checked below
            return
        outcomes.append(True)
        errors = [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in kazoo.iter_errors(body)
        ]
        assert errors == [], (
            f"{ours} is looser than Kazoo's {theirs}: it accepts {body!r}: {errors}"
        )

    check()
    assert any(outcomes), f"{ours}: no generated body passed our own validation"


@pytest.mark.parametrize(("ours", "theirs"), _cases())
def test_what_the_spec_refuses_kazoo_refuses(ours: str, theirs: str) -> None:
    """Never stricter: each field set to a value breaking one of our rules, one at a time."""
    kazoo = kazoo_validator(theirs)
    schema = {"$ref": f"#/components/schemas/{ours}"}
    base = sample(schema)
    assert list(kazoo.iter_errors(base)) == [], f"{ours}: the minimal body {base!r}"
    stricter = []
    checked = 0
    for path, value in mutations(schema):
        body = with_value(schema, path, value)
        try:
            validate_body(body, schema, SCHEMAS, partial=False)
        except ValidationError as exc:
            checked += 1
            if (ours, path[0], exc.rule) in IN_CODE:
                continue
            if not list(kazoo.iter_errors(body)):
                stricter.append(f"{exc.field}: {exc.rule} refuses {value!r}")
    assert stricter == [], f"{ours} is stricter than Kazoo's {theirs}: {stricter}"
    assert checked > 0


def _kazoo_defaults(schema: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub:
            out[path + name] = sub["default"]
        out.update(_kazoo_defaults(sub, f"{path}{name}."))
    return out


def _our_description(schema: Mapping[str, Any], dotted: str) -> str | None:
    node: Mapping[str, Any] = resolve(schema)
    description = None
    for part in dotted.split("."):
        prop = node.get("properties", {}).get(part)
        if prop is None:
            return None
        description = prop.get("description") or resolve(prop).get("description")
        node = resolve(prop)
    return description


@pytest.mark.parametrize(("ours", "theirs"), _cases())
def test_kazoo_defaults_are_documented(ours: str, theirs: str) -> None:
    """Each field with a Kazoo default that the spec types says the default in its docs."""
    kazoo = json.loads((KAZOO_DIR / f"{theirs}.json").read_text())
    schema = {"$ref": f"#/components/schemas/{ours}"}
    missing = [
        f"{path} (Kazoo default {default!r})"
        for path, default in _kazoo_defaults(kazoo).items()
        if (text := _our_description(schema, path)) is not None and "Default" not in text
    ]
    assert missing == [], f"{ours}: document these defaults: {missing}"


def _query_schema(path: str) -> dict[str, Any]:
    """The query parameters of ``GET path`` in the spec, as one object schema."""
    import yaml

    spec = yaml.safe_load((ROOT / "spec" / "audian.yaml").read_text())
    props: dict[str, Any] = {}
    required = []
    for param in spec["paths"][path]["get"].get("parameters", []):
        if param.get("in") == "query":
            props[param["name"]] = param["schema"]
            if param.get("required"):
                required.append(param["name"])
    return {"type": "object", "required": required, "properties": props}


def test_number_search_parameters_agree_with_kazoos_find_numbers() -> None:
    """``GET /phone_numbers`` query rules: neither stricter nor looser than ``find_numbers``."""
    kazoo_schema = json.loads((KAZOO_DIR / "find_numbers.json").read_text())
    ours = _query_schema("/phone_numbers")
    shared = set(ours["properties"]) & set(kazoo_schema["properties"])
    assert shared == {"prefix", "quantity"}
    kazoo = jsonschema.Draft4Validator(kazoo_schema)
    for path, value in mutations(ours):
        body = {"prefix": "415", **{path[0]: value}}
        if path[0] not in shared:
            continue
        try:
            validate_body(body, ours, {}, partial=False)
            accepted = True
        except ValidationError:
            accepted = False
        kazoo_accepts = not list(kazoo.iter_errors(body))
        assert accepted == kazoo_accepts, (path, value, accepted)
