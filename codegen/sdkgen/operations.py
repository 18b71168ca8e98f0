"""Views of the operations of one tag (what ``resource.py.jinja`` renders)."""

from __future__ import annotations

import re
from typing import Any

from .annotations import (
    input_type_str,
    is_dict_model,
    kwarg_name,
    module_name,
    py_name,
    schema_type,
)
from .context import ApiContext, clean, raw_str
from .opc import ModelProperty

# JSON-schema keywords that make a query parameter worth checking before sending.
CHECKED_KEYWORDS = {"enum", "minLength", "maxLength", "pattern", "minimum", "maximum"}
# Query parameters the core drives itself for paginated listings.
PAGING_PARAMS = {"start_key": {"page_size", "start_key", "paginate"}, "offset": {"limit", "offset"}}


def resource_view(collection: Any, ctx: ApiContext) -> dict[str, Any]:
    tag = str(collection.tag)
    ops = [operation_view(e, tag, ctx) for e in collection.endpoints]
    imports: set[tuple[str, str]] = set()
    for op in ops:
        imports.update(op["imports"])
        if op["body"] and op["body"]["accepts_model"] and op["body"]["model_hint"]:
            name = op["body"]["model_hint"]
            imports.add((module_name(name), name))
    class_name = "".join(part.capitalize() for part in tag.split("_")) + "Resource"
    tag_doc = next(
        (t.get("description", "") for t in ctx.raw.get("tags", []) if t["name"] == tag), ""
    )
    return {
        "tag": tag,
        "class": class_name,
        "doc": clean(tag_doc),
        "ops": ops,
        "imports": sorted(imports),
        "streamable": any(op["streamable"] for op in ops),
    }


