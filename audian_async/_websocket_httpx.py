"""Websockets on the httpx transport, through httpx-ws (the ``events`` extra).

Imported only when an event stream opens, so the client import does not pay for httpx-ws and
wsproto. httpx-ws runs on anyio (asyncio and trio) and upgrades a connection of the
transport's own ``httpx.AsyncClient`` (its TLS settings, proxies and pool). Its keepalive pings
are off: the event stream sends the server's application-level ``ping`` itself, on the
client's clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from ._httpx_common import headers_dict, translate
from ._transport import WebSocketClosed, WebSocketConnection, WebSocketUpgradeRefused

if TYPE_CHECKING:
    import httpx_ws

__all__ = ["CLOSE_TIMEOUT", "connect", "unwrap_group"]

_EXTRA_HINT = (
    "realtime events on the default transport need httpx-ws: `pip install httpx-ws` "
    "(or the extra, from a clone: `pip install '.[events]'`), or use transport=\"aiohttp\""
)


def _load() -> Any:
    try:
        import httpx_ws
        import wsproto
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT) from exc
    return httpx_ws, wsproto


def unwrap_group(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a task group wrapped (cancellations aside), else the group itself."""
    import anyio

    cancelled = anyio.get_cancelled_exc_class()
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        elif not isinstance(exc, cancelled):
            leaves.append(exc)

    walk(group)
    return leaves[0] if len(leaves) == 1 else group


READ_CHUNK = 65536
_SESSION_CLASS: Any = None


def _session_class(httpx_ws: Any) -> Any:
    """httpx-ws's session, reading the network in chunks of at most ``READ_CHUNK`` bytes.

    httpx-ws reads with its message-size limit as the chunk size; under trio a read asks the
    socket for that many bytes, and CPython allocates the whole buffer on each read (16 MiB:
    about 17 us more per read than 64 KiB, measured on a socketpair). Messages are still
    reassembled up to the limit; only the read size changes. (``_read_stream`` is httpx-ws's
    own hook, pinned below 1.0 by the extra; without it the override is simply unused.)
    """
    global _SESSION_CLASS
    if _SESSION_CLASS is None:

        class _ChunkedSession(httpx_ws.AsyncWebSocketSession):  # type: ignore[misc]
            async def _read_stream(self, max_bytes: int) -> bytes:
                data: bytes = await super()._read_stream(min(max_bytes, READ_CHUNK))
                return data

        _SESSION_CLASS = _ChunkedSession
    return _SESSION_CLASS


def _is_library_failure(exc: BaseException, httpx_ws: Any, wsproto: Any) -> bool:
    import httpcore

    return isinstance(
        exc,
        httpx_ws.HTTPXWSException
        | wsproto.utilities.ProtocolError
        | httpcore.NetworkError
        | httpcore.ProtocolError
        | OSError,
    )


#: Messages httpx-ws may read ahead of the stream's reader (see ``_received_events``).
READ_AHEAD = 32


def _received_events(session: Any, httpx_ws: Any) -> Any | None:
    """httpx-ws's own stream of received events, given room for ``READ_AHEAD`` messages, or
    ``None`` where this httpx-ws is not the one this was measured on (0.10).

    httpx-ws 0.10 hands each message from its reader task to ``receive()`` through an
    unbuffered stream (its ``queue_size`` is unused), so every message costs two task
    switches, and ``receive()`` opens a cancel scope per call: reading the stream directly,
    with room to read ahead, halves the cost of a message (41 us to 20 us in the events
    benchmark). Memory: at most ``READ_AHEAD`` messages of ``max_message_size`` more.
    """
    version = str(getattr(httpx_ws, "__version__", ""))
    events = getattr(session, "_receive_event", None)
    state = getattr(events, "_state", None)
    if not version.startswith("0.10.") or state is None:
        return None
    if not isinstance(getattr(state, "max_buffer_size", None), int | float):
        return None
    state.max_buffer_size = max(state.max_buffer_size, READ_AHEAD)
    return events


