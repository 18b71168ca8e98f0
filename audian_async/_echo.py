"""Fields a server answered success for but did not apply (spec ``x-echo``): warned about."""

from __future__ import annotations

import enum
import warnings
from collections.abc import Mapping
from typing import Any

from ._errors import IgnoredFieldWarning
from ._operation import Operation
from ._redact import REDACTED, SECRET_FIELD_NAMES
from ._types import NOT_GIVEN

__all__ = ["check_echo", "server_drops"]


def server_drops(op: Operation[Any]) -> Mapping[str, tuple[str, ...]]:
    """``{field: keys}`` of the body's ``x-echo: {dropped-by: {answer-has: keys}}`` fields.

    Such a field is not stored by one server, whose answer then leaves it out; that server is
    recognised by ``keys`` in its answer. Read once per operation from the body's schema.
    """
    cached = _DROPS.get(op.id)
    if cached is not None:
        return cached
    drops: dict[str, tuple[str, ...]] = {}
    spec = op.body_schema or {}
    registry: Mapping[str, Any] = spec.get("registry") or {}
    ref = str((spec.get("schema") or {}).get("$ref", ""))
    schema = registry.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
    for name, prop in (schema.get("properties") or {}).items():
        echo = prop.get("x-echo") if isinstance(prop, Mapping) else None
        dropped = echo.get("dropped-by") if isinstance(echo, Mapping) else None
        if isinstance(dropped, Mapping) and dropped.get("answer-has"):
            drops[name] = tuple(str(k) for k in dropped["answer-has"])
    _DROPS[op.id] = drops
    return drops


_DROPS: dict[str, Mapping[str, tuple[str, ...]]] = {}


def check_echo(
    operation: str,
    sent: Any,
    answer: Any,
    echo: Mapping[str, tuple[str, Mapping[str, tuple[str, ...]], bool]],
    model: type,
    drops: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Warn when the server answered success but did not apply a field (spec ``x-echo``).

    Some servers ignore fields they do not know and answer 200/201 with their own default.
    A field is checked only when the answer carries it (under its name or an alias), so a
    server that echoes less is never accused; for a field the spec marks
    ``missing: ignored`` (always in the documented object), a missing key means the server
    does not know the field. A field marked ``dropped-by`` a server (``drops``: the answer keys
    that recognise it) counts as ignored when that server's answer leaves it out. Emits one
    :class:`~audian_async.IgnoredFieldWarning` per ignored field (make it an error with
    ``warnings.simplefilter("error", IgnoredFieldWarning)``).
    """
    if not isinstance(sent, Mapping) or not isinstance(answer, Mapping):
        return
    json_names: Mapping[str, str] = getattr(model, "__json_names__", {})
    aliases: Mapping[str, Any] = getattr(model, "__json_aliases__", {})
    for name, (attribute, same, missing_is_ignored) in echo.items():
        want = _plain(sent.get(name, NOT_GIVEN))
        if want is NOT_GIVEN:
            continue
        names = [json_names.get(attribute, attribute), *aliases.get(attribute, ())]
        present = [n for n in names if n in answer]
        marks = (drops or {}).get(name)
        dropped = bool(marks) and all(k in answer for k in marks or ())
        if not present and not (missing_is_ignored or dropped):
            continue  # the answer does not say: nothing to compare
        got = next((answer[n] for n in present if answer[n] is not None), None)
        if got == want or (got is not None and str(got) in same.get(str(want), ())):
            continue
        if name in SECRET_FIELD_NAMES:  # never put a secret in a message
            want, got = REDACTED, REDACTED if got is not None else None
        warnings.warn(IgnoredFieldWarning(operation, name, want, got), stacklevel=4)


def _plain(value: Any) -> Any:
    """An enum member's value; anything else as it is."""
    return value.value if isinstance(value, enum.Enum) else value
