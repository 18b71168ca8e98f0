"""Kazoo's event-socket bindings: what a client may subscribe to and what it matches.

A client binding (``call.CHANNEL_CREATE.*``) is split on dots; its first segment names a module
(``call``, ``object``, ``fax``, ``conference``) that validates the rest and turns it into one or
more server-side subscription keys, AMQP topic patterns scoped to the account
(``call.<ACCOUNT>.CHANNEL_CREATE.*``). Events carry a routing key; a socket receives an event
once per (client binding, subscription key) pair whose pattern matches it. This follows
blackhole's ``bh_call``, ``bh_object``, ``bh_fax`` and ``bh_conference`` modules.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "CALL_EVENTS",
    "DOC_ACTIONS",
    "DOC_TYPES",
    "MODB_TYPES",
    "Resolved",
    "account_db",
    "available",
    "encode_segment",
    "matches",
    "modb",
    "resolve",
    "validate",
]

#: The call events blackhole listens to (``bh_call``), in its order.
CALL_EVENTS = (
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_DESTROY",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE",
    "PARK_PARKED",
    "PARK_RETRIEVED",
    "PARK_ABANDONED",
)
#: Document actions of ``object.<ACTION>.<TYPE>``.
DOC_ACTIONS = ("doc_created", "doc_edited", "doc_deleted")
#: Document types of ``object.<ACTION>.<TYPE>`` (Kazoo's ``DOC_TYPES``), in its order.
DOC_TYPES = (
    "account",
    "callflow",
    "device",
    "faxbox",
    "media",
    "user",
    "vmbox",
    "fax",
    "mailbox_message",
    "call_recording",
)
#: Types stored in the monthly database (MODB) rather than the account database.
MODB_TYPES = frozenset({"fax", "mailbox_message"})


_KEY_SAFE = re.compile(r"[A-Za-z0-9_~-]+")


@dataclass(frozen=True)
class Resolved:
    """A valid client binding: the binding echoed to the client and its subscription keys."""

    requested: str
    subscribed: tuple[str, ...]


def available() -> dict[str, list[str]]:
    """What ``GET /v2/websockets`` answers (Kazoo's ``blackhole.bindings`` defaults)."""
    return {
        "call": [f"call.{event}.{{CALL_ID}}" for event in CALL_EVENTS],
        "conference": [
            "conference.event.{CONFERENCE_ID}.{CALL_ID}",
            "conference.command.{CONFERENCE_ID}",
        ],
        "fax": ["fax.status.{FAX_ID}", "fax.object.{ACTION}"],
        "object": [f"object.{action}.{kind}" for action in DOC_ACTIONS for kind in DOC_TYPES],
    }


def encode_segment(text: str) -> str:
    """One routing-key segment the way Kazoo encodes ids (``kz_amqp_util:encode``)."""
    if text in ("", "*", "#") or _KEY_SAFE.fullmatch(text):
        return text
    out: list[str] = []
    for char in text:
        if char.isascii() and (char.isalnum() or char in "-_~"):
            out.append(char)
        elif char == " ":
            out.append("+")
        elif char == ".":
            out.append("%2E")
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def account_db(account_id: str) -> str:
    """An account's database name as it appears in routing keys (``account%2Fab%2Fcd%2F...``)."""
    if account_id == "*":
        return "*"
    return f"account%2F{account_id[:2]}%2F{account_id[2:4]}%2F{account_id[4:]}"


def modb(account_id: str, unix: float) -> str:
    """An account's monthly database at a moment (``account%2Fab%2Fcd%2F...-YYYYMM``)."""
    if account_id == "*":
        return "*"
    moment = time.gmtime(unix)
    return f"{account_db(account_id)}-{moment.tm_year:04d}{moment.tm_mon:02d}"


def _keys(binding: str) -> tuple[str, list[str]]:
    module, *keys = binding.split(".")
    return module, keys


def _validate_call(keys: list[str]) -> str | None:
    if len(keys) != 2:
        return f"invalid format for call subscription : {', '.join(keys)}"
    if keys[0] != "*" and keys[0] not in CALL_EVENTS:
        return f"event {keys[0]} not supported"
    return None


def _validate_object(keys: list[str]) -> str | None:
    if len(keys) != 2:
        return f"invalid format for object subscription : {', '.join(keys)}"
    action, kind = keys
    if action == "*" and kind == "*":
        return None
    if kind == "*":
        return None if action in DOC_ACTIONS else f"event {action}.* not supported"
    if action == "*":
        return None if kind in DOC_TYPES else f"event *.{kind} not supported"
    if action in DOC_ACTIONS and kind in DOC_TYPES:
        return None
    return f"event {action}.{kind} not supported"


def _validate_fax(keys: list[str]) -> str | None:
    if len(keys) == 2 and keys[0] in ("status", "object"):
        return None
    return f"invalid format for fax subscription : {', '.join(keys)}"


def _validate_conference(keys: list[str]) -> str | None:
    if len(keys) == 2 and keys[0] == "command":
        return "ConferenceId required" if keys[1] == "*" else None
    if len(keys) == 3 and keys[0] == "event":
        return "ConferenceId required" if keys[1] == "*" else None
    return f"invalid format for conference subscription : {', '.join(keys)}"


_VALIDATORS = {
    "call": _validate_call,
    "object": _validate_object,
    "fax": _validate_fax,
    "conference": _validate_conference,
}


def validate(binding: str) -> str | None:
    """The module's complaint about a binding, or None.

    A binding no module claims passes validation (Kazoo runs no validator for it) and is
    refused later by `resolve` ("no available subscriptions to requested binding").
    """
    module, keys = _keys(binding)
    check = _VALIDATORS.get(module)
    return check(keys) if check is not None else None


def resolve(binding: str, account_id: str, now: float) -> Resolved | None:
    """The subscription keys of a validated binding for an account at unix time ``now``
    (None: no module claims the binding)."""
    module, keys = _keys(binding)
    if module == "call":
        event, call_id = keys
        events = CALL_EVENTS if event == "*" else (event,)
        return Resolved(binding, tuple(f"call.{account_id}.{e}.{call_id}" for e in events))
    if module == "object":
        action, kind = keys
        db, monthly = account_db(account_id), modb(account_id, now)
        if kind == "*":
            return Resolved(binding, (f"{action}.{db}.*.*", f"{action}.{monthly}.*.*"))
        where = monthly if kind in MODB_TYPES else db
        return Resolved(binding, (f"{action}.{where}.{kind}.*",))
    if module == "fax":
        what, arg = keys
        if what == "status":
            return Resolved(binding, (f"fax.status.{account_id}.{arg}",))
        return Resolved(binding, (f"{arg}.{modb(account_id, now)}.fax.*",))
    if module == "conference":
        if keys[0] == "command":
            return Resolved(binding, (f"conference.command.{keys[1]}",))
        conference_id, call_id = keys[1], keys[2]
        return Resolved(binding, (f"conference.event.*.{account_id}.{conference_id}.{call_id}",))
    return None


def matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one segment, ``#`` zero or more."""
    compiled = _compiled(pattern)
    if compiled is not None:
        return compiled.fullmatch(routing_key) is not None
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """A regular expression for a pattern without ``#`` (every routing key is new, a pattern
    is not: compile patterns, not matches)."""
    words = pattern.split(".")
    if "#" in words:
        return None
    return re.compile(r"\.".join("[^.]*" if w == "*" else re.escape(w) for w in words))


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
