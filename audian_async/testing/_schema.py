"""A small JSON-Schema subset validator.

Used twice: to validate request bodies (errors rendered as Kazoo's validation map) and to check
responses against the OpenAPI spec. Supported keywords: ``type`` (string or list), ``nullable``,
``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``, ``patternProperties``,
``items``, ``minItems``, ``maxItems``, ``uniqueItems``, ``minLength``, ``maxLength``, ``pattern``,
``format`` (``email`` only, and only when asked), ``minimum``, ``maximum``, ``allOf``, ``anyOf``,
``oneOf`` and local ``$ref`` (``#/...`` JSON pointers). Extensions: ``x-secret: true`` keeps a
field's value out of error details; ``x-open-enum: true`` makes an ``enum`` advisory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["SchemaError", "Validator", "kazoo_error_map", "type_name"]

_NO_VALUE: Any = object()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SchemaError:
    """One failed rule at one JSON path."""

    path: Path
    rule: str
    message: str
    target: Any = field(default=_NO_VALUE)
    value: Any = field(default=_NO_VALUE)
    cause: Any = field(default=_NO_VALUE)

    def dotted(self) -> str:
        """The path joined with dots (literal dots in keys escaped as ``%2E``)."""
        return ".".join(str(p).replace(".", "%2E") for p in self.path)

    def details(self) -> dict[str, Any]:
        """The ``{"message", "target"?, "value"?, "cause"?}`` object of Kazoo's map."""
        out: dict[str, Any] = {"message": self.message}
        if self.target is not _NO_VALUE:
            out["target"] = self.target
        if self.value is not _NO_VALUE:
            out["value"] = self.value
        if self.cause is not _NO_VALUE:
            out["cause"] = self.cause
        return out

    def readable(self) -> str:
        """A one-line human description."""
        where = self.dotted() or "<root>"
        return f"{where}: {self.rule}: {self.message}"


def kazoo_error_map(errors: Sequence[SchemaError]) -> dict[str, dict[str, Any]]:
    """Render errors as ``{"<dot.path>": {"<rule>": {...}}}``."""
    out: dict[str, dict[str, Any]] = {}
    for err in errors:
        out.setdefault(err.dotted(), {})[err.rule] = err.details()
    return out


