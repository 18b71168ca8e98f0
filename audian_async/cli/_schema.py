"""What the spec says about a resource's input: field schemas, secret fields, and the
conversion of CSV text to the types the spec expects."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .._redact import SECRET_FIELD_NAMES

__all__ = ["InputSchema"]

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class InputSchema:
    """One input schema (``UserInput`` ...) of one API's schema registry."""

    def __init__(self, name: str, registry: Mapping[str, Any]) -> None:
        self.name = name
        self.registry = registry
        self.root: Mapping[str, Any] = {"$ref": f"#/components/schemas/{name}"}
        self._at: dict[str, Mapping[str, Any] | None] = {}
        self._secret: dict[str, bool] = {}

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow ``$ref`` (and a single ``allOf`` member) to the schema itself."""
        for _ in range(16):
            if "$ref" in schema:
                schema = self.registry.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
            elif len(schema.get("allOf", ())) == 1 and not schema.get("properties"):
                schema = schema["allOf"][0]
            else:
                break
        return schema

    def at(self, dotted: str) -> Mapping[str, Any] | None:
        """The schema of the field at ``dotted`` (``sip.username``), if the spec knows it."""
        try:
            return self._at[dotted]
        except KeyError:
            found = self._at[dotted] = self._find(dotted)
            return found

    def _find(self, dotted: str) -> Mapping[str, Any] | None:
        schema = self.resolve(self.root)
        for part in dotted.split("."):
            props = schema.get("properties")
            sub = props.get(part) if isinstance(props, Mapping) else None
            if sub is None:
                extra = schema.get("additionalProperties")
                if isinstance(extra, Mapping):
                    sub = extra
                elif extra is not False and not props and schema.get("type") in (None, "object"):
                    return {}  # a free-form object (a callflow action's data): anything goes
                else:
                    return None
            schema = self.resolve(sub)
        return schema

    def is_secret(self, dotted: str) -> bool:
        """Whether the field carries a secret (spec ``x-secret``, or a secret's name)."""
        known = self._secret.get(dotted)
        if known is None:
            schema = self.at(dotted)
            known = self._secret[dotted] = dotted.rsplit(".", 1)[-1] in SECRET_FIELD_NAMES or bool(
                schema and schema.get("x-secret")
            )
        return known

    def coerce(self, fields: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        """CSV strings converted to the spec's types where the text is unambiguous.

        Booleans (``true``/``false``, ``yes``/``no``, ``1``/``0``), integers, numbers, arrays
        (a JSON array, or values separated by ``;``) and objects (a JSON object). Text that does
        not convert is left as it is, for validation to report with the field and rule.
        """
        out: dict[str, Any] = {}
        for key, value in fields.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                out[key] = self.coerce(value, path + ".")
            elif isinstance(value, str):
                out[key] = self._coerce_text(value, self.at(path))
            else:
                out[key] = value
        return out

    def _coerce_text(self, text: str, schema: Mapping[str, Any] | None) -> Any:
        if schema is None:
            return text
        types = schema.get("type")
        names = [types] if isinstance(types, str) else list(types or ())
        if not names or "string" in names:
            if "null" in names and text.lower() == "null":
                return None
            return text
        lowered = text.lower()
        if "null" in names and lowered == "null":
            return None
        if "boolean" in names:
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        if "integer" in names and _INTEGER.match(text):
            return int(text)
        if "number" in names and _NUMBER.match(text):
            number = float(text)
            return int(number) if number.is_integer() and "." not in text else number
        if "array" in names:
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    return text
            items = schema.get("items")
            item_schema = self.resolve(items) if isinstance(items, Mapping) else None
            return [self._coerce_text(part.strip(), item_schema) for part in text.split(";")]
        if "object" in names and text.startswith("{"):
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text
