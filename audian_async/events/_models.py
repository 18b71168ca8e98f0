"""What an event stream yields: typed events, and the markers of events lost (``Gap``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .. import _json

__all__ = [
    "CallEvent",
    "Event",
    "Gap",
    "ObjectEvent",
    "class_of",
    "decode_lenient",
    "decode_whole",
    "new_event",
    "new_event_of_frame",
    "normalize_keys",
    "parse_event",
]

#: The attribute of a schema-decoded payload (``_schema.Fields``) holding a key that a
#: Python name cannot spell.
ATTRIBUTE: dict[str, str] = {"_id": "id_"}

#: The actions of object bindings (``object.<action>.<type>``).
OBJECT_ACTIONS = frozenset({"doc_created", "doc_edited", "doc_deleted"})


class Event:
    """An event the server delivered on a binding of this stream.

    Attributes:
        name: the event's name (``CHANNEL_CREATE``, ``doc_edited`` ...).
        binding: the binding it answers (the server's ``subscribed_key``: what you subscribed).
        data: the whole payload, keys lower-cased with ``-`` turned into ``_`` (nothing dropped).
        routing_key: the server's routing key of the event, if given.
        subscription_key: the server's internal binding, if given.

    The payload is normalised when ``data`` is first read (the reader task only decodes the
    frame, and with msgspec installed only its envelope and the typed fields: see
    ``_schema``). The typed accessors read a key sent in its normalised spelling (as Kazoo
    sends them) straight from the payload as sent, and decode or normalise the whole payload
    only when that key is missing (the payload may spell it otherwise: see ``normalize_keys``
    for which spelling wins).
    """

    __slots__ = (
        "_data",
        "_fields",
        "_frame",
        "_raw",
        "_routing_key",
        "_subscription_key",
        "binding",
        "name",
    )

    def __init__(
        self,
        *,
        name: str,
        binding: str,
        data: Any,
        routing_key: str | None = None,
        subscription_key: str | None = None,
    ) -> None:
        self.name = name
        self.binding = binding
        # As sent (checked when read): an event holds no reference to its whole message, so
        # that the message's dict is freed as soon as it is read (one less object per
        # buffered event for the garbage collector to scan: measured 1.4 us of 7 per event).
        self._routing_key: object = routing_key
        self._subscription_key: object = subscription_key
        self._raw = data
        self._data: Mapping[str, Any] | None = None
        # Set instead of ``_raw`` when the frame was decoded by schema (``_schema``): the
        # payload's typed fields, and the frame's text to decode the whole payload from.
        self._fields: Any = None
        self._frame: str | bytes | None = None

    @property
    def routing_key(self) -> str | None:
        """The server's routing key of the event, if given."""
        found = self._routing_key
        return found if type(found) is str and found else None

    @property
    def subscription_key(self) -> str | None:
        """The server's internal binding, if given."""
        found = self._subscription_key
        return found if type(found) is str and found else None

    @property
    def data(self) -> Mapping[str, Any]:
        """The whole payload, keys normalised (``Caller-ID-Number`` -> ``caller_id_number``)."""
        data = self._data
        if data is None:
            raw = self._raw
            frame = self._frame
            # A payload decoded from the frame here is this event's alone: normalised in place.
            normalise = normalize_keys if frame is None else _normalise_owned
            if frame is not None:
                try:
                    raw = _payload(decode_whole(frame))
                except (ValueError, RecursionError) as exc:  # only deeper than Python recurses
                    from ._errors import EventStreamError

                    raise EventStreamError(  # the frame is kept: every read says the same
                        f"the payload of this {self.name!r} event could not be decoded: "
                        f"{type(exc).__name__}"
                    ) from None
            if isinstance(raw, Mapping):
                try:
                    data = normalise(raw)
                except RecursionError:  # nested deeper than Python recurses: kept as sent
                    # (decoded afresh where the failed walk had begun to normalise in place)
                    data = raw if frame is None else _payload(decode_whole(frame))
            else:
                data = {"value": raw}
            self._data, self._raw, self._frame = data, None, None
        return data

    # ``_raw`` is a dict only until ``data`` is first read (then ``_data`` replaces it).
    # ``_fields`` answers first when set: a key it has in the normalised spelling is the
    # payload's own; one it lacks may be there in another spelling, so ``data`` decides.

    def _get(self, name: str) -> str | None:
        fields = self._fields
        if fields is not None:
            found = getattr(fields, ATTRIBUTE.get(name, name))
            if type(found) is str and found:
                return found
            return _text(self.data, name)
        raw = self._raw
        if type(raw) is dict:
            found = raw.get(name)  # as sent: no other spelling comes before it (Kazoo's shape)
            if type(found) is str and found:
                return found
            if _is_normal(raw):
                return None
        return _text(self.data, name)

    def _text(self, *names: str) -> str | None:
        fields = self._fields
        if fields is not None:
            # Only the first name: a later one must not win over the first in another spelling.
            found = getattr(fields, ATTRIBUTE.get(names[0], names[0]))
            if type(found) is str and found:
                return found
            return _text(self.data, *names)
        raw = self._raw
        if type(raw) is dict:
            found = raw.get(names[0])
            if type(found) is str and found:
                return found
            if _is_normal(raw):
                return _text(raw, *names)
        return _text(self.data, *names)

    def _account(self) -> str | None:
        fields = self._fields
        if fields is not None:
            found = fields.account_id
            if type(found) is str and found:
                return found
            return _account_of(self.data)  # the top level may spell it otherwise: it wins
        raw = self._raw
        if type(raw) is dict:
            found = raw.get("account_id")
            if type(found) is str and found:
                return found
            ccv = raw.get("custom_channel_vars")
            if _is_normal(raw) and (type(ccv) is not dict or _is_normal(ccv)):
                return _account_of(raw)
        return _account_of(self.data)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Event)
        return (self.name, self.binding, self.routing_key, self.subscription_key, self.data) == (
            other.name,
            other.binding,
            other.routing_key,
            other.subscription_key,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, mutable payload

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, binding={self.binding!r})"


