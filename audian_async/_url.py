"""Query strings and path segments: how values are written into a request's URL."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from ._errors import ValidationError
from ._types import NOT_GIVEN

__all__ = ["encode_query", "encode_segment", "scalar", "with_query"]


def encode_query(query: Mapping[str, Any]) -> str:
    """``query`` as a query string (``None`` and ``NOT_GIVEN`` left out, sequences repeated)."""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None or value is NOT_GIVEN:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            pairs.extend((key, scalar(v)) for v in value)
        else:
            pairs.append((key, scalar(value)))
    return urlencode(pairs, quote_via=quote)


def scalar(value: Any) -> str:
    """One query or path value as text (booleans as ``true``/``false``, dates ISO, enums by value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return str(value.value)
    return str(value)


# The characters quote(safe="") leaves as they are: a segment made only of them needs no work.
_UNRESERVED_ONLY = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def encode_segment(value: Any, name: str = "path parameter") -> str:
    """Percent-encode one path segment completely (``+`` becomes ``%2B``, ``/`` ``%2F``).

    Raises:
        ValidationError: the value is empty, ``.`` or ``..`` (it would change the path).
    """
    if type(value) is str and (
        (value.isalnum() and value.isascii())  # ids: the common case, checked fastest
        or (_UNRESERVED_ONLY(value) and value != "." and value != "..")
    ):
        return value  # what quote() would return
    text = scalar(value)
    if not text:
        raise ValidationError(name, "minLength", "a path parameter must not be empty")
    if text in (".", ".."):
        raise ValidationError(name, "pattern", "a path parameter must not be '.' or '..'")
    return quote(text, safe="")


def with_query(url: str, query: Mapping[str, Any] | None) -> str:
    """``url`` with ``query`` encoded after ``?`` (unchanged when there is nothing to add)."""
    if query:
        qs = encode_query(query)
        if qs:
            return f"{url}?{qs}"
    return url
