"""Relay realtime events to browsers as server-sent events: ONE upstream socket for the app.

Install with the ``fastapi`` extra. An `EventHub` subscribes once, in the application's
lifespan, and fans every event out to its listeners, one per browser connection, each with a
bounded queue of its own:

    from fastapi import FastAPI, Request
    from audian_async.integrations.fastapi_events import AudianEvents, audian_events_lifespan, sse_response

    app = FastAPI(lifespan=audian_events_lifespan("call.CHANNEL_CREATE.*", "call.CHANNEL_DESTROY.*"))

    @app.get("/calls")
    async def calls(hub: AudianEvents):
        return sse_response(hub)

Overflow: a browser that reads more slowly than events arrive loses ITS oldest events (never
anyone else's, and the upstream socket is read on regardless); the loss reaches that browser
as a ``gap`` event (``{"reconnected": false, "dropped": N}``) where it happened, and is
counted in `Listener.dropped`. Gaps of the upstream stream (a reconnect) reach every browser
the same way. A listener ends when its browser disconnects, freeing its queue.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, Self

import anyio

try:
    from fastapi import Depends, FastAPI, Request
    from starlette.responses import StreamingResponse
    from starlette.types import Receive, Scope, Send
except ImportError as _exc:  # name the extra to install
    from .._extras import missing_extra

    _error = missing_extra(
        _exc, "fastapi", "audian_async.integrations.fastapi_events", ("fastapi", "starlette")
    )
    if _error is _exc:
        raise
    raise _error from None

from .._client import AsyncAudian
from ..events import CallEvent, Event, Gap, ObjectEvent
from .fastapi import AUDIAN_STATE_KEY, DEFAULT_TRANSPORT, Lifespan, audian_lifespan

if TYPE_CHECKING:
    from ..events import EventStream

__all__ = [
    "EVENTS_STATE_KEY",
    "AudianEvents",
    "EventHub",
    "Listener",
    "audian_events_lifespan",
    "encode_sse",
    "get_event_hub",
    "sse_response",
]

EVENTS_STATE_KEY = "audian_events"
_logger = logging.getLogger(__name__)


class Listener:
    """One consumer of an `EventHub` (a browser): a bounded queue, drop-oldest on overflow.

    ``async for item in listener`` yields events and `Gap` markers; it ends when the hub
    closes. Attributes: ``dropped`` (events this listener lost to overflow, in all),
    ``capacity``.
    """

    def __init__(self, hub: EventHub, capacity: int) -> None:
        self._hub = hub
        self.capacity = capacity
        self.dropped = 0
        self._items: deque[Event | Gap] = deque()
        self._unreported = 0  # dropped since the listener last read a Gap
        self._lost_at: float | None = None
        self._ready = anyio.Event()
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Event | Gap) -> None:
        """Queue ``item`` without waiting; a full queue drops its oldest item (counted)."""
        if self.closed:
            return
        if len(self._items) >= self.capacity:
            oldest = self._items.popleft()
            if isinstance(oldest, Gap):  # the loss it reported is carried on
                self._carry(oldest)
            else:
                self.dropped += 1
                self._unreported += 1
                if self._lost_at is None:
                    self._lost_at = anyio.current_time()
        self._items.append(item)
        self._ready.set()

    def _carry(self, gap: Gap) -> None:
        self._unreported += gap.dropped
        if self._lost_at is None or gap.started_at < self._lost_at:
            self._lost_at = gap.started_at

    def close(self) -> None:
        """End the iteration (the hub closed, or the browser left)."""
        self.closed = True
        self._ready.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event | Gap:
        while True:
            if self._unreported:  # the loss came before everything still queued
                now = anyio.current_time()
                gap = Gap(
                    reconnected=False,
                    dropped=self._unreported,
                    started_at=self._lost_at if self._lost_at is not None else now,
                    ended_at=now,
                )
                self._unreported, self._lost_at = 0, None
                return gap
            if self._items:
                return self._items.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._ready = anyio.Event()
            await self._ready.wait()

    async def next(self, timeout: float | None) -> Event | Gap | None:
        """The next item, or ``None`` if none came within ``timeout`` seconds (keep-alives)."""
        with anyio.move_on_after(timeout):
            return await self.__anext__()
        return None


class EventHub:
    """One upstream event stream shared by every listener (``async with`` it in a lifespan).

    ``EventHub(audian, *bindings, queue_size=100, **subscribe_options)`` opens ONE socket
    (``audian.events.subscribe(*bindings, **subscribe_options)``) when entered, reads it
    continuously, and hands every item to every listener's own queue without waiting for
    any of them: a slow listener only loses its own oldest events. Leaving the block closes
    the socket and ends every listener.

    Attributes:
        listeners: how many listeners are open now.
        error: the error that ended the upstream stream, if it failed.
    """

    def __init__(
        self, audian: AsyncAudian, *bindings: str, queue_size: int = 100, **subscribe_options: Any
    ) -> None:
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"queue_size must be a whole number >= 1, not {queue_size!r}")
        self._audian = audian
        self.bindings = bindings
        self.queue_size = queue_size
        self._options = subscribe_options
        self._listeners: set[Listener] = set()
        self._stream: EventStream | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self.error: BaseException | None = None
        self.closed = False

    @property
    def listeners(self) -> int:
        """Listeners open now (one per connected browser)."""
        return len(self._listeners)

    @property
    def stream(self) -> EventStream:
        """The upstream stream (its ``stats``: received, dropped, reconnects ...)."""
        if self._stream is None:
            raise RuntimeError("the hub is not open: `async with EventHub(...)` first")
        return self._stream

    async def __aenter__(self) -> Self:
        stream = self._audian.events.subscribe(*self.bindings, **self._options)
        await stream.__aenter__()  # the first connection: its errors stop the app's start
        self._stream = stream
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        group.start_soon(self._pump, stream)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group, stream = self._group, self._stream
        self._group = None
        self._close_listeners()
        try:
            if group is not None:
                group.cancel_scope.cancel()
                await group.__aexit__(None, None, None)
        finally:
            if stream is not None:
                await stream.__aexit__(None, None, None)

    async def _pump(self, stream: EventStream) -> None:
        try:
            async for item in stream:
                for listener in tuple(self._listeners):
                    listener.offer(item)
        except Exception as exc:  # the upstream failed for good: end every listener
            self.error = exc
            _logger.error("the upstream event stream failed: %s: %s", type(exc).__name__, exc)
        self._close_listeners()

    def _close_listeners(self) -> None:
        self.closed = True
        for listener in tuple(self._listeners):
            listener.close()

    @asynccontextmanager
    async def listen(self, queue_size: int | None = None) -> AsyncIterator[Listener]:
        """A listener for the block (a browser's connection); its queue is freed on leaving."""
        listener = Listener(self, queue_size or self.queue_size)
        if self.closed:
            listener.close()
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            listener.close()

    def __repr__(self) -> str:
        return f"EventHub(bindings={len(self.bindings)}, listeners={self.listeners})"


def _event_fields(event: Event) -> dict[str, Any]:
    if isinstance(event, CallEvent):
        return {
            "event_name": event.event_name,
            "call_id": event.call_id,
            "direction": event.direction,
            "caller_id_name": event.caller_id_name,
            "caller_id_number": event.caller_id_number,
            "callee_id_name": event.callee_id_name,
            "callee_id_number": event.callee_id_number,
            "account_id": event.account_id,
        }
    if isinstance(event, ObjectEvent):
        return {
            "action": event.action,
            "type": event.type,
            "id": event.id,
            "account_id": event.account_id,
        }
    return {"name": event.name, "binding": event.binding, "data": dict(event.data)}


def encode_sse(item: Event | Gap) -> str:
    """One server-sent event for ``item``: ``event: call`` (a `CallEvent`: event name, call id,
    direction, parties, account), ``object`` (action, type, id, account), ``event`` (name,
    binding, data) or ``gap`` (``reconnected``, ``dropped``); ``data`` is one line of JSON."""
    if isinstance(item, Gap):
        kind, fields = "gap", {"reconnected": item.reconnected, "dropped": item.dropped}
    else:
        kind = "call" if isinstance(item, CallEvent) else "object"
        kind = kind if isinstance(item, CallEvent | ObjectEvent) else "event"
        fields = _event_fields(item)
    return f"event: {kind}\ndata: {json.dumps(fields, separators=(',', ':'))}\n\n"


class _EventSourceResponse(StreamingResponse):
    """A streaming response that stops as soon as the browser disconnects (whatever the
    ASGI server's spec version), so that the listener's queue is freed at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def stream() -> None:
                with contextlib.suppress(OSError):  # the browser went away while we wrote
                    await self.stream_response(send)
                group.cancel_scope.cancel()

            group.start_soon(stream)
            await self.listen_for_disconnect(receive)
            group.cancel_scope.cancel()


def sse_response(
    hub: EventHub,
    *,
    encode: Callable[[Event | Gap], str | None] = encode_sse,
    queue_size: int | None = None,
    keepalive: float = 15.0,
) -> StreamingResponse:
    """A ``text/event-stream`` response relaying ``hub``'s events to one browser.

    ``encode`` turns an item into one server-sent event (``None`` skips it: a filter);
    ``queue_size`` overrides the hub's per-listener bound; a ``: keepalive`` comment goes out
    after ``keepalive`` quiet seconds (proxies close idle connections). The response ends
    when the browser disconnects or the hub closes (an ``event: end`` is sent then).
    """

    async def body() -> AsyncIterator[str]:
        async with hub.listen(queue_size) as listener:
            while True:
                try:
                    item = await listener.next(keepalive)
                except StopAsyncIteration:
                    yield "event: end\ndata: {}\n\n"
                    return
                if item is None:
                    yield ": keepalive\n\n"
                    continue
                text = encode(item)
                if text is not None:
                    yield text

    return _EventSourceResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def audian_events_lifespan(
    *bindings: str,
    factory: Callable[[], AsyncAudian] | None = None,
    transport: str = DEFAULT_TRANSPORT,
    queue_size: int = 100,
    **subscribe_options: Any,
) -> Lifespan:
    """A lifespan that opens one [`AsyncAudian`][audian_async.AsyncAudian] (as
    [`audian_lifespan`][audian_async.integrations.fastapi.audian_lifespan] does: the
    ``AudianClient`` dependency works too) and one [`EventHub`][audian_async.integrations.fastapi_events.EventHub]
    on ``bindings``, handed to endpoints by the ``AudianEvents`` dependency; both are closed
    on shutdown. ``subscribe_options`` go to ``audian.events.subscribe``.
    """
    open_client = audian_lifespan(factory, transport=transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_client(app):
            client = getattr(app.state, AUDIAN_STATE_KEY)
            async with EventHub(
                client, *bindings, queue_size=queue_size, **subscribe_options
            ) as hub:
                setattr(app.state, EVENTS_STATE_KEY, hub)
                try:
                    yield
                finally:
                    delattr(app.state, EVENTS_STATE_KEY)

    return lifespan


async def get_event_hub(request: Request) -> EventHub:
    """Dependency: the application's shared [`EventHub`][audian_async.integrations.fastapi_events.EventHub]."""
    hub = getattr(request.app.state, EVENTS_STATE_KEY, None)
    if not isinstance(hub, EventHub):
        raise RuntimeError(
            "no EventHub on app.state: create the app with lifespan=audian_events_lifespan(...)"
        )
    return hub


AudianEvents = Annotated[EventHub, Depends(get_event_hub)]
