"""Call detail records: a time-windowed listing with integer page keys, one record, the legs
of a call, and window totals (Kazoo ``cb_cdrs`` semantics).

The window is ``created_from``..``created_to`` in Gregorian seconds (default: the last
``MAX_RANGE`` seconds); a longer window, or one that ends before it starts, is a 400 on
``created_from`` with rule ``date_range``. Records are ordered by timestamp; the page key is
that timestamp (an integer, unique per account). Tests add records with
:meth:`Simulator.add_cdr <audian_async.testing.Simulator.add_cdr>`.
"""

from __future__ import annotations

import copy
from typing import Any

from .._envelope import Paging, bad_identifier, validation_error
from .._store import Doc, Store
from ._handlers import Call, Endpoint, Result
from ._listing import Row, list_rows

__all__ = ["MAX_RANGE", "add_cdr", "endpoints"]

#: Kazoo's default longest window (``crossbar.cdrs.maximum_range``): 31 days.
MAX_RANGE = 2_682_000


def add_cdr(store: Store, account_id: str, timestamp: int, fields: dict[str, Any]) -> Doc:
    """Store a CDR ending at ``timestamp`` (bumped by a second while one already ends then)."""
    taken = {d.created for d in store.of_account("cdr", account_id)}
    while timestamp in taken:
        timestamp += 1
    data: dict[str, Any] = {
        "call_id": store.new_hex(24),
        "interaction_id": f"{timestamp}-{store.new_hex(8)}",
        "call_direction": "inbound",
        "duration_seconds": 60,
        "billing_seconds": 55,
        "hangup_cause": "NORMAL_CLEARING",
        **fields,
        "timestamp": timestamp,
    }
    doc = store.make_doc("cdr", account_id, data)
    doc.created = doc.modified = timestamp
    store.add(doc)
    return doc


def _int_query(call: Call, name: str) -> int | None:
    raw = dict(call.query).get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise validation_error(
            {name: {"type": {"message": "Value did not match type(s): integer", "value": raw}}}
        ) from None


def _window(call: Call) -> tuple[int, int]:
    created_to = _int_query(call, "created_to")
    created_from = _int_query(call, "created_from")
    if created_to is None:
        created_to = (
            call.core.clock.gregorian() if created_from is None else created_from + MAX_RANGE
        )
    if created_from is None:
        created_from = created_to - MAX_RANGE
    if created_from > created_to or created_to - created_from > MAX_RANGE:
        message = f"created_to must be within {MAX_RANGE} seconds after created_from"
        raise validation_error(
            {"created_from": {"date_range": {"message": message, "cause": created_from}}}
        )
    return created_from, created_to


def _in_window(call: Call) -> list[Doc]:
    start, end = _window(call)
    docs = call.core.store.of_account("cdr", call.account.id)
    return sorted((d for d in docs if start <= d.created <= end), key=lambda d: d.created)


def list_cdrs(call: Call) -> Result:
    """``GET /v2/accounts/{id}/cdrs``: filters as for documents, integer ``start_key``."""
    rows = [
        Row(key=d.created, doc=d.render(), created=d.created, modified=d.modified, item=d.render())
        for d in _in_window(call)
    ]
    window_keys = {"created_from", "created_to", "start_key", "page_size", "paginate"}
    filtered = list_rows(
        rows, [(k, v) for k, v in call.query if k not in window_keys] + [("paginate", "false")], 0
    )
    kept = [r for r in rows if r.item in filtered.items]
    values = dict(call.query)
    if values.get("paginate", "true").lower() != "true":
        return Result([r.item for r in kept])
    page_size = _int_query(call, "page_size") or call.core.config.default_page_size
    start = _int_query(call, "start_key")
    if start is not None:
        kept = [r for r in kept if int(r.key) >= start]
    page = kept[:page_size]
    following = kept[page_size] if len(kept) > page_size else None
    paging = Paging(
        page_size=len(page),
        start_key=start,
        next_start_key=int(following.key) if following is not None else None,
    )
    return Result([r.item for r in page], paging=paging)


def get_cdr(call: Call) -> Result:
    """``GET /v2/accounts/{id}/cdrs/{cdr_id}``."""
    doc = call.core.store.get("cdr", call.account.id, call.params["cdr_id"])
    if doc is None:
        raise bad_identifier(call.params["cdr_id"])
    return Result(doc.render())


def legs(call: Call) -> Result:
    """``GET /v2/accounts/{id}/cdrs/legs/{interaction_id}``: every leg of one call."""
    wanted = call.params["interaction_id"]
    docs = [
        d
        for d in call.core.store.of_account("cdr", call.account.id)
        if d.data.get("interaction_id") == wanted
    ]
    if not docs:
        raise bad_identifier(wanted)
    return Result([d.render() for d in sorted(docs, key=lambda d: d.created)])


def _seconds(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def summary(call: Call) -> Result:
    """``GET /v2/accounts/{id}/cdrs/summary``: counts and durations in the window."""
    start, end = _window(call)
    docs = _in_window(call)
    data = {
        "total_calls": len(docs),
        "inbound": sum(1 for d in docs if d.data.get("call_direction") == "inbound"),
        "outbound": sum(1 for d in docs if d.data.get("call_direction") == "outbound"),
        "duration_seconds": sum(_seconds(d.data.get("duration_seconds")) for d in docs),
        "billing_seconds": sum(_seconds(d.data.get("billing_seconds")) for d in docs),
        "created_from": start,
        "created_to": end,
    }
    return Result(copy.deepcopy(data))


def endpoints() -> list[Endpoint]:
    """The CDR routes (``summary`` and ``legs`` before ``{cdr_id}``)."""
    base = "/accounts/{account_id}/cdrs"
    return [
        Endpoint(base, {"GET": list_cdrs}),
        Endpoint(base + "/summary", {"GET": summary}),
        Endpoint(base + "/legs/{interaction_id}", {"GET": legs}),
        Endpoint(base + "/{cdr_id}", {"GET": get_cdr}),
    ]
