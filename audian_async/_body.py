"""Request bodies: models and mappings to JSON-ready data, checked against the spec, encoded."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _json
from ._errors import ValidationError
from ._types import NOT_GIVEN

if TYPE_CHECKING:
    from ._operation import Operation
    from ._request_options import RequestOptions

__all__ = ["encode_body", "json_dumps", "prepare_body"]


# Values prepare_body() returns as they are (exact types: enum members are subclasses).
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})


def prepare_body(value: Any) -> Any:
    """Models to dicts, ``NOT_GIVEN`` entries dropped, containers walked (JSON-ready output)."""
    if type(value) in _JSON_LEAVES:
        return value
    models = sys.modules.get("audian_async._model")  # no model exists before it is imported
    if models is not None and isinstance(value, models.Model):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {
            k: v if type(v) in _JSON_LEAVES else prepare_body(v)
            for k, v in value.items()
            if v is not NOT_GIVEN
        }
    if isinstance(value, list | tuple):
        return [prepare_body(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str | int):
        return value.value  # enum members
    return value


def encode_body(
    op: Operation[Any], body: Any, options: RequestOptions | None, *, validating: bool
) -> bytes | None:
    """The JSON request body of one call of ``op``: ``body`` with the call's ``extra_body``
    merged in, checked against the operation's schema when ``validating``, wrapped in
    Kazoo's ``{"data": ...}`` (with the call's envelope keys) where the API wants it.

    Raises:
        ValidationError: the body breaks the spec (naming the field and the rule).
    """
    if body is None and (options is None or options.extra_body is None):
        return None
    kept = getattr(body, "kept", None)  # values a model kept as the server sent them
    data = prepare_body(body) if body is not None else {}
    if options is not None and options.extra_body:
        if not isinstance(data, dict):
            raise ValidationError("extra_body", "type", "extra_body needs a JSON object body")
        data = {**data, **prepare_body(options.extra_body)}
    if validating and op.body_schema is not None:
        from ._validate import validate_body

        schema, registry = op.body_schema["schema"], op.body_schema["registry"]
        data = validate_body(data, schema, registry, partial=op.body_mode == "patch", kept=kept)
    if op.wrap_body:
        data = {"data": data}
        if options is not None and options.envelope:
            data.update(options.envelope)
    return json_dumps(data)


def json_dumps(value: Any) -> bytes:
    """``value`` as compact JSON bytes."""
    return _json.dumps(value)
