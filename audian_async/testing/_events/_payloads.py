"""The data of the events the socket sends, shaped like Kazoo's.

Kazoo publishes events with AMQP header names (``Call-ID``, ``Custom-Channel-Vars``); blackhole
sends their public fields through ``kz_json:normalize_jobj``: every key lower-cased with ``-``
turned into ``_`` (nested objects too) and null values dropped. Call events follow ecallmgr's
channel events (as in blackhole's documentation), object events follow ``kzs_publish``.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

__all__ = ["call_event", "normalize", "normalize_key", "object_event"]


@lru_cache(maxsize=4096)
def normalize_key(key: str) -> str:
    """``Caller-ID-Name`` -> ``caller_id_name``."""
    return key.replace("-", "_").lower()


def normalize(value: Any) -> Any:
    """Kazoo's ``normalize_jobj``: keys normalised at every depth, nulls dropped from objects."""
    if isinstance(value, dict):
        return {normalize_key(str(k)): normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def _msg_id() -> str:
    return uuid.uuid4().hex


def call_event(
    event_name: str,
    *,
    call_id: str,
    account_id: str,
    account_name: str | None,
    realm: str | None,
    timestamp: int,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """A channel event's data; ``fields`` (any key spelling) override or, as None, remove keys."""
    realm = realm or "sip.audian.invalid"
    # ecallmgr's Call-ID, Caller-ID-Name, Custom-Channel-Vars... written as normalize_jobj
    # leaves them (building the normalised keys directly spares a pass per event).
    data: dict[str, Any] = {
        "app_name": "ecallmgr",
        "app_version": "4.3.0",
        "event_category": "call_event",
        "event_name": event_name,
        "msg_id": _msg_id(),
        "call_id": call_id,
        "call_direction": "inbound",
        "caller_id_name": "Simulated caller",
        "caller_id_number": "+14155550100",
        "callee_id_name": "Simulated callee",
        "callee_id_number": "+14155550199",
        "from": f"+14155550100@{realm}",
        "to": f"+14155550199@{realm}",
        "request": f"+14155550199@{realm}",
        "presence_id": f"+14155550199@{realm}",
        "media_server": "simulator.audian.invalid",
        "timestamp": timestamp,
        "custom_channel_vars": {
            "account_id": account_id,
            "account_realm": realm,
            "realm": realm,
        },
    }
    if account_name is not None:
        data["custom_channel_vars"]["account_name"] = account_name
    if event_name == "CHANNEL_CREATE":
        data["disposition"] = "DELAYED NEGOTIATION"
    elif event_name == "CHANNEL_ANSWER":
        data["disposition"] = "ANSWER"
    elif event_name == "CHANNEL_DESTROY":
        data.update(
            {
                "disposition": "ANSWER",
                "hangup_cause": "NORMAL_CLEARING",
                "hangup_code": "sip:200",
                "duration_seconds": "0",
                "billing_seconds": "0",
                "ringing_seconds": "0",
            }
        )
    for key, value in fields.items():
        name = normalize_key(key)
        if value is None:
            data.pop(name, None)
        else:
            data[name] = normalize(value)
    return data


def object_event(
    action: str,
    *,
    doc_type: str,
    doc_id: str,
    database: str,
    account_id: str,
    rev: str | None,
    created: int | None,
    modified: int | None,
) -> dict[str, Any]:
    """A document change's data (``doc_created`` / ``doc_edited`` / ``doc_deleted``).

    Kazoo's ``kzs_publish`` fills ``Date-Modified`` from the document's creation time and
    ``Date-Created`` from its modification time; a client sees exactly that, so this does too.
    """
    event = {
        "ID": doc_id,
        "Origin-Cache": "kazoo_data_cache",
        "Type": doc_type,
        "Database": database,
        "Rev": rev,
        "Account-ID": account_id,
        "Date-Modified": created,
        "Date-Created": modified,
        "Is-Soft-Deleted": action == "doc_deleted",
        "App-Name": "datamgr",
        "App-Version": "4.0.0",
        "Event-Category": "configuration",
        "Event-Name": action,
        "Msg-ID": _msg_id(),
    }
    return dict(normalize(event))