class CallEvent(Event):
    """A call event (``call.<EVENT>.<CALL_ID>`` bindings).

    Attributes:
        call_id: the call (channel) id.
        event_name: ``CHANNEL_CREATE``, ``CHANNEL_ANSWER``, ``CHANNEL_DESTROY`` ...
        direction: ``inbound`` or ``outbound`` (the channel's direction), if given.
        caller_id_name, caller_id_number, callee_id_name, callee_id_number: the parties.
        account_id: the account the call belongs to, if given.
    """

    __slots__ = ()

    @property
    def call_id(self) -> str | None:
        """The call (channel) id."""
        fields = self._fields
        if fields is not None:  # the hot accessor: _get inlined
            found = fields.call_id
            if type(found) is str and found:
                return found
        else:
            raw = self._raw
            if type(raw) is dict:
                found = raw.get("call_id")
                if type(found) is str and found:
                    return found
        return self._get("call_id")

    @property
    def event_name(self) -> str | None:
        """``CHANNEL_CREATE``, ``CHANNEL_ANSWER``, ``CHANNEL_DESTROY`` ..."""
        return self._get("event_name") or self.name or None

    @property
    def direction(self) -> str | None:
        """``inbound`` or ``outbound``, if given."""
        return self._text("call_direction", "direction")

    @property
    def caller_id_name(self) -> str | None:
        """The caller's name, if given."""
        return self._get("caller_id_name")

    @property
    def caller_id_number(self) -> str | None:
        """The caller's number, if given."""
        return self._get("caller_id_number")

    @property
    def callee_id_name(self) -> str | None:
        """The callee's name, if given."""
        return self._get("callee_id_name")

    @property
    def callee_id_number(self) -> str | None:
        """The callee's number, if given."""
        return self._get("callee_id_number")

    @property
    def account_id(self) -> str | None:
        """The account the call belongs to, if given."""
        return self._account()

    def __repr__(self) -> str:
        return f"CallEvent(name={self.name!r}, binding={self.binding!r}, call_id={self.call_id!r})"


