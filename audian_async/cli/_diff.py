"""Field-level differences between a row and an existing document, and secret masking."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from .._redact import REDACTED
from ._resources import get_path
from ._rows import set_path

__all__ = ["diff", "fingerprint", "flatten", "mask", "nest"]


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"sip": {"username": "a"}}`` -> ``{"sip.username": "a"}`` (lists are values)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten`."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        set_path(out, path, value)
    return out


def _same(want: Any, have: Any, caseless: bool) -> bool:
    if caseless and isinstance(want, str) and isinstance(have, str):
        return want.lower() == have.lower()
    if isinstance(want, list) and isinstance(have, list):
        return [str(w) for w in want] == [str(h) for h in have]
    if (isinstance(want, int | float) and isinstance(have, str)) or (
        isinstance(have, int | float) and isinstance(want, str)
    ):
        return str(want) == str(have)
    return bool(want == have)


def diff(
    body: Mapping[str, Any],
    doc: Mapping[str, Any],
    *,
    is_secret: Callable[[str], bool],
    caseless: frozenset[str] = frozenset(),
) -> dict[str, tuple[Any, Any]]:
    """``{path: (server value, row value)}`` for every row field the server holds otherwise.

    Secret fields are left out: the server never returns them, so they cannot be compared.
    """
    changes: dict[str, tuple[Any, Any]] = {}
    for path, want in flatten(body).items():
        if is_secret(path):
            continue
        have = get_path(doc, path)
        if not _same(want, have, path in caseless):
            changes[path] = (have, want)
    return changes


def fingerprint(paths: list[str], doc: Mapping[str, Any]) -> str:
    """A short digest of the server's values at ``paths``: a change to any is a conflict."""
    values = {path: get_path(doc, path) for path in sorted(paths)}
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def mask(path: str, value: Any, is_secret: Callable[[str], bool]) -> Any:
    """``***`` instead of a secret field's value (``None`` stays ``None``)."""
    if value is None or not is_secret(path):
        return value
    return REDACTED
