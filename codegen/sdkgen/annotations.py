"""Python names and annotations of spec properties, parameters and response schemas."""

from __future__ import annotations

import keyword
import re
from typing import Any

from .context import ApiContext
from .opc import (
    AnyProperty,
    BooleanProperty,
    DateProperty,
    DateTimeProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    ListProperty,
    ModelProperty,
    NoneProperty,
    UnionProperty,
)


def is_dict_model(prop: Any) -> bool:
    """A schema with no named properties: rendered as ``dict[str, X]``, not a class."""
    return isinstance(prop, ModelProperty) and not (
        prop.required_properties or prop.optional_properties
    )


def type_str(prop: Any, imports: set[tuple[str, str]], ctx: ApiContext) -> str:
    """The Python annotation for a parsed property, collecting the model imports it needs."""
    if isinstance(prop, EnumProperty):
        imports.add((prop.class_info.module_name, prop.class_info.name))
        return f"{prop.class_info.name} | str"
    if isinstance(prop, ModelProperty):
        if is_dict_model(prop):
            extra = prop.additional_properties
            if extra is None or extra is True or isinstance(extra, AnyProperty) or extra is False:
                return "dict[str, Any]"
            return f"dict[str, {type_str(extra, imports, ctx)}]"
        imports.add((prop.class_info.module_name, prop.class_info.name))
        return prop.class_info.name
    if isinstance(prop, ListProperty):
        return f"list[{type_str(prop.inner_property, imports, ctx)}]"
    if isinstance(prop, UnionProperty):
        parts: list[str] = []
        for inner in prop.inner_properties:
            t = type_str(inner, imports, ctx)
            for piece in t.split(" | "):
                if piece not in parts:
                    parts.append(piece)
        if "None" in parts:
            parts.remove("None")
            parts.append("None")
        return " | ".join(parts)
    if isinstance(prop, NoneProperty):
        return "None"
    if isinstance(prop, BooleanProperty):
        return "bool"
    if isinstance(prop, IntProperty):
        return "int"
    if isinstance(prop, FloatProperty):
        return "float"
    if isinstance(prop, AnyProperty):
        return "Any"
    return "str"


def input_type_str(prop: Any, imports: set[tuple[str, str]], ctx: ApiContext) -> str:
    """Like :func:`type_str`, but a model may also be given as a plain mapping."""
    if isinstance(prop, DateProperty):  # sent as ISO 8601 text (the core calls isoformat)
        return "date | str"
    if isinstance(prop, DateTimeProperty):
        return "datetime | str"
    t = type_str(prop, imports, ctx)
    if isinstance(prop, ModelProperty) and not is_dict_model(prop):
        return f"{t} | Mapping[str, Any]"
    if isinstance(prop, ListProperty):
        inner = input_type_str(prop.inner_property, imports, ctx)
        return f"Sequence[{inner}]"
    return t


def py_name(json_name: str, parsed: str | None = None) -> str:
    name = parsed or re.sub(r"\W", "_", json_name)
    if keyword.iskeyword(name) or name in {"self", "body", "options", "call_options"}:
        name += "_"
    return name


# Keyword arguments every generated method has; a body field or query parameter of the same
# name gets a trailing underscore (or the spec's ``x-py-name``).
SDK_KWARGS = frozenset(
    {
        "deadline",
        "timeout",
        "max_retries",
        "validate",
        "extra_body",
        "extra_headers",
        "extra_query",
        "page_size",
        "max_items",
        "filters",
        "paginate",
    }
)


def kwarg_name(json_name: str, parsed: str | None, raw: dict[str, Any] | None) -> str:
    """The keyword argument of a body field or query parameter (``x-py-name`` overrides)."""
    override = (raw or {}).get("x-py-name")
    if override:
        return str(override)
    name = py_name(json_name, parsed)
    return name + "_" if name in SDK_KWARGS else name


def schema_type(schema: dict[str, Any], ctx: ApiContext, imports: set[tuple[str, str]]) -> str:
    """The Python type (expression usable at runtime too) of a raw response schema."""
    name = ctx.ref_name(schema)
    if name is not None:
        target = ctx.components[name]
        if (
            target.get("type") == "object"
            and not target.get("properties")
            and isinstance(target.get("additionalProperties"), dict)
        ):
            return f"dict[str, {schema_type(target['additionalProperties'], ctx, imports)}]"
        if "enum" in target:
            module = module_name(name)
            imports.add((module, name))
            return name
        module = module_name(name)
        imports.add((module, name))
        return name
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives and all("$ref" in a and ctx.resolve(a).get("properties") for a in alternatives):
        # Alternatives of named models: the converter picks the one whose required keys fit.
        return " | ".join(schema_type(a, ctx, imports) for a in alternatives)
    t = schema.get("type")
    if t == "array":
        return f"list[{schema_type(schema.get('items', {}), ctx, imports)}]"
    if t == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return f"dict[str, {schema_type(extra, ctx, imports)}]"
        return "dict[str, Any]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(
        t or "", "Any"
    )


def map_of_models(raw: dict[str, Any] | None, imports: set[tuple[str, str]]) -> str | None:
    """``dict[str, Model]`` for an object whose values are all one component (a recursive
    ``children`` map included, which the generator types as plain dicts), else None."""
    if not isinstance(raw, dict) or raw.get("properties"):
        return None
    values = raw.get("additionalProperties")
    ref = values.get("$ref") if isinstance(values, dict) else None
    if not ref:
        return None
    target = ref.rsplit("/", 1)[-1]
    imports.add((module_name(target), target))
    return f"dict[str, {target}]"


def module_name(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower().replace("__", "_")
