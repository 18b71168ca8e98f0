"""What an event stream yields: typed events, and the markers of events lost (:class:`Gap`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = ["CallEvent", "Event", "Gap", "ObjectEvent", "normalize_keys", "parse_event"]

#: The actions of object bindings (``object.<action>.<type>``).
OBJECT_ACTIONS = frozenset({"doc_created", "doc_edited", "doc_deleted"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """An event the server delivered on a binding of this stream.

    Attributes:
        name: the event's name (``CHANNEL_CREATE``, ``doc_edited`` ...).
        binding: the binding it answers (the server's ``subscribed_key``: what you subscribed).
        data: the whole payload, keys lower-cased with ``-`` turned into ``_`` (nothing dropped).
        routing_key: the server's routing key of the event, if given.
        subscription_key: the server's internal binding, if given.
    """

    name: str
    binding: str
    data: Mapping[str, Any] = field(repr=False)
    routing_key: str | None = None
    subscription_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent(Event):
    """A call event (``call.<EVENT>.<CALL_ID>`` bindings).

    Attributes:
        call_id: the call (channel) id.
        event_name: ``CHANNEL_CREATE``, ``CHANNEL_ANSWER``, ``CHANNEL_DESTROY`` ...
        direction: ``inbound`` or ``outbound`` (the channel's direction), if given.
        caller_id_name, caller_id_number, callee_id_name, callee_id_number: the parties.
        account_id: the account the call belongs to, if given.
    """

    call_id: str | None = None
    event_name: str | None = None
    direction: str | None = None
    caller_id_name: str | None = None
    caller_id_number: str | None = None
    callee_id_name: str | None = None
    callee_id_number: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectEvent(Event):
    """A document change (``object.<action>.<type>`` bindings).

    Attributes:
        action: ``doc_created``, ``doc_edited`` or ``doc_deleted``.
        type: the document type (``user``, ``device``, ``callflow`` ...).
        id: the document id.
        account_id: the account the document belongs to, if known.
    """

    action: str | None = None
    type: str | None = None
    id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Events were lost here: resynchronise over REST if they matter.

    The stream yields one when the socket was replaced (events sent while it was down are gone
    for good: the server keeps no replay) and when the buffer overflowed because the
    application read more slowly than events arrived (the oldest were dropped).

    Attributes:
        reconnected: the socket dropped and a new one was subscribed: events between
            ``started_at`` and ``ended_at`` are lost.
        dropped: events dropped from a full buffer (the overflow policy: drop the oldest).
        started_at, ended_at: the client clock's ``now()`` when the loss began and ended.
        attempts: connection attempts it took to reconnect (0 for an overflow alone).
        reason: why the socket was replaced (``None`` for an overflow alone).
    """

    reconnected: bool
    dropped: int
    started_at: float
    ended_at: float
    attempts: int = 0
    reason: str | None = None

    def merge(self, later: Gap) -> Gap:
        """One gap covering this one and ``later``."""
        return Gap(
            reconnected=self.reconnected or later.reconnected,
            dropped=self.dropped + later.dropped,
            started_at=min(self.started_at, later.started_at),
            ended_at=max(self.ended_at, later.ended_at),
            attempts=self.attempts + later.attempts,
            reason=later.reason or self.reason,
        )


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def normalize_keys(value: Any) -> Any:
    """``value`` with every object key lower-cased and ``-`` turned into ``_`` (as Kazoo's
    blackhole sends them; a server that does not is normalised here)."""
    if isinstance(value, Mapping):
        return {_key(str(k)): normalize_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_keys(v) for v in value]
    return value


def _text(data: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _account_of(data: Mapping[str, Any]) -> str | None:
    found = _text(data, "account_id")
    if found is None:
        ccv = data.get("custom_channel_vars")
        if isinstance(ccv, Mapping):
            found = _text(ccv, "account_id")
    if found is None:
        database = _text(data, "database")
        if database and database.startswith("account"):
            # account%2Fab%2Fcd%2Fef... (or account/ab/cd/...): the id without separators
            raw = unquote(database)[len("account/") :].split("-")[0]
            found = raw.replace("/", "") or None
    return found


def _kind(binding: str, name: str) -> str:
    head = binding.split(".", 1)[0]
    if head in ("call", "object"):
        return head
    if name.startswith(("CHANNEL_", "PARK_")):
        return "call"
    if name in OBJECT_ACTIONS:
        return "object"
    return "other"


def parse_event(message: Mapping[str, Any]) -> Event:
    """The typed event of a server message whose ``action`` is ``event``.

    Both shapes are read: blackhole's code (``subscribed_key``, ``name``, ``data``) and the
    older documented one (``name``, ``args``).
    """
    raw = message.get("data")
    if raw is None:
        raw = message.get("args")
    data = normalize_keys(raw) if isinstance(raw, Mapping) else {"value": raw}
    binding = _text(message, "subscribed_key", "binding", "subscription_key", "routing_key") or ""
    name = _text(message, "name", "event_name") or _text(data, "event_name", "event_category") or ""
    common: dict[str, Any] = {
        "name": name,
        "binding": binding,
        "data": data,
        "routing_key": _text(message, "routing_key"),
        "subscription_key": _text(message, "subscription_key"),
    }
    kind = _kind(binding, name)
    if kind == "call":
        return CallEvent(
            **common,
            call_id=_text(data, "call_id"),
            event_name=_text(data, "event_name") or name or None,
            direction=_text(data, "call_direction", "direction"),
            caller_id_name=_text(data, "caller_id_name"),
            caller_id_number=_text(data, "caller_id_number"),
            callee_id_name=_text(data, "callee_id_name"),
            callee_id_number=_text(data, "callee_id_number"),
            account_id=_account_of(data),
        )
    if kind == "object":
        parts = binding.split(".")
        action = name if name in OBJECT_ACTIONS else _text(data, "event_name", "action")
        if action is None and len(parts) > 1 and parts[1] in OBJECT_ACTIONS:
            action = parts[1]
        return ObjectEvent(
            **common,
            action=action,
            type=_text(data, "type", "pvt_type"),
            id=_text(data, "id", "_id", "doc_id"),
            account_id=_account_of(data),
        )
    return Event(**common)
