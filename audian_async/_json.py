"""JSON encoding and decoding: orjson when installed (the ``fast`` extra), else the stdlib."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]


def _stdlib_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _pick() -> tuple[Callable[[Any], bytes], Callable[[bytes | str], Any]]:
    try:
        import orjson
    except ImportError:
        return _stdlib_dumps, json.loads
    return orjson.dumps, orjson.loads


def _bind() -> None:
    """Replace the module's functions with the chosen implementation (first use only)."""
    globals().update(zip(("dumps", "loads"), _pick(), strict=True))


def dumps(value: Any) -> bytes:  # replaced on first use (orjson loads only when needed)
    """Encode ``value`` as compact UTF-8 JSON."""
    _bind()
    return dumps(value)


def loads(data: bytes | str) -> Any:  # replaced on first use
    """Decode JSON."""
    _bind()
    return loads(data)
