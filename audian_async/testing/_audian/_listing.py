"""Query-string filters and start_key pagination for collection GETs.

Behaviour (Kazoo crossbar semantics, with the Audian twist that a repeated filter means OR):

* ``filter_<key>=<v>``: keep a row when the stored value at ``<key>`` (dots descend into objects)
  rendered as text equals ``v`` (booleans ``true``/``false``; a missing key renders as ``""``), or
  when ``v`` is a JSON array of strings containing that text. Repeating the same ``filter_<key>``
  ORs its values. ``filter_not_<key>`` keeps rows matching none of its values.
* ``has_key``, ``key_missing``, ``has_value``, ``value_missing`` take one key each (repeatable,
  ANDed); ``created_from``/``created_to``/``modified_from``/``modified_to`` are Gregorian seconds.
* Every filter is ANDed; filters see the public document (never secrets).
* Rows are ordered ascending by a per-listing key (creation order, or the number for phone
  numbers). ``start_key`` is base64url (no padding) of a JSON array holding that key. A key that
  does not decode, or whose type does not fit the listing, is answered with a 400 validation
  error on ``start_key``. ``paginate`` other than ``true`` returns everything without page keys.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._envelope import ApiError, Paging, validation_error

__all__ = ["Listing", "Row", "decode_key", "encode_key", "list_rows"]

_MISSING: Any = object()
_RANGE_KEYS = {
    "created_from": ("created", 1),
    "created_to": ("created", -1),
    "modified_from": ("modified", 1),
    "modified_to": ("modified", -1),
}
_KEY_TESTS = ("has_key", "key_missing", "has_value", "value_missing")


@dataclass
class Row:
    """One candidate row of a listing."""

    key: int | str
    doc: dict[str, Any]
    created: int
    modified: int
    item: Any


@dataclass
class Listing:
    """The rows of one page plus the page keys for the envelope."""

    items: list[Any]
    paging: Paging


def encode_key(key: int | str) -> str:
    """Opaque cursor for a sort key."""
    raw = json.dumps([key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_key(text: str) -> int | str | None:
    """Inverse of :func:`encode_key`; None when the text is not one of our cursors."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], (int, str)):
        return None if isinstance(value[0], bool) else value[0]
    return None


def list_rows(
    rows: Sequence[Row], query: Sequence[tuple[str, str]], default_page_size: int
) -> Listing:
    """Filter, order and page ``rows`` according to the query string."""
    paginate, page_size, start = _paging_params(query, default_page_size)
    kept = sorted(
        (r for r in rows if _passes(r, query)), key=lambda r: (isinstance(r.key, str), r.key)
    )
    if not paginate:
        return Listing([r.item for r in kept], Paging(page_size=None))
    start_key: str | None = None
    if start is not None:
        start_key, wanted = start
        if kept and not isinstance(wanted, type(kept[0].key)):
            raise _bad_start_key(start_key)
        kept = [r for r in kept if _at_or_after(r.key, wanted)]
    page = kept[:page_size]
    following = kept[page_size] if len(kept) > page_size else None
    paging = Paging(
        page_size=len(page),
        start_key=start_key,
        next_start_key=encode_key(following.key) if following is not None else None,
    )
    return Listing([r.item for r in page], paging)


def _at_or_after(key: int | str, start: int | str) -> bool:
    if isinstance(key, int) and isinstance(start, int):
        return key >= start
    if isinstance(key, str) and isinstance(start, str):
        return key >= start
    return False


def _paging_params(
    query: Sequence[tuple[str, str]], default_page_size: int
) -> tuple[bool, int, tuple[str, int | str] | None]:
    values = dict(query)
    paginate = values.get("paginate", "true").strip().lower() == "true"
    page_size = default_page_size
    if paginate and "page_size" in values:
        try:
            page_size = int(values["page_size"])
        except ValueError:
            page_size = 0
        if page_size < 1:
            raise ApiError(404, "faulty_request", {"message": "invalid page size"})
    start: tuple[str, int | str] | None = None
    if paginate and "start_key" in values:
        text = values["start_key"]
        decoded = decode_key(text)
        if decoded is None:
            raise _bad_start_key(text)
        start = (text, decoded)
    return paginate, page_size, start


def _bad_start_key(text: str) -> ApiError:
    return validation_error(
        {"start_key": {"format": {"message": "Field is not in the correct format", "value": text}}}
    )


def _lookup(doc: dict[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _as_text(value: Any) -> str | None:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return None


def _value_matches(text: str | None, wanted: str) -> bool:
    if text is None:
        return False
    if text == wanted:
        return True
    try:
        decoded = json.loads(wanted)
    except ValueError:
        return False
    if isinstance(decoded, list):
        return text in [d for d in decoded if isinstance(d, str)]
    return isinstance(decoded, str) and decoded == text


def _is_empty(value: Any) -> bool:
    return value is _MISSING or value is None or value in ("", [], {})


def _passes(row: Row, query: Sequence[tuple[str, str]]) -> bool:
    positive: dict[str, list[str]] = {}
    negative: dict[str, list[str]] = {}
    for name, value in query:
        if name.startswith("filter_not_"):
            negative.setdefault(name[len("filter_not_") :], []).append(value)
        elif name.startswith("filter_"):
            positive.setdefault(name[len("filter_") :], []).append(value)
        elif not _other_test(row, name, value):
            return False
    for key, wanted in positive.items():
        text = _as_text(_lookup(row.doc, key))
        if not any(_value_matches(text, w) for w in wanted):
            return False
    for key, unwanted in negative.items():
        text = _as_text(_lookup(row.doc, key))
        if any(_value_matches(text, w) for w in unwanted):
            return False
    return True


def _other_test(row: Row, name: str, value: str) -> bool:
    if name in _KEY_TESTS:
        return _key_test(row.doc, name, value)
    if name in _RANGE_KEYS:
        return _range_test(row, name, value)
    return True


def _key_test(doc: dict[str, Any], test: str, key: str) -> bool:
    value = _lookup(doc, key)
    if test == "has_key":
        return value is not _MISSING
    if test == "key_missing":
        return value is _MISSING
    if test == "has_value":
        return not _is_empty(value)
    return _is_empty(value)


def _range_test(row: Row, name: str, raw: str) -> bool:
    try:
        bound = int(raw)
    except ValueError:
        raise validation_error(
            {
                name: {
                    "type": {
                        "message": "Value did not match type(s): integer",
                        "target": "integer",
                        "value": raw,
                    }
                }
            }
        ) from None
    field, direction = _RANGE_KEYS[name]
    stamp = row.created if field == "created" else row.modified
    return stamp >= bound if direction > 0 else stamp <= bound
