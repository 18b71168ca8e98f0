"""The data of the events the socket sends, shaped like Kazoo's.

Kazoo publishes events with AMQP header names (``Call-ID``, ``Custom-Channel-Vars``); blackhole
sends their public fields through ``kz_json:normalize_jobj``: every key lower-cased with ``-``
turned into ``_`` (nested objects too) and null values dropped. Call events follow ecallmgr's
channel events (as in blackhole's documentation), object events follow ``kzs_publish``.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["call_event", "normalize", "normalize_key", "object_event"]


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
    event: dict[str, Any] = {
        "App-Name": "ecallmgr",
        "App-Version": "4.3.0",
        "Event-Category": "call_event",
        "Event-Name": event_name,
        "Msg-ID": _msg_id(),
        "Call-ID": call_id,
        "Call-Direction": "inbound",
        "Caller-ID-Name": "Simulated caller",
        "Caller-ID-Number": "+14155550100",
        "Callee-ID-Name": "Simulated callee",
        "Callee-ID-Number": "+14155550199",
        "From": f"+14155550100@{realm}",
        "To": f"+14155550199@{realm}",
        "Request": f"+14155550199@{realm}",
        "Presence-ID": f"+14155550199@{realm}",
        "Media-Server": "simulator.audian.invalid",
        "Timestamp": timestamp,
        "Custom-Channel-Vars": {
            "Account-ID": account_id,
            "Account-Name": account_name,
            "Account-Realm": realm,
            "Realm": realm,
        },
    }
    if event_name == "CHANNEL_CREATE":
        event["Disposition"] = "DELAYED NEGOTIATION"
    elif event_name == "CHANNEL_ANSWER":
        event["Disposition"] = "ANSWER"
    elif event_name == "CHANNEL_DESTROY":
        event.update(
            {
                "Disposition": "ANSWER",
                "Hangup-Cause": "NORMAL_CLEARING",
                "Hangup-Code": "sip:200",
                "Duration-Seconds": "0",
                "Billing-Seconds": "0",
                "Ringing-Seconds": "0",
            }
        )
    data: dict[str, Any] = normalize(event)
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
