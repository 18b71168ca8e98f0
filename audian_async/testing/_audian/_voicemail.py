"""Voicemail boxes (generic CRUD) and their messages: list, get, move between folders, delete,
and the raw audio download.

Messages live beside the box (``Doc.extra``): their metadata under ``messages`` and their audio
under ``audio``, keyed by ``media_id``. Tests leave messages with
:meth:`Simulator.leave_voicemail <audian_async.testing.Simulator.leave_voicemail>`.
"""

from __future__ import annotations

import copy
from typing import Any

from .._envelope import bad_identifier, validation_error
from .._schema import SchemaError
from .._store import Doc, Store
from ._handlers import Call, Endpoint, Result
from ._kinds import Kind, pick

__all__ = ["KINDS", "VMBOX", "endpoints", "leave_message"]

FOLDERS = ("new", "saved", "deleted")


def _summary(doc: Doc) -> dict[str, Any]:
    out = pick(doc, ("name", "mailbox", "owner_id"))
    out["messages"] = sum(1 for m in _messages(doc) if m.get("folder") != "deleted")
    return out


def _rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    """Mailbox numbers are unique within the account (Kazoo ``mailbox.unique``)."""
    mailbox = data.get("mailbox")
    for other in store.of_account("vmbox", account_id):
        if other.id != self_id and mailbox is not None and other.data.get("mailbox") == mailbox:
            return [SchemaError(("mailbox",), "unique", "Mailbox already in use", cause=mailbox)]
    return []


VMBOX = Kind(
    name="vmbox",
    collection="vmboxes",
    schema={"type": "object"},
    defaults={
        "require_pin": False,
        "check_if_owner": True,
        "skip_greeting": False,
        "skip_instructions": False,
        "media_extension": "mp3",
        "notify_email_addresses": [],
    },
    rules=_rules,
    summary=_summary,
    spec_input="VoicemailBoxInput",
)

#: Collection name -> kind.
KINDS = {VMBOX.collection: VMBOX}


def _messages(doc: Doc) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = doc.extra.setdefault("messages", [])
    return messages


def leave_message(store: Store, box: Doc, now: int, audio: bytes, **fields: Any) -> dict[str, Any]:
    """Record a new (unheard) message in ``box``; returns its metadata."""
    media_id = store.new_id()
    message = {
        "media_id": media_id,
        "folder": "new",
        "timestamp": now,
        "length": 1000 * max(1, len(audio) // 2000),
        "call_id": store.new_hex(16),
        **fields,
    }
    _messages(box).append(message)
    box.extra.setdefault("audio", {})[media_id] = audio
    return copy.deepcopy(message)


def _box(call: Call) -> Doc:
    box_id = call.params["vmbox_id"]
    box = call.core.store.get("vmbox", call.account.id, box_id)
    if box is None:
        raise bad_identifier(box_id)
    return box


def _message(call: Call) -> tuple[Doc, dict[str, Any]]:
    box = _box(call)
    media_id = call.params["message_id"]
    for message in _messages(box):
        if message["media_id"] == media_id:
            return box, message
    raise bad_identifier(media_id)


def list_messages(call: Call) -> Result:
    """``GET .../vmboxes/{id}/messages[?folder=new]``."""
    folder = dict(call.query).get("folder")
    found = [m for m in _messages(_box(call)) if folder is None or m.get("folder") == folder]
    return Result(copy.deepcopy(found))


def get_message(call: Call) -> Result:
    """``GET .../vmboxes/{id}/messages/{media_id}``."""
    return Result(copy.deepcopy(_message(call)[1]))


def move_message(call: Call) -> Result:
    """``POST .../messages/{media_id}`` with ``{"folder": "saved"}``: heard, saved, deleted."""
    _, message = _message(call)
    folder = call.data.get("folder")
    if folder not in FOLDERS:
        raise validation_error(
            [
                SchemaError(
                    ("folder",),
                    "enum",
                    "Value not found in enumerated list of values",
                    target=list(FOLDERS),
                    value=folder,
                )
            ]
        )
    message["folder"] = folder
    return Result(copy.deepcopy(message))


def delete_message(call: Call) -> Result:
    """``DELETE .../messages/{media_id}``: removes the message and its audio."""
    box, message = _message(call)
    _messages(box).remove(message)
    box.extra.get("audio", {}).pop(message["media_id"], None)
    return Result(copy.deepcopy(message))


def raw_message(call: Call) -> Result:
    """``GET .../messages/{media_id}/raw``: the audio (``audio/mpeg``)."""
    box, message = _message(call)
    audio = box.extra.get("audio", {}).get(message["media_id"], b"")
    return Result(raw=audio, media_type="audio/mpeg")


def endpoints() -> list[Endpoint]:
    """The message routes (the boxes themselves use the generic CRUD routes)."""
    base = "/accounts/{account_id}/vmboxes/{vmbox_id}/messages"
    return [
        Endpoint(base, {"GET": list_messages}),
        Endpoint(
            base + "/{message_id}",
            {"GET": get_message, "POST": move_message, "DELETE": delete_message},
        ),
        Endpoint(base + "/{message_id}/raw", {"GET": raw_message}),
    ]
