"""Views of the models and enums a spec defines (what ``model.py.jinja`` and
``enum.py.jinja`` render)."""

from __future__ import annotations

import re
from typing import Any

from .annotations import is_dict_model, map_of_models, py_name, type_str
from .context import ApiContext, clean, raw_str
from .opc import EnumProperty, ModelProperty


def model_view(model: ModelProperty, ctx: ApiContext) -> dict[str, Any] | None:
    """The class to render for one parsed model, or None when it is not generated."""
    name = model.class_info.name
    if is_dict_model(model) or not ctx.model_wanted(name):
        return None
    raw_props = {}
    if model.data is not None and model.data.properties:
        raw_props = {k: v for k, v in model.data.properties.items()}
    imports: set[tuple[str, str]] = set()
    fields = []
    component = ctx.components.get(name, {})
    for prop in [*model.required_properties, *model.optional_properties]:
        json_name = raw_str(prop.name)
        raw = raw_props.get(json_name)
        raw_extra = getattr(raw, "model_extra", None) or {}
        fields.append(
            {
                "py": py_name(json_name, str(prop.python_name)),
                "json": json_name,
                "type": map_of_models(component.get("properties", {}).get(json_name), imports)
                or type_str(prop, imports, ctx),
                "required": prop.required,
                "doc": clean(prop.description),
                "secret": bool(raw_extra.get("x-secret")),
                # readOnly: server-owned; a model passed back to an update never sends it
                "read_only": bool(getattr(raw, "readOnly", False)),
                # x-aliases: other JSON names read into this field (the primary name is written)
                "aliases": [str(a) for a in raw_extra.get("x-aliases") or ()],
            }
        )
        if fields[-1]["aliases"]:
            names = ", ".join(f"`{a}`" for a in fields[-1]["aliases"])
            fields[-1]["doc"] = (
                f"{fields[-1]['doc'] or 'JSON `' + json_name + '`.'} Also read from {names}."
            )
        ann = fields[-1]["type"]
        fields[-1]["annotation"] = (
            ann if prop.required or ann.endswith("| None") else f"{ann} | None"
        )
    fields.sort(key=lambda f: (not f["required"],))
    own = {(m, c) for m, c in imports if c != name}
    model_extra = (getattr(model.data, "model_extra", None) or {}) if model.data else {}
    return {
        "name": name,
        "module": model.class_info.module_name,
        "doc": clean(model.description) or f"The {name} object.",
        "fields": fields,
        "json_names": {f["py"]: f["json"] for f in fields if f["py"] != f["json"]},
        "secrets": sorted(f["py"] for f in fields if f["secret"]),
        "aliases": {f["py"]: f["aliases"] for f in fields if f["aliases"]},
        "read_only": sorted(f["py"] for f in fields if f["read_only"]),
        # x-lift: fields missing at the top level are read from this nested object
        "lift": model_extra.get("x-lift"),
        "imports": sorted(own),
    }


def enum_view(enum: EnumProperty, ctx: ApiContext) -> dict[str, Any] | None:
    name = enum.class_info.name
    if not ctx.model_wanted(name):
        return None
    members = []
    for key, value in enum.values.items():
        ident = re.sub(r"\W", "_", str(key)).upper()
        if ident[0].isdigit():
            ident = "VALUE_" + ident
        members.append({"name": ident, "value": value})
    return {
        "name": name,
        "module": enum.class_info.module_name,
        "doc": clean(enum.description) or f"Values of {name}.",
        "members": members,
    }
