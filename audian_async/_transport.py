"""The transport interface, and its httpx implementation (the only module that imports httpx).

A transport sends one request and returns status, headers and body bytes. It never retries
on its own: whether a request may be repeated is the core's decision, taken from what the
transport reports about how far the request got (:class:`TransportError` ``.sent``).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NoReturn, Protocol, runtime_checkable

import httpx

from ._types import AsyncCloseable, Timeout

__all__ = [
    "AsyncTransport",
    "ConnectionDropped",
    "HttpxTransport",
    "RawResponse",
    "StreamingResponse",
    "SupportsReceiveLoop",
    "SupportsWebSocket",
    "TransportError",
    "WebSocketClosed",
    "WebSocketConnection",
    "WebSocketUpgradeRefused",
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


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by an in-process server (the simulator) where a real one would close the
    connection; httpx, and so the SDK, treat it as a connection dropped after sending."""


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


def _to_httpx_timeout(t: Timeout) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def _headers_dict(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.multi_items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _translate(exc: httpx.HTTPError) -> TransportError:
    timeout = isinstance(exc, httpx.TimeoutException)
    sent = not isinstance(exc, _NOT_SENT)
    name = type(exc).__name__
    detail = str(exc) or name
    return TransportError(f"{name}: {detail}", sent=sent, timeout=timeout)


class HttpxTransport(AsyncCloseable):
    """The default transport, on an ``httpx.AsyncClient`` (respx can mock it in tests).

    Pass ``client`` to use your own ``httpx.AsyncClient`` (the SDK will not close it), or
    ``transport`` to put an ``httpx.AsyncBaseTransport`` under a client the SDK owns.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE,
        verify: ssl.SSLContext | bool | str = True,
    ) -> None:
        self._owns_client = client is None
        if client is None:
            if verify is True:
                verify = default_ssl_context()
            client = httpx.AsyncClient(
                transport=transport,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_keepalive_connections,
                ),
                verify=verify,
                follow_redirects=False,
            )
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        """The underlying ``httpx.AsyncClient``."""
        return self._client

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> RawResponse:
        """Send one request through httpx and read the body."""
        try:
            response = await self._client.request(
                method,
                url,
                headers=list(headers),
                content=content,
                timeout=_to_httpx_timeout(timeout),
            )
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc
        return RawResponse(
            response.status_code, _headers_dict(response.headers), response.content, response
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> AsyncIterator[StreamingResponse]:
        """Send one request through httpx; the body is streamed."""
        request = self._client.build_request(
            method, url, headers=list(headers), content=content, timeout=_to_httpx_timeout(timeout)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc
        try:

            async def chunks() -> AsyncIterator[bytes]:
                try:
                    async for chunk in response.aiter_bytes():
                        yield chunk
                except httpx.HTTPError as exc:
                    raise _translate(exc) from exc

            yield StreamingResponse(
                response.status_code, _headers_dict(response.headers), chunks(), response
            )
        finally:
            await response.aclose()

    def websocket(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        *,
        timeout: Timeout,
        max_message_size: int,
    ) -> AbstractAsyncContextManager[WebSocketConnection]:
        """A websocket over this transport's httpx client (httpx-ws, the ``events`` extra,
        imported only now): asyncio and trio."""
        from ._websocket_httpx import connect

        return connect(
            self._client,
            url,
            headers,
            timeout=_to_httpx_timeout(timeout),
            max_message_size=max_message_size,
        )

    async def aclose(self) -> None:
        """Close the httpx client if the SDK created it."""
        if self._owns_client:
            await self._client.aclose()


def is_httpx_client(obj: object) -> bool:
    """True if ``obj`` is an ``httpx.AsyncClient`` (lets other modules avoid importing httpx)."""
    return isinstance(obj, httpx.AsyncClient)


def is_httpx_transport(obj: object) -> bool:
    """True if ``obj`` is an ``httpx.AsyncBaseTransport``."""
    return isinstance(obj, httpx.AsyncBaseTransport)
