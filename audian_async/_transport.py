"""The transport interface (the httpx implementation: :mod:`._transport_httpx`; aiohttp's:
:mod:`._transport_aiohttp`).

A transport sends one request and returns status, headers and body bytes. It never retries
on its own: whether a request may be repeated is the core's decision, taken from what the
transport reports about how far the request got (:class:`TransportError` ``.sent``).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, NoReturn, Protocol, runtime_checkable

from ._types import Timeout

__all__ = [
    "AsyncTransport",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_KEEPALIVE",
    "RawResponse",
    "StreamingResponse",
    "SupportsReceiveLoop",
    "SupportsWebSocket",
    "TransportError",
    "WebSocketClosed",
    "WebSocketConnection",
    "WebSocketUpgradeRefused",
    "default_ssl_context",
]


class RawResponse:
    """A complete HTTP response: status, lower-cased headers, body, and the library's object."""

    __slots__ = ("content", "headers", "raw", "status")

    def __init__(
        self, status: int, headers: Mapping[str, str], content: bytes, raw: Any = None
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.raw = raw

    def __repr__(self) -> str:
        return f"RawResponse(status={self.status}, content={len(self.content)} bytes)"


class StreamingResponse:
    """A response whose body is read incrementally with :meth:`iter_bytes`."""

    __slots__ = ("chunks", "headers", "raw", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        chunks: AsyncIterator[bytes],
        raw: Any = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.raw = raw

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk, as it arrives."""
        return self.chunks

    async def read(self) -> bytes:
        """Read the whole remaining body (for error responses, which are small)."""
        return b"".join([chunk async for chunk in self.chunks])

    def __repr__(self) -> str:
        return f"StreamingResponse(status={self.status})"


class TransportError(Exception):
    """A request failed without an HTTP response.

    ``sent`` is False when the request certainly never reached the server (connection refused,
    connect or pool timeout), True when it may have (it was written, then the connection
    dropped or the read timed out). ``timeout`` tells a timeout from other failures.
    """

    def __init__(self, message: str, *, sent: bool, timeout: bool) -> None:
        super().__init__(message)
        self.sent = sent
        self.timeout = timeout


@runtime_checkable
class AsyncTransport(Protocol):
    """What the core needs from an HTTP library."""

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> RawResponse:
        """Send one request and read the whole response. Raise :class:`TransportError`."""
        ...

    def stream(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> AbstractAsyncContextManager[StreamingResponse]:
        """Send one request; the body is read incrementally inside the context."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class WebSocketClosed(TransportError):
    """The websocket ended: closed by a close frame (``code`` set) or dropped without one
    (``code`` is ``None``: connection reset, end of stream, keepalive timeout)."""

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message, sent=True, timeout=False)
        self.code = code
        self.reason = reason


class WebSocketUpgradeRefused(TransportError):
    """The server answered the upgrade request with an HTTP response instead of ``101``.

    ``status`` and ``headers`` (lower-cased names) are the server's; Kazoo refuses with 400 (a
    subprotocol was asked for) or 429 (too many sockets from one address), proxies with 5xx.
    """

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        super().__init__(f"websocket upgrade refused: HTTP {status}", sent=True, timeout=False)
        self.status = status
        self.headers = headers


class WebSocketConnection(Protocol):
    """An open websocket, as the event stream uses it: text messages in both directions."""

    async def send_text(self, text: str) -> None:
        """Send one text message. Raise :class:`WebSocketClosed` if the socket is gone."""
        ...

    async def receive_text(self) -> str:
        """The next message (binary messages decoded as UTF-8). Raise
        :class:`WebSocketClosed` when the socket closes or drops."""
        ...

    async def aclose(self) -> None:
        """Close the socket (a close frame when possible); idempotent."""
        ...


@runtime_checkable
class SupportsReceiveLoop(Protocol):
    """A :class:`WebSocketConnection` that can also read in a loop of its own (optional: the
    event stream uses it when present, saving a coroutine per message)."""

    async def receive_into(self, on_text: Callable[[str], object]) -> NoReturn:
        """Call ``on_text`` with each message, as ``receive_text`` would return it, until the
        socket ends: raise :class:`WebSocketClosed` then (or what ``on_text`` raised)."""
        ...


@runtime_checkable
class SupportsWebSocket(Protocol):
    """A transport that can open websockets (both built-in transports; optional for others).

    ``websocket`` never sends a ``Sec-WebSocket-Protocol`` header, verifies TLS like the
    transport's requests, accepts messages up to ``max_message_size`` bytes, and raises
    :class:`TransportError` when the connection fails (``sent=False``: never reached the
    server), :class:`WebSocketUpgradeRefused` for an HTTP answer other than ``101``.
    """

    def websocket(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        *,
        timeout: Timeout,
        max_message_size: int,
    ) -> AbstractAsyncContextManager[WebSocketConnection]:
        """Open a websocket to ``url`` (``ws://`` or ``wss://``); closed when the context ends."""
        ...


_default_ssl_context: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process (building one costs ~17 ms; share it)."""
    global _default_ssl_context
    if _default_ssl_context is None:
        _default_ssl_context = ssl.create_default_context()
        try:
            import certifi

            _default_ssl_context.load_verify_locations(certifi.where())
        except ImportError:  # pragma: no cover - certifi ships with httpx
            pass
    return _default_ssl_context


DEFAULT_MAX_CONNECTIONS = 256
DEFAULT_MAX_KEEPALIVE = 128