def operation_view(endpoint: Any, tag: str, ctx: ApiContext) -> dict[str, Any]:
    """Everything one resource method needs."""
    path = (
        endpoint.path.get_untrusted_value()
        if hasattr(endpoint.path, "get_untrusted_value")
        else str(endpoint.path)
    )
    method = endpoint.method.upper()
    item, op = ctx.raw_operation(path, method)
    imports: set[tuple[str, str]] = set()
    verb = _verb(endpoint, tag)
    envelope = op.get("x-envelope", ctx.envelope)

    raw_params = {
        p.get("name"): p
        for p in [*item.get("parameters", []), *op.get("parameters", [])]
        if isinstance(p, dict)
    }
    for p in [*item.get("parameters", []), *op.get("parameters", [])]:
        if "$ref" in p:
            target = ctx.raw["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]
            raw_params[target["name"]] = target

    query_names = {raw_str(q.name) for q in endpoint.query_parameters}
    pagination = "none"
    if "start_key" in query_names:
        pagination = "start_key"
    elif {"limit", "offset"} <= query_names:
        pagination = "offset"
    elif op.get("x-pagination") == "single":
        # An unpaginated listing (a bare array) still handed out as an AsyncPaginator.
        pagination = "single"

    path_params = [
        _param_view(p, raw_params.get(raw_str(p.name)), imports, ctx)
        for p in endpoint.path_parameters
        if raw_str(p.name) != "account_id"
    ]
    query_params = [
        _param_view(q, raw_params.get(raw_str(q.name)), imports, ctx)
        for q in endpoint.query_parameters
        if raw_str(q.name) not in PAGING_PARAMS.get(pagination, set())
    ]
    query_schemas = {}
    for q in query_params:
        schema = ctx.resolve((raw_params.get(q["json"]) or {}).get("schema", {}))
        if CHECKED_KEYWORDS & set(schema):
            checked = {k: v for k, v in schema.items() if k in CHECKED_KEYWORDS or k == "type"}
            if schema.get("x-open-enum"):
                checked.pop("enum", None)
            query_schemas[q["json"]] = checked

    # Retry safety: creates (PUT/POST addressed to a collection or an action) are not safe.
    ends_with_param = path.rstrip("/").endswith("}")
    retry_safe = method in ("GET", "HEAD", "DELETE", "PATCH") or (
        method in ("PUT", "POST") and ends_with_param
    )
    retry_safe = bool(op.get("x-retry-safe", retry_safe))

    body: dict[str, Any] | None = None
    if endpoint.bodies:
        json_bodies = [b for b in endpoint.bodies if "json" in str(b.content_type)]
        body_prop = (json_bodies or endpoint.bodies)[0].prop
        raw_body = op["requestBody"]["content"]["application/json"]["schema"]
        wrapper = ctx.resolve(raw_body)
        wrap = envelope == "kazoo" and ctx._is_data_wrapper(wrapper)
        inner_prop = body_prop
        inner_raw = raw_body
        if wrap:
            inner_prop = next(p for p in body_prop.required_properties if raw_str(p.name) == "data")
            inner_raw = wrapper["properties"]["data"]
        if method == "PATCH":
            mode = "patch"
        elif not retry_safe:
            mode = "create"
        elif ends_with_param and method in ("PUT", "POST"):
            mode = "replace"
        else:
            mode = "action"
        if method == "PUT" and ends_with_param and not wrap and mode == "replace":
            mode = "patch" if op.get("x-partial", True) else "replace"
        # x-body-mode: an update that is neither a replace nor a merge (move a message).
        mode = op.get("x-body-mode", mode)
        fields = []
        raw_fields = ctx.resolve(inner_raw).get("properties", {})
        if isinstance(inner_prop, ModelProperty) and not is_dict_model(inner_prop):
            for prop in [*inner_prop.required_properties, *inner_prop.optional_properties]:
                json_name = raw_str(prop.name)
                py = kwarg_name(json_name, str(prop.python_name), raw_fields.get(json_name))
                doc = clean(prop.description)
                if py not in (json_name, py_name(json_name, str(prop.python_name))):
                    doc = f"{doc or 'JSON field.'} Sent as `{json_name}`."
                raw_field = raw_fields.get(json_name) or {}
                fields.append(
                    {
                        "py": py,
                        "json": json_name,
                        "type": input_type_str(prop, imports, ctx),
                        "required": prop.required and mode in ("create", "action"),
                        "doc": doc,
                        # x-also-send: other JSON names the value is sent under as well
                        "also": [str(a) for a in raw_field.get("x-also-send") or ()],
                        # x-echo: check that the response carries the value (servers that
                        # ignore a field answer success with another value)
                        "echo": raw_field.get("x-echo"),
                    }
                )
        fields.sort(key=lambda f: not f["required"])
        schema_name = ctx.ref_name(inner_raw)
        body = {
            "wrap": wrap,
            "mode": mode,
            "fields": fields,
            "schema": {"$ref": f"#/components/schemas/{schema_name}"} if schema_name else inner_raw,
            "accepts_model": mode in ("replace", "patch"),
            "model_hint": _input_model_hint(inner_prop, ctx),
            "also": {f["json"]: f["also"] for f in fields if f["also"]},
            "echo": {f["json"]: _echo_view(f, op) for f in fields if f["echo"]},
        }

    status, resp_schema = _response_schema(op)
    returns = "None"
    structure = "None"
    item_type = None
    empty_ok = False  # a 204 (no document) is a documented answer
    if resp_schema is not None:
        resolved = ctx.resolve(resp_schema)
        data_schema = resp_schema
        if envelope == "kazoo":
            data_schema = _envelope_data(resolved, ctx) or resp_schema
        if pagination == "offset":
            data_schema = _offset_items(resolved, ctx) or data_schema
        if op.get("x-unwrap") and (resolved.get("anyOf") or resolved.get("oneOf")):
            # x-unwrap with alternatives: the first one is the result's type.
            data_schema = (resolved.get("anyOf") or resolved.get("oneOf"))[0]
        structure = schema_type(data_schema, ctx, imports)
        returns = structure
        if pagination != "none":
            if op.get("x-item-type"):
                # An explicit item type: listings whose data has several shapes (anyOf).
                item_type = op["x-item-type"]
                imports.add((module_name(item_type), item_type))
            elif structure.startswith("list["):
                item_type = structure[5:-1]
            elif structure.startswith("dict[str, "):
                item_type = structure[len("dict[str, ") : -1]
            else:
                item_type = structure
            returns = f"AsyncPaginator[{item_type}]"
        elif "204" in {str(c) for c in op.get("responses", {})}:
            returns = f"{structure} | None"
            empty_ok = True

    unwrap = op.get("x-unwrap")
    if unwrap and structure != "None":
        # x-unwrap: [key, ...]: the result may also arrive as {key: <result>, ...}.
        keys = ", ".join(f'"{k}"' for k in unwrap)
        structure = f"Unwrap({structure}, ({keys},))"

    stream = bool(op.get("x-stream"))
    if stream:
        returns = "AbstractAsyncContextManager[StreamingResponse]"

    filters = op.get("x-filters")
    upload = _upload_view(op, ctx)
    doc_lines = [clean(op.get("summary")) or f"{method} {path}"]
    if op.get("description"):
        doc_lines.append(clean(op.get("description")))
    return {
        "empty_ok": empty_ok,
        "id": op.get("operationId"),
        "verb": verb,
        "method": method,
        "path": path,
        "doc": doc_lines,
        "path_params": path_params,
        "query_params": query_params,
        "query_schemas": query_schemas,
        "body": body,
        "returns": returns,
        "structure": structure,
        "item_type": item_type,
        "item_key": op.get("x-item-key"),
        "pagination": pagination,
        "core_pagination": "none" if pagination == "single" else pagination,
        "filters": filters,
        "retry_safe": retry_safe,
        "envelope": envelope,
        "auth": op.get("security", None) != [],
        "imports": sorted(imports),
        "stream": stream,
        # with_streaming_response: downloads, and listings (their first page's body)
        "streamable": stream or pagination != "none",
        "upload": upload,
        "accept_charges": bool(op.get("x-accept-charges")) and body is not None,
        "error_in_body": bool(op.get("x-error-in-body")),
        "status": status,
        "const": re.sub(r"\W", "_", verb).upper(),
    }


def _verb(endpoint: Any, tag: str) -> str:
    name = str(endpoint.name)
    prefix = f"{tag}_"
    return name[len(prefix) :] if name.startswith(prefix) else name


def _response_schema(op: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    for code, resp in sorted(op.get("responses", {}).items()):
        if str(code).startswith("2"):
            content = resp.get("content", {}).get("application/json")
            if content is not None:
                return int(code), content["schema"]
    for code in op.get("responses", {}):
        if str(code).startswith("2"):
            return int(code), None
    return 200, None


def _param_view(
    prop: Any, raw: dict[str, Any] | None, imports: set[tuple[str, str]], ctx: ApiContext
) -> dict[str, Any]:
    gregorian = bool((raw or {}).get("x-gregorian"))
    return {
        "py": kwarg_name(raw_str(prop.name), str(prop.python_name), raw),
        "json": raw_str(prop.name),
        # x-gregorian: a time given as a datetime, sent as Gregorian seconds (Kazoo's clock)
        "type": "datetime | int" if gregorian else input_type_str(prop, imports, ctx),
        "gregorian": gregorian,
        "required": prop.required,
        "doc": clean(prop.description) or clean((raw or {}).get("description")),
        "default": (raw or {}).get("schema", {}).get("default"),
    }


def _upload_view(op: dict[str, Any], ctx: ApiContext) -> dict[str, Any] | None:
    """``x-upload``: a second method sending the operation's multipart/form-data body."""
    spec = op.get("x-upload")
    if not spec:
        return None
    schema = ctx.resolve(op["requestBody"]["content"]["multipart/form-data"]["schema"])
    required = set(schema.get("required", []))
    fields: list[dict[str, Any]] = []
    file_field: dict[str, Any] | None = None
    for name, prop in schema.get("properties", {}).items():
        view = {
            "py": kwarg_name(name, None, prop),
            "json": name,
            "required": name in required,
            "doc": clean(prop.get("description")),
        }
        if prop.get("format") == "binary":
            file_field = view
        else:
            fields.append(view)
    if file_field is None:
        raise SystemExit(f"{op.get('operationId')}: x-upload needs a `format: binary` field")
    fields.sort(key=lambda f: not f["required"])
    check = {
        "type": "object",
        "required": [f["json"] for f in fields if f["required"]],
        "properties": {
            f["json"]: {
                k: v for k, v in schema["properties"][f["json"]].items() if k != "description"
            }
            for f in fields
        },
    }
    return {
        "verb": spec["verb"],
        "summary": clean(spec.get("summary")) or "Send as multipart/form-data.",
        "fields": fields,
        "file": file_field,
        "schema": check,
    }


def _echo_view(field: dict[str, Any], op: dict[str, Any]) -> list[Any]:
    """``[response attribute, {sent value: [equivalent answers]}, missing means ignored]`` of
    an ``x-echo`` field (``true``, or ``{attribute, same, missing: ignored}``)."""
    echo = field["echo"]
    spec = echo if isinstance(echo, dict) else {}
    attr = str(spec.get("attribute") or py_name(field["json"]))
    same = {str(k): [str(x) for x in v] for k, v in (spec.get("same") or {}).items()}
    return [attr, same, spec.get("missing") == "ignored"]


def _input_model_hint(prop: Any, ctx: ApiContext) -> str | None:
    if (
        isinstance(prop, ModelProperty)
        and not is_dict_model(prop)
        and ctx.model_wanted(prop.class_info.name)
    ):
        return prop.class_info.name
    return None


def _envelope_data(schema: dict[str, Any], ctx: ApiContext) -> dict[str, Any] | None:
    for part in [schema, *schema.get("allOf", [])]:
        part = ctx.resolve(part)
        data = part.get("properties", {}).get("data")
        if data is not None:
            return data
    return None


def _offset_items(schema: dict[str, Any], ctx: ApiContext) -> dict[str, Any] | None:
    """Offset-paginated listings: the type of the ``data`` array (the core reads the envelope)."""
    for variant in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        variant = ctx.resolve(variant)
        data = variant.get("properties", {}).get("data")
        if data is not None:
            return data
    return None
