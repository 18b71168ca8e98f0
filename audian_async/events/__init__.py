"""Realtime events: Kazoo's event socket (blackhole) as an async stream.

    async with audian.events.subscribe("call.CHANNEL_CREATE.*", "object.doc_edited.user") as events:
        async for event in events:
            ...

Items are ``CallEvent``, ``ObjectEvent``, ``Event`` (anything else) and
``Gap`` (events were lost: after a reconnect, or dropped by a full buffer). See
``docs/events.md``.
"""

from __future__ import annotations

from ._errors import EventStreamError, SubscriptionError
from ._models import CallEvent, Event, Gap, ObjectEvent
from ._resource import Events
from ._stream import Backoff, EventStream, EventStreamStats

__all__ = [
    "Backoff",
    "CallEvent",
    "Event",
    "EventStream",
    "EventStreamError",
    "EventStreamStats",
    "Events",
    "Gap",
    "ObjectEvent",
    "SubscriptionError",
]