class ObjectEvent(Event):
    """A document change (``object.<action>.<type>`` bindings).

    Attributes:
        action: ``doc_created``, ``doc_edited`` or ``doc_deleted``.
        type: the document type (``user``, ``device``, ``callflow`` ...).
        id: the document id.
        account_id: the account the document belongs to, if known.
    """

    __slots__ = ()

    @property
    def action(self) -> str | None:
        """``doc_created``, ``doc_edited`` or ``doc_deleted``."""
        if self.name in OBJECT_ACTIONS:
            return self.name
        found = self._text("event_name", "action")
        if found is None:
            parts = self.binding.split(".")
            if len(parts) > 1 and parts[1] in OBJECT_ACTIONS:
                found = parts[1]
        return found

    @property
    def type(self) -> str | None:
        """The document type (``user``, ``device`` ...)."""
        return self._text("type", "pvt_type")

    @property
    def id(self) -> str | None:
        """The document id."""
        return self._text("id", "_id", "doc_id")

    @property
    def account_id(self) -> str | None:
        """The account the document belongs to, if known."""
        return self._account()

    def __repr__(self) -> str:
        return (
            f"ObjectEvent(action={self.action!r}, type={self.type!r}, id={self.id!r}, "
            f"binding={self.binding!r})"
        )


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


_KEYS: dict[str, str] = {}  # normalised key names (bounded: see _key)
_NORMAL: set[str] = set()  # key names already in their normalised spelling (bounded)


def _key(name: str) -> str:
    found = _KEYS.get(name)
    if found is None:
        found = name.lower().replace("-", "_")
        if len(_KEYS) < 4096:  # a server's key names are few; never grow without bound
            _KEYS[name] = found
    return found


def _is_normal(value: dict[Any, Any]) -> bool:
    """Every key of ``value`` (one level) is already in its normalised spelling."""
    if _NORMAL.issuperset(value):
        return True
    for k in value:
        if type(k) is not str or _key(k) != k:
            return False
        if len(_NORMAL) < 4096:
            _NORMAL.add(k)
    return True


def normalize_keys(value: Any) -> Any:
    """``value`` with every object key lower-cased and ``-`` turned into ``_`` (as Kazoo's
    blackhole sends them; a server that does not is normalised here).

    Where two spellings of one key meet (``event_name`` and ``Event-Name``), the one sent in
    the normalised spelling wins, as the typed accessors read it.
    """
    kind = type(value)
    if kind is dict:
        out = {
            _key(k) if type(k) is str else _key(str(k)): (
                normalize_keys(v) if type(v) is dict or type(v) is list else v
            )
            for k, v in value.items()
        }
        if len(out) < len(value):  # spellings collided: the normalised one comes last, wins
            for k, v in value.items():
                if type(k) is str and _key(k) == k:
                    out[k] = normalize_keys(v) if type(v) is dict or type(v) is list else v
        return out
    if kind is list:
        return [normalize_keys(v) if type(v) is dict or type(v) is list else v for v in value]
    if isinstance(value, Mapping):
        return normalize_keys(dict(value.items()))
    return value