def type_name(value: Any) -> str:
    """The JSON type of a Python value."""
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
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _matches_type(value: Any, wanted: str) -> bool:
    actual = type_name(value)
    if wanted == "number":
        return actual in ("integer", "number")
    if wanted == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == wanted


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Validator:
    """Validates instances against schemas, resolving ``$ref`` inside ``root``."""

    def __init__(
        self,
        root: Mapping[str, Any] | None = None,
        *,
        check_formats: bool = True,
        partial_below: int | None = None,
    ):
        self._root: Mapping[str, Any] = root or {}
        self._check_formats = check_formats
        # With ``partial_below=n``, ``required`` is not enforced deeper than n path segments
        # (a merge PATCH sends only the fields it changes).
        self._partial_below = partial_below

    def validate(
        self, instance: Any, schema: Mapping[str, Any], path: Path = ()
    ) -> list[SchemaError]:
        """Return every error found (empty when the instance is valid)."""
        errors: list[SchemaError] = []
        self._check(instance, schema, path, errors, secret=False)
        return errors

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow ``$ref`` chains to the referenced schema."""
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise ValueError(f"unsupported $ref {ref!r}")
            node: Any = self._root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(node, Mapping) or part not in node:
                    raise ValueError(f"unresolvable $ref {ref!r}")
                node = node[part]
            if not isinstance(node, Mapping):
                raise ValueError(f"$ref {ref!r} is not a schema")
            schema = node
            seen += 1
            if seen > 64:
                raise ValueError(f"$ref loop at {ref!r}")
        return schema

    # -- the checks ---------------------------------------------------------------------------

    def _check(
        self,
        value: Any,
        schema: Mapping[str, Any],
        path: Path,
        errors: list[SchemaError],
        *,
        secret: bool,
    ) -> None:
        schema = self.resolve(schema)
        if value is None and self._partial_below is not None and len(path) > self._partial_below:
            return  # a merge update: null deletes the key
        secret = secret or bool(schema.get("x-secret"))
        shown = _NO_VALUE if secret else value

        for sub in schema.get("allOf", ()):
            self._check(value, sub, path, errors, secret=secret)
        if "anyOf" in schema and not any(
            not self.validate_secretly(value, sub, path, secret) for sub in schema["anyOf"]
        ):
            errors.append(
                SchemaError(path, "anyOf", "Value did not match any of the schemas", value=shown)
            )
        if "oneOf" in schema:
            passing = sum(
                1 for sub in schema["oneOf"] if not self.validate_secretly(value, sub, path, secret)
            )
            if passing != 1:
                errors.append(
                    SchemaError(
                        path,
                        "oneOf",
                        f"Value matched {passing} of the schemas, expected exactly one",
                        value=shown,
                    )
                )

        if value is None and schema.get("nullable") is True:
            return
        if "type" in schema:
            wanted = schema["type"]
            types = [wanted] if isinstance(wanted, str) else list(wanted)
            if schema.get("nullable") is True:
                types.append("null")
            if not any(_matches_type(value, t) for t in types):
                errors.append(
                    SchemaError(
                        path,
                        "type",
                        f"Value did not match type(s): {', '.join(types)}",
                        target=wanted,
                        value=shown,
                    )
                )
                return

        if "const" in schema and _canonical(value) != _canonical(schema["const"]):
            errors.append(
                SchemaError(
                    path, "const", "Value is not the constant", target=schema["const"], value=shown
                )
            )
        open_enum = schema.get("x-open-enum") is True
        if (
            "enum" in schema
            and not open_enum
            and _canonical(value) not in {_canonical(v) for v in schema["enum"]}
        ):
            errors.append(
                SchemaError(
                    path,
                    "enum",
                    "Value not found in enumerated list of values",
                    target=list(schema["enum"]),
                    value=shown,
                )
            )

        if isinstance(value, str):
            self._check_string(value, schema, path, errors, shown)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_number(value, schema, path, errors, shown)
        elif isinstance(value, list):
            self._check_array(value, schema, path, errors, secret=secret)
        elif isinstance(value, dict):
            self._check_object(value, schema, path, errors, secret=secret)

    def validate_secretly(
        self, value: Any, schema: Mapping[str, Any], path: Path, secret: bool
    ) -> list[SchemaError]:
        """Validate a branch (for anyOf/oneOf) without touching the caller's error list."""
        errors: list[SchemaError] = []
        self._check(value, schema, path, errors, secret=secret)
        return errors

    def _check_string(
        self,
        value: str,
        schema: Mapping[str, Any],
        path: Path,
        errors: list[SchemaError],
        shown: Any,
    ) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            n = schema["minLength"]
            errors.append(
                SchemaError(
                    path,
                    "minLength",
                    f"String must be at least {n} characters",
                    target=n,
                    value=shown,
                )
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            n = schema["maxLength"]
            errors.append(
                SchemaError(
                    path,
                    "maxLength",
                    f"String must not be more than {n} characters",
                    target=n,
                    value=shown,
                )
            )
        if "pattern" in schema and not _compile(schema["pattern"]).search(value):
            pat = schema["pattern"]
            errors.append(
                SchemaError(
                    path, "pattern", f"Failed to match pattern '{pat}'", target=pat, value=shown
                )
            )
        if self._check_formats and schema.get("format") == "email" and not _EMAIL.match(value):
            errors.append(
                SchemaError(
                    path,
                    "format",
                    "Field is not in the correct format",
                    target="email",
                    value=shown,
                )
            )

    def _check_number(
        self,
        value: float,
        schema: Mapping[str, Any],
        path: Path,
        errors: list[SchemaError],
        shown: Any,
    ) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            n = schema["minimum"]
            errors.append(
                SchemaError(path, "minimum", f"Value must be at least {n}", target=n, value=shown)
            )
        if "maximum" in schema and value > schema["maximum"]:
            n = schema["maximum"]
            errors.append(
                SchemaError(path, "maximum", f"Value must be at most {n}", target=n, value=shown)
            )

    def _check_array(
        self,
        value: list[Any],
        schema: Mapping[str, Any],
        path: Path,
        errors: list[SchemaError],
        *,
        secret: bool,
    ) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            n = schema["minItems"]
            errors.append(
                SchemaError(path, "minItems", f"The list must have at least {n} items", target=n)
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            n = schema["maxItems"]
            errors.append(
                SchemaError(path, "maxItems", f"The list is more than {n} items", target=n)
            )
        if schema.get("uniqueItems") is True:
            seen: set[str] = set()
            for item in value:
                key = _canonical(item)
                if key in seen:
                    errors.append(
                        SchemaError(path, "uniqueItems", "List of items is not unique", value=item)
                    )
                    break
                seen.add(key)
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                self._check(item, items, (*path, index), errors, secret=secret)

    def _check_object(
        self,
        value: dict[str, Any],
        schema: Mapping[str, Any],
        path: Path,
        errors: list[SchemaError],
        *,
        secret: bool,
    ) -> None:
        props: Mapping[str, Any] = schema.get("properties", {})
        enforce = self._partial_below is None or len(path) < self._partial_below
        for name in schema.get("required", ()) if enforce else ():
            if name not in value:
                errors.append(
                    SchemaError((*path, name), "required", "Field is required but missing")
                )
        patterns: Mapping[str, Any] = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            handled = False
            if key in props:
                self._check(item, props[key], (*path, key), errors, secret=secret)
                handled = True
            for pat, sub in patterns.items():
                if _compile(pat).search(key):
                    self._check(item, sub, (*path, key), errors, secret=secret)
                    handled = True
            if handled:
                continue
            if extra is False:
                errors.append(
                    SchemaError(
                        (*path, key),
                        "additionalProperties",
                        "Strict checking of data is enabled; only include schema-defined properties",
                    )
                )
            elif isinstance(extra, Mapping):
                self._check(item, extra, (*path, key), errors, secret=secret)
