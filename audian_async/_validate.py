"""Client-side validation of request bodies against the spec's JSON schemas.

A small, fast subset of JSON Schema (the keywords our spec uses). The first violation raises
:class:`~audian_async.ValidationError` naming the field (dotted path) and the rule (the JSON
Schema keyword), before anything is sent. Messages describe the rule and never echo the value,
so a rejected password cannot leak through an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ._errors import ValidationError

__all__ = ["spec_values", "validate_body"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

_TYPE_NAMES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (Mapping,),
    "array": (list, tuple),
    "null": (type(None),),
}


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=1024)
def _is_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone of this system's database.

    Loads that one zone (a small file, once per name and process) instead of listing the whole
    database (``zoneinfo.available_timezones()`` walks thousands of files, far too slow for the
    event loop). Without any tz database every name is accepted (the server will judge).
    """
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return not _has_tz_database()
    return True


@lru_cache(maxsize=1)
def _has_tz_database() -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo("America/New_York")
    except Exception:  # pragma: no cover - no tz database on this system
        return False
    return True


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPE_NAMES.get(name, (object,)))


def _join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


class _Validator:
    __slots__ = ("kept", "partial", "schemas")

    def __init__(
        self, schemas: Mapping[str, Any], partial: bool, kept: Mapping[str, Any] | None = None
    ) -> None:
        self.schemas = schemas
        self.partial = partial
        self.kept = kept

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            ref = schema["$ref"]
            name = ref.rsplit("/", 1)[-1]
            target = self.schemas.get(name)
            if target is None:
                raise KeyError(f"unresolvable schema reference {ref!r}")
            schema = target
        return schema

    def check(self, value: Any, schema: Mapping[str, Any], path: str) -> Any:
        """Raise on the first violation; return ``value`` as it is to be sent (the same
        object, or a copy with whole floats in integer-typed places made integers)."""
        kept = self.kept
        if kept is not None and path in kept:
            sent = kept[path]
            if type(value) is type(sent) and value == sent:
                return value  # the server's own value, kept as it sent it: sent back unchanged
        schema = self.resolve(schema)
        if value is None and self.partial:
            return value  # PATCH: null deletes the key
        for sub in schema.get("allOf", ()):
            value = self.check(value, sub, path)
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            value = self._check_variants(value, variants, path)
        if "if" in schema:
            value = self._check_conditional(value, schema, path)
        types = schema.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            if schema.get("nullable"):
                names.append("null")
            if not any(_is_type(value, n) for n in names):
                expected = " or ".join(names)
                raise ValidationError(
                    path or "body", "type", f"must be {expected}, not {_json_type(value)}"
                )
            if type(value) is float and "integer" in names and "number" not in names:
                value = int(value)  # whole (else refused above): Draft 4 takes only 32400
        if value is None:
            return value
        if "enum" in schema and not schema.get("x-open-enum"):
            allowed = schema["enum"]
            if value not in allowed:
                listed = ", ".join(repr(a) for a in allowed if a is not None)
                raise ValidationError(path, "enum", f"must be one of {listed}")
        if "const" in schema and value != schema["const"]:
            raise ValidationError(path, "const", f"must be {schema['const']!r}")
        if isinstance(value, str):
            self._check_string(value, schema, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._check_number(value, schema, path)
        elif isinstance(value, list | tuple):
            return self._check_array(value, schema, path)
        elif isinstance(value, Mapping):
            return self._check_object(value, schema, path)
        return value

    def _check_variants(self, value: Any, variants: Any, path: str) -> Any:
        first: ValidationError | None = None
        for variant in variants:
            try:
                return self.check(value, variant, path)
            except ValidationError as exc:
                first = first or exc
        if first is not None:
            raise first
        return value

    def _check_conditional(self, value: Any, schema: Mapping[str, Any], path: str) -> Any:
        """JSON Schema ``if``/``then``/``else``: a rule that applies only when ``if`` matches.

        ``if`` is always evaluated strictly (a partial update matches only when it carries the
        condition's fields), so ``then`` never fires on fields the request does not touch.
        """
        condition = self.resolve(schema["if"])
        try:
            _Validator(self.schemas, False).check(value, condition, path)
        except ValidationError:
            branch, matched = schema.get("else"), False
        else:
            branch, matched = schema.get("then"), True
        if branch is None:
            return value
        try:
            return self.check(value, branch, path)
        except ValidationError as exc:
            if not matched:
                raise
            raise ValidationError(
                exc.field, exc.rule, f"{exc.detail} when {_describe_condition(condition)}"
            ) from None

    def _check_string(self, value: str, schema: Mapping[str, Any], path: str) -> None:
        n = len(value)
        if "minLength" in schema and n < schema["minLength"]:
            raise ValidationError(
                path, "minLength", f"must be at least {schema['minLength']} characters"
            )
        if "maxLength" in schema and n > schema["maxLength"]:
            raise ValidationError(
                path, "maxLength", f"must be at most {schema['maxLength']} characters"
            )
        pattern = schema.get("pattern")
        if pattern is not None and not _regex(pattern).search(value):
            raise ValidationError(path, "pattern", f"must match the pattern {pattern}")
        fmt = schema.get("format")
        if fmt == "email" and not _EMAIL.match(value):
            raise ValidationError(path, "format", "must be a valid email address")
        if fmt == "e164" and not _E164.match(value):
            raise ValidationError(
                path, "format", "must be an E.164 phone number such as +14155550100"
            )
        if fmt == "iana-timezone" and not _is_timezone(value):
            raise ValidationError(
                path, "format", "must be an IANA time zone such as America/New_York"
            )

    def _check_number(self, value: float, schema: Mapping[str, Any], path: str) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            raise ValidationError(path, "minimum", f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ValidationError(path, "maximum", f"must be at most {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise ValidationError(
                path, "exclusiveMinimum", f"must be greater than {schema['exclusiveMinimum']}"
            )
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            raise ValidationError(
                path, "exclusiveMaximum", f"must be less than {schema['exclusiveMaximum']}"
            )

    def _check_array(
        self, value: list[Any] | tuple[Any, ...], schema: Mapping[str, Any], path: str
    ) -> Any:
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise ValidationError(
                path, "minItems", f"must have at least {schema['minItems']} items"
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise ValidationError(path, "maxItems", f"must have at most {schema['maxItems']} items")
        if schema.get("uniqueItems"):
            seen: list[Any] = []
            for item in value:
                if item in seen:
                    raise ValidationError(path, "uniqueItems", "must not contain duplicates")
                seen.append(item)
        items = schema.get("items")
        out: list[Any] | None = None
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                checked = self.check(item, items, _join(path, i))
                if checked is not item:
                    if out is None:
                        out = list(value)
                    out[i] = checked
        return value if out is None else out

    def _check_object(self, value: Mapping[str, Any], schema: Mapping[str, Any], path: str) -> Any:
        props: Mapping[str, Any] = schema.get("properties", {})
        if not self.partial:
            for name in schema.get("required", ()):
                if name not in value or (
                    value[name] is None and not _allows_null(self.resolve(props.get(name, {})))
                ):
                    raise ValidationError(_join(path, name), "required", "is required")
            any_of = schema.get("x-require-any")
            if any_of and not any(value.get(name) for name in any_of):
                listed = " or ".join(any_of)
                raise ValidationError(
                    _join(path, any_of[0]), "required", f"at least one of {listed} is required"
                )
        additional = schema.get("additionalProperties", True)
        out: dict[str, Any] | None = None
        for key, item in value.items():
            sub = props.get(key)
            if sub is None and additional is False:
                raise ValidationError(
                    _join(path, key), "additionalProperties", "is not a known field"
                )
            if sub is None and not isinstance(additional, Mapping):
                continue
            checked = self.check(item, additional if sub is None else sub, _join(path, key))
            if checked is not item:
                if out is None:
                    out = dict(value)
                out[key] = checked
        return value if out is None else out


def _describe_condition(condition: Mapping[str, Any]) -> str:
    """``ring_target is 'phone'`` for ``{"properties": {"ring_target": {"const": "phone"}}}``."""
    parts = []
    for name, sub in condition.get("properties", {}).items():
        if isinstance(sub, Mapping) and "const" in sub:
            parts.append(f"{name} is {sub['const']!r}")
        elif isinstance(sub, Mapping) and "enum" in sub:
            parts.append(f"{name} is one of {', '.join(repr(v) for v in sub['enum'])}")
    return " and ".join(parts) or "its condition holds"


def _allows_null(schema: Mapping[str, Any]) -> bool:
    t = schema.get("type")
    return bool(schema.get("nullable")) or t == "null" or (isinstance(t, list) and "null" in t)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def validate_body(
    body: Any,
    schema: Mapping[str, Any],
    schemas: Mapping[str, Any],
    *,
    partial: bool,
    kept: Mapping[str, Any] | None = None,
) -> Any:
    """Raise :class:`ValidationError` if ``body`` (JSON-ready) breaks ``schema``; return the
    body to send: ``body`` itself, or a copy whose whole floats in integer-typed places are
    integers (Kazoo's Draft 4 schemas refuse ``300.0`` where an integer is asked).

    ``schemas`` resolves ``#/components/schemas/<Name>`` references. With ``partial`` (PATCH),
    required fields are not enforced and ``null`` is accepted anywhere (it deletes a key).
    ``kept`` (dotted path -> value) names values a fetched model kept as the server sent them:
    they pass unchecked while unchanged.
    """
    return _Validator(schemas, partial, kept).check(body, schema, "")


def spec_values(
    schema: Mapping[str, Any], schemas: Mapping[str, Any], field: str
) -> list[Any] | None:
    """The values the spec lists for the body property ``field`` (an enum, open or not, found
    through ``$ref``, ``allOf``, ``anyOf`` and ``oneOf``), or ``None`` when it lists none."""
    resolver = _Validator(schemas, False)
    try:
        body = resolver.resolve(schema)
        prop = body.get("properties", {}).get(field)
        return None if prop is None else _enum_of(resolver, prop, 0)
    except KeyError:
        return None


def _enum_of(resolver: _Validator, schema: Mapping[str, Any], depth: int) -> list[Any] | None:
    schema = resolver.resolve(schema)
    if "enum" in schema:
        return [v for v in schema["enum"] if v is not None]
    if depth > 4:
        return None
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            found = _enum_of(resolver, sub, depth + 1)
            if found:
                return found
    return None