def _normalise_owned(value: Any) -> Any:
    """``normalize_keys(value)`` for a payload this event owns (decoded for it alone): an
    object whose keys are already normalised is kept, not copied (Kazoo's events all are),
    and only what is not is replaced by its normalised copy."""
    kind = type(value)
    if kind is dict:
        if not _is_normal(value):
            return normalize_keys(value)
        for k, v in value.items():
            if type(v) is dict or type(v) is list:
                found = _normalise_owned(v)
                if found is not v:
                    value[k] = found  # an existing key: the dict's size does not change
        return value
    if kind is list:
        for i, v in enumerate(value):
            if type(v) is dict or type(v) is list:
                found = _normalise_owned(v)
                if found is not v:
                    value[i] = found
        return value
    return normalize_keys(value)


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
    older documented one (``name``, ``args``). The event keeps the payload, not the message.
    """
    binding = message.get("subscribed_key")
    name = message.get("name")
    if type(binding) is str and type(name) is str and binding and name:
        cls = _CLASS_OF.get(binding)
        if cls is None:
            cls = class_of(binding, name)
        return new_event(cls, message, name, binding)
    raw = message.get("data")
    if raw is None:
        raw = message.get("args")
    binding = _text(message, "subscribed_key", "binding", "subscription_key", "routing_key") or ""
    name = _text(message, "name", "event_name")
    if name is None and isinstance(raw, Mapping):
        name = _text(raw, "event_name", "Event-Name", "event_category", "Event-Category")
    name = name or ""
    return _CLASSES[_kind(binding, name)](
        name=name,
        binding=binding,
        data=raw,
        routing_key=_text(message, "routing_key"),
        subscription_key=_text(message, "subscription_key"),
    )


_CLASSES: dict[str, type[Event]] = {"call": CallEvent, "object": ObjectEvent, "other": Event}
_CLASS_OF: dict[str, type[Event]] = {}  # by binding, when its prefix decides (bounded)


def new_event(cls: type[Event], message: Mapping[str, Any], name: str, binding: str) -> Event:
    """A ``cls`` event of a message whose binding and name were read (``parse_event``'s
    fast path; the stream's reader inlines its first steps)."""
    event = cls.__new__(cls)
    event.name = name
    event.binding = binding
    event._routing_key = message.get("routing_key")
    event._subscription_key = message.get("subscription_key")
    raw = message.get("data")
    event._raw = message.get("args") if raw is None else raw
    event._data = None
    event._fields = None
    event._frame = None
    return event


def new_event_of_frame(
    cls: type[Event], envelope: Any, fields: Any, name: str, binding: str, frame: str | bytes
) -> Event:
    """A ``cls`` event of a frame decoded by schema (``_schema.Envelope``, its payload's
    ``fields``): the whole payload is decoded from ``frame`` when first needed."""
    event = cls.__new__(cls)
    event.name = name
    event.binding = binding
    event._routing_key = envelope.routing_key
    event._subscription_key = envelope.subscription_key
    event._raw = None
    event._data = None
    event._fields = fields
    event._frame = frame
    return event


def decode_whole(text: str | bytes) -> Any:
    """A frame decoded whole: with orjson when installed, else (or where orjson refuses what
    JSON's grammar allows) with the standard library. A number no decoder takes as it is is
    still read, not the frame lost: ``1e400`` as ``inf``, an integer longer than Python
    converts from text (4,300 digits) as an exact ``Decimal``. (orjson itself reads an
    integer beyond 64 bits as a float, as it does for REST answers: no Kazoo field comes
    near that.)

    Raises:
        ValueError: not JSON. RecursionError: nested deeper than Python recurses.
    """
    try:
        return _json.loads(text)
    except ValueError:
        return decode_lenient(text)


def decode_lenient(text: str | bytes) -> Any:
    """``decode_whole`` once orjson has refused ``text``: the standard library, then with
    integers too long for ``int()`` read as ``Decimal``.

    Raises:
        ValueError: not JSON. RecursionError: nested deeper than Python recurses.
    """
    import json

    try:
        return json.loads(text)
    except ValueError:
        return json.loads(text, parse_int=_long_int)


def _long_int(digits: str) -> Any:
    try:
        return int(digits)
    except ValueError:
        from decimal import Decimal

        return Decimal(digits)


def _payload(message: Any) -> Any:
    """The payload of a decoded event message (``data``, else the older ``args``)."""
    if not isinstance(message, Mapping):
        return None
    raw = message.get("data")
    return message.get("args") if raw is None else raw


def class_of(binding: str, name: str) -> type[Event]:
    """The event class of a binding and event name (cached by binding when its prefix
    decides)."""
    head = binding.split(".", 1)[0]
    if head in ("call", "object"):
        cls = _CLASSES[head]
        if len(_CLASS_OF) < 4096:  # a stream's bindings are few; never grow without bound
            _CLASS_OF[binding] = cls
        return cls
    return _CLASSES[_kind(binding, name)]