class _HttpxWebSocket:
    """``WebSocketConnection`` over an httpx-ws session."""

    __slots__ = ("_closed", "_events", "_session", "_wsproto")

    def __init__(self, session: httpx_ws.AsyncWebSocketSession, wsproto: Any) -> None:
        import httpx_ws

        self._session = session
        self._wsproto = wsproto
        self._closed = False
        self._events = _received_events(session, httpx_ws)

    async def send_text(self, text: str) -> None:
        import httpx_ws

        try:
            await self._session.send_text(text)
        except (httpx_ws.HTTPXWSException, self._wsproto.utilities.LocalProtocolError) as exc:
            raise WebSocketClosed(f"websocket send failed: {type(exc).__name__}") from exc

    async def receive_text(self) -> str:
        import httpx_ws

        events = self._wsproto.events
        while True:
            try:
                event = await self._session.receive()
            except httpx_ws.HTTPXWSException as exc:
                raise _closed(exc, httpx_ws) from exc
            if isinstance(event, events.TextMessage):
                return str(event.data)
            if isinstance(event, events.BytesMessage):
                return bytes(event.data).decode("utf-8", "replace")

    async def receive_into(self, on_text: Callable[[str], object]) -> NoReturn:
        """``on_text(message)`` for each message until the socket ends (``WebSocketClosed``)."""
        import anyio
        import httpx_ws

        events = self._wsproto.events
        text_message: Any = events.TextMessage
        # httpx-ws's stream is what session.receive() reads, without its cancel scope.
        receive = self._session.receive if self._events is None else self._events.receive
        failure = httpx_ws.HTTPXWSException
        closing = events.CloseConnection
        while True:
            try:
                event: Any = await receive()
            except failure as exc:
                raise _closed(exc, httpx_ws) from exc
            except (anyio.EndOfStream, anyio.ClosedResourceError) as exc:
                raise WebSocketClosed("websocket dropped: the session ended") from exc
            if type(event) is text_message:
                on_text(event.data)
            elif isinstance(event, failure):  # as session.receive() raises them
                raise _closed(event, httpx_ws)
            elif isinstance(event, closing):
                raise _closed(httpx_ws.WebSocketDisconnect(event.code, event.reason), httpx_ws)
            elif isinstance(event, events.BytesMessage):
                on_text(bytes(event.data).decode("utf-8", "replace"))

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._session.close()


#: How long leaving a socket may spend sending its close frame (aiohttp's ``ws_close`` too).
CLOSE_TIMEOUT = 2.0


async def _close_within(session: Any, seconds: float) -> None:
    """Close ``session`` as httpx-ws does on leaving, but for at most ``seconds``, even while
    the caller is being cancelled: httpx-ws's own close is shielded and unbounded, and a peer
    that stopped reading (the send buffer full) would hold it for good. Past the limit the
    connection is dropped without a close frame; httpx-ws's close then finds it closing."""
    import anyio

    # A close that fails (already closed, a network error) lets the connection go anyway.
    with anyio.CancelScope(shield=True) as scope, contextlib.suppress(Exception):
        scope.deadline = anyio.current_time() + seconds
        await session.close()
    if scope.cancelled_caught:
        # Not a forceful (pre-cancelled) close: on asyncio that leaves the transport flushing
        # its unsent bytes for good; closing in a scope of its own lets it abort them.
        with anyio.CancelScope(shield=True) as last, contextlib.suppress(Exception):
            last.deadline = anyio.current_time() + seconds
            await session.stream.aclose()


def _closed(exc: BaseException, httpx_ws: Any) -> WebSocketClosed:
    """The typed error of httpx-ws's exception on receive."""
    if isinstance(exc, httpx_ws.WebSocketDisconnect):
        if exc.code == 1006:  # no close frame came (RFC 6455)
            return WebSocketClosed("websocket dropped: no close frame")
        return WebSocketClosed(
            f"websocket closed by the server ({exc.code})", code=exc.code, reason=exc.reason
        )
    return WebSocketClosed(f"websocket dropped: {type(exc).__name__}")


@asynccontextmanager
async def connect(
    client: httpx.AsyncClient,
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    timeout: httpx.Timeout,
    max_message_size: int,
) -> AsyncIterator[WebSocketConnection]:
    """Open a websocket through ``client``; failures become the transport's typed errors."""
    httpx_ws, wsproto = _load()
    ws_client = httpx_ws.AsyncWebSocketClient(
        client,
        max_message_size_bytes=max_message_size,
        keepalive_ping_interval_seconds=None,
        keepalive_ping_timeout_seconds=None,
        session_class=_session_class(httpx_ws),
    )
    opened = False
    unwrapped: BaseException | None = None
    try:
        async with ws_client.connect(url, headers=dict(headers), timeout=timeout) as session:
            opened = True
            try:
                yield _HttpxWebSocket(session, wsproto)
            finally:
                await _close_within(session, CLOSE_TIMEOUT)
    except httpx_ws.WebSocketUpgradeError as exc:
        raise WebSocketUpgradeRefused(
            exc.response.status_code, headers_dict(exc.response.headers)
        ) from None
    except httpx.HTTPError as exc:
        if opened:
            raise
        raise translate(exc) from exc
    except BaseExceptionGroup as group:
        unwrapped = unwrap_group(group)
        if unwrapped is group:
            raise
        if isinstance(unwrapped, httpx.HTTPError) and not opened:
            raise translate(unwrapped) from unwrapped
        if _is_library_failure(unwrapped, httpx_ws, wsproto):
            # httpx-ws's reader task failed (a protocol violation, a network error it does
            # not translate): the socket is gone, a drop like any other.
            name = type(unwrapped).__name__
            raise WebSocketClosed(f"websocket dropped: {name}") from unwrapped
    if unwrapped is not None:
        raise unwrapped  # outside the handler: the group is no part of its story
