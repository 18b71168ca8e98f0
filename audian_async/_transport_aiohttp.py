"""A transport on aiohttp, for high-concurrency (bulk) jobs under asyncio.

Install with the ``aiohttp`` extra (from a clone: ``pip install '.[aiohttp]'``; or
``pip install aiohttp``) and opt in::

    async with AsyncAudian(api_key=..., transport="aiohttp") as audian:  # or AiohttpTransport()
        ...

Why: httpx's connection pool (httpcore) spends CPU that grows with the number of requests in
flight; at 256 in flight the SDK on aiohttp does the same work for a tenth of the CPU per
request or less, with over ten times the throughput (``bench/RESULTS.md``). The httpx transport stays the default: respx mocks only httpx, and
aiohttp is asyncio-only. Under trio keep the default transport: this one refuses to run there.

Semantics, in line with :class:`~audian_async._transport.AsyncTransport`:

* **It never re-sends a request.** aiohttp (3.x ``ClientSession._request``) silently repeats a
  request once, for ``GET``/``PUT``/``DELETE``/... (its ``IDEMPOTENT_METHODS``), when the
  connection fails with ``ServerDisconnectedError`` or ``ClientOSError`` after it was sent:
  that would duplicate a Kazoo create (``PUT`` to a collection). The session's
  ``_retry_connection`` switch is turned off (what aiohttp's own ``test_utils.TestClient``
  does). An aiohttp without that switch gets a client middleware instead, which turns those
  two exceptions into one aiohttp's retry clause does not catch (the public middleware API;
  not installed otherwise, as aiohttp builds the middleware chain anew for every request).
  Whether to repeat is the core's decision.
* **Failures are classified by phase** into :class:`TransportError`: nothing was sent
  (``sent=False``: connection refused, DNS failure, TLS handshake or certificate failure,
  connect or pool timeout, invalid URL) or the request may have reached the server
  (``sent=True``: server disconnected, connection reset, truncated body, malformed response,
  read timeout). Anything not known to be pre-send counts as sent.
* **Timeouts by phase**: ``Timeout.connect`` → aiohttp ``sock_connect``; ``Timeout.pool +
  Timeout.connect`` → aiohttp ``connect`` (waiting for a pool slot and connecting);
  ``Timeout.read``: the longest silence while reading, enforced for :meth:`send` by one
  watchdog timer per transport (:mod:`._read_watchdog`; aiohttp's ``sock_read`` costs two or
  three event-loop timers per request) and by ``sock_read`` for :meth:`stream`. aiohttp has no write
  timeout: request bodies are small JSON documents, and the call's ``deadline`` still bounds
  everything. No ``total`` limit is set, so long downloads through :meth:`stream` work.
* TLS verification is on by default with the SDK's shared SSL context; proxies from the
  environment (``HTTP(S)_PROXY``, ``NO_PROXY``, ``.netrc``) are used only with
  ``trust_env=True``; an explicit ``proxy=`` URL is also accepted.
* The ``aiohttp.ClientSession`` is created lazily, on the first request, inside the running
  event loop, and stays bound to that loop (use from another loop raises a clear error).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from ._errors import AudianError
from ._read_watchdog import ReadWatchdog
from ._transport import (
    DEFAULT_MAX_CONNECTIONS,
    RawResponse,
    StreamingResponse,
    TransportError,
    WebSocketClosed,
    WebSocketConnection,
    WebSocketUpgradeRefused,
    default_ssl_context,
)
from ._types import AsyncCloseable, Timeout

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport"]

DEFAULT_KEEPALIVE_TIMEOUT = 15.0
#: How long closing a websocket waits for the server's close frame (a silent socket is being
#: replaced: do not wait long).
_WS_CLOSE_TIMEOUT = 2.0
_EXTRA_HINT = (
    "AiohttpTransport needs aiohttp: `pip install aiohttp` "
    "(or the extra, from a clone: `pip install '.[aiohttp]'`)"
)


class _SentFailure(Exception):
    """Carries a post-send connection failure past aiohttp's automatic-retry clause."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


# aiohttp classes, bound by _load() on first construction (aiohttp is imported lazily).
_aiohttp: Any = None
_URL: Any = None
_NOT_SENT: tuple[type[BaseException], ...] = ()
_RETRIED_BY_AIOHTTP: tuple[type[BaseException], ...] = ()
_CONNECTOR_ERROR: tuple[type[BaseException], ...] = ()
_FAILURES: tuple[type[BaseException], ...] = ()
_Connector: Any = None


def _load() -> Any:
    global _aiohttp, _URL, _NOT_SENT, _RETRIED_BY_AIOHTTP
    global _CONNECTOR_ERROR, _FAILURES, _Connector
    if _aiohttp is not None:
        return _aiohttp
    try:
        import aiohttp
        import yarl
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT) from exc
    if not hasattr(aiohttp, "ClientMiddlewareType"):  # pragma: no cover - aiohttp < 3.12
        raise ImportError(
            f"AiohttpTransport needs aiohttp >= 3.12 (found {aiohttp.__version__}): "
            "`pip install -U aiohttp`"
        )
    _URL = yarl.URL
    _CONNECTOR_ERROR = (aiohttp.ClientConnectorError,)
    # Raised before a byte of the request was written: connecting (refused, DNS, TLS
    # handshake, certificate, proxy connect), waiting for a pool slot or connecting too long,
    # the certificate pin, or a URL aiohttp rejects.
    _NOT_SENT = (
        aiohttp.ClientConnectorError,
        aiohttp.ConnectionTimeoutError,
        aiohttp.ServerFingerprintMismatch,
        aiohttp.InvalidURL,
        aiohttp.NonHttpUrlClientError,
    )
    # What ClientSession._request repeats for idempotent methods (see the module docstring).
    _RETRIED_BY_AIOHTTP = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)
    _FAILURES = (aiohttp.ClientError, TimeoutError, _SentFailure)
    _Connector = _arming_connector(aiohttp)
    _aiohttp = aiohttp
    return aiohttp


def _arming_connector(aiohttp: Any) -> Any:
    """``aiohttp.TCPConnector`` that starts a request's read watch once it has its connection
    (the public ``connect`` method, extended)."""

    base_connect = aiohttp.TCPConnector.connect

    class _ArmingConnector(aiohttp.TCPConnector):  # type: ignore[misc]
        watchdog: ReadWatchdog | None = None

        async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
            connection = await base_connect(self, req, traces, timeout)
            watchdog = self.watchdog
            if watchdog is not None:
                watchdog.arm_current()
            return connection

    return _ArmingConnector


async def _no_resend(req: Any, handler: Any) -> Any:
    """aiohttp client middleware: let no post-send failure reach aiohttp's retry clause."""
    try:
        return await handler(req)
    except _RETRIED_BY_AIOHTTP as exc:
        if isinstance(exc, _CONNECTOR_ERROR):
            raise  # connect phase: aiohttp re-raises these itself, and nothing was sent
        raise _SentFailure(exc) from exc


def translate(exc: BaseException) -> TransportError:
    """The :class:`TransportError` for an aiohttp (or timeout) exception, by phase."""
    if isinstance(exc, _SentFailure):
        exc = exc.cause
    timeout = isinstance(exc, TimeoutError)
    sent = not isinstance(exc, _NOT_SENT)
    name = type(exc).__name__
    detail = str(exc) or name
    return TransportError(f"{name}: {detail}", sent=sent, timeout=timeout)


def _headers_dict(headers: Any) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with ", " (as the httpx transport does)."""
    out = {key.lower(): value for key, value in headers.items()}
    if len(out) == len(headers):
        return out  # no repeated name
    out = {}
    for key, value in headers.items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


class _Headers(Mapping[str, str]):
    """aiohttp's case-insensitive response headers seen as lower-cased names, read lazily
    (most answers are looked at for two or three headers; a dict is built only if needed)."""

    __slots__ = ("_dict", "_raw")

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._dict: dict[str, str] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        if self._dict is not None:
            return self._dict.get(key, default)
        values = self._raw.getall(key, None)
        if values is None:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def _materialise(self) -> dict[str, str]:
        if self._dict is None:
            self._dict = _headers_dict(self._raw)
        return self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._materialise())

    def __len__(self) -> int:
        return len(self._materialise())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._raw

    def __eq__(self, other: object) -> bool:
        return self._materialise() == other if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._materialise())


def _read_timeout(timeout: Timeout) -> TransportError:
    return TransportError(
        f"read timeout: no data from the server for {timeout.read}s", sent=True, timeout=True
    )


def _phase_sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


class _AiohttpWebSocket:
    """:class:`~audian_async._transport.WebSocketConnection` over ``aiohttp``'s websocket."""

    __slots__ = ("_text", "_ws")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._text = _aiohttp.WSMsgType.TEXT

    async def send_text(self, text: str) -> None:
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError, _aiohttp.ClientError) as exc:
            raise WebSocketClosed(f"websocket send failed: {type(exc).__name__}") from exc

    async def receive_text(self) -> str:
        try:
            msg = await self._ws.receive()
        except (ConnectionError, _aiohttp.ClientError) as exc:
            raise WebSocketClosed(f"websocket dropped: {type(exc).__name__}") from exc
        if msg.type is self._text:  # the hot path: one check per message
            return msg.data  # type: ignore[no-any-return]
        return await self._not_text(msg)

    async def receive_into(self, on_text: Callable[[str], object]) -> NoReturn:
        """``on_text(message)`` for each message until the socket ends (``WebSocketClosed``):
        ``receive_text`` without a coroutine of its own per message."""
        receive = self._ws.receive
        text = self._text
        while True:
            try:
                msg = await receive()
            except (ConnectionError, _aiohttp.ClientError) as exc:
                raise WebSocketClosed(f"websocket dropped: {type(exc).__name__}") from exc
            if msg.type is text:
                on_text(msg.data)
            else:
                on_text(await self._not_text(msg))

    async def _not_text(self, msg: Any) -> str:
        """A message that is not text: binary (decoded), a close or an error (raised), or a
        control frame (skipped: the next message is read)."""
        kinds = _aiohttp.WSMsgType
        while True:
            if msg.type == kinds.TEXT:
                return str(msg.data)
            if msg.type == kinds.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type in (kinds.CLOSE, kinds.CLOSING, kinds.CLOSED):
                code = self._ws.close_code
                if msg.type == kinds.CLOSE and isinstance(msg.data, int):
                    code = msg.data
                if code is None or code == 1006:  # 1006: no close frame came (RFC 6455)
                    raise WebSocketClosed("websocket dropped: no close frame")
                raise WebSocketClosed(
                    f"websocket closed by the server ({code})",
                    code=code,
                    reason=str(msg.extra or ""),
                )
            if msg.type == kinds.ERROR:
                raise WebSocketClosed(f"websocket dropped: {type(msg.data).__name__}")
            try:
                msg = await self._ws.receive()
            except (ConnectionError, _aiohttp.ClientError) as exc:
                raise WebSocketClosed(f"websocket dropped: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._ws.close()


class AiohttpTransport(AsyncCloseable):
    """An :class:`~audian_async._transport.AsyncTransport` on ``aiohttp`` (asyncio only).

    Args:
        max_connections: the most connections open at once (the pool size); requests beyond
            it wait for a free connection, within ``Timeout.pool``.
        keepalive_timeout: close a connection idle this many seconds (keep it below the
            server's own idle timeout, so that a reused connection is rarely one the server
            is closing: such a failure on a create is reported as outcome unknown).
        verify: ``True`` (verify with the SDK's shared SSL context), ``False``, a path to a
            CA bundle, or an ``ssl.SSLContext``.
        trust_env: use ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` and ``.netrc`` from the
            environment (off by default).
        proxy: an explicit proxy URL for every request.

    Raises:
        ImportError: aiohttp is not installed (the message names the ``aiohttp`` extra).
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        verify: ssl.SSLContext | bool | str = True,
        trust_env: bool = False,
        proxy: str | None = None,
    ) -> None:
        _load()
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError("max_connections must be a whole number >= 1")
        self._max_connections = max_connections
        self._keepalive_timeout = keepalive_timeout
        self._verify = verify
        self._ssl: ssl.SSLContext | bool
        if verify is True:
            self._ssl = default_ssl_context()
        elif verify is False:
            self._ssl = False
        elif isinstance(verify, str):
            self._ssl = ssl.create_default_context(cafile=verify)
        else:
            self._ssl = verify
        self._trust_env = trust_env
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._timeout_key: Timeout | None = None
        self._timeout_value: Any = None
        self._send_timeout_key: Timeout | None = None
        self._send_timeout_value: Any = None
        self._watchdog: ReadWatchdog | None = None

    # -- session ---------------------------------------------------------------------------

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            raise AudianError(
                "AiohttpTransport runs only under asyncio (aiohttp is asyncio-only); under "
                "trio, keep the default httpx transport"
            ) from None

    def _new_session(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        aiohttp = _aiohttp
        connector = _Connector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_timeout,
            ssl=self._ssl,
        )
        # The guard against aiohttp's silent re-send (see the module docstring): the switch
        # aiohttp.test_utils.TestClient uses, else the middleware.
        switch = "_retry_connection" in getattr(aiohttp.ClientSession, "ATTRS", ())
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=self._trust_env,
            proxy=self._proxy,
            middlewares=() if switch else (_no_resend,),
            auto_decompress=True,
            raise_for_status=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        if switch:
            session._retry_connection = False
        self._watchdog = connector.watchdog = ReadWatchdog(loop)
        self._loop = loop
        return session  # type: ignore[no-any-return]

    def _session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            if self._closed:
                raise AudianError("this transport is closed")
            session = self._session = self._new_session(loop)
        elif loop is not self._loop:
            raise AudianError(
                "this client's aiohttp session belongs to another event loop: create the "
                "client inside the loop that uses it (or aclose() it and make a new one)"
            )
        return session

    def _client_timeout(self, timeout: Timeout) -> Any:
        if timeout is self._timeout_key or timeout == self._timeout_key:
            return self._timeout_value
        value = _aiohttp.ClientTimeout(
            total=None,
            connect=_phase_sum(timeout.pool, timeout.connect),
            sock_connect=timeout.connect,
            sock_read=timeout.read,
        )
        self._timeout_key, self._timeout_value = timeout, value
        return value

    def _send_timeout(self, timeout: Timeout) -> Any:
        """aiohttp's timeouts for :meth:`send`: the connection phases only (the read timeout
        is the watchdog's)."""
        if timeout is self._send_timeout_key or timeout == self._send_timeout_key:
            return self._send_timeout_value
        value = _aiohttp.ClientTimeout(
            total=None,
            connect=_phase_sum(timeout.pool, timeout.connect),
            sock_connect=timeout.connect,
        )
        self._send_timeout_key, self._send_timeout_value = timeout, value
        return value

    # -- AsyncTransport --------------------------------------------------------------------

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> RawResponse:
        """Send one request and read the whole response (never re-sent by aiohttp)."""
        session = self._session
        if session is None or self._loop is not asyncio._get_running_loop():
            session = self._session_for(self._running_loop())
        watch = None
        if timeout.read is not None:
            watch = self._watchdog.watch(timeout.read)  # type: ignore[union-attr]
        try:
            response = await session.request(
                method,
                _URL(url, encoded=True),
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=self._send_timeout(timeout),
            )
            if watch is not None:
                watch.reader = response.content
            try:
                body = await response.read()
            finally:
                response.release()
        except _FAILURES as exc:
            if watch is not None and watch.timed_out():
                raise _read_timeout(timeout) from exc
            raise translate(exc) from exc
        except asyncio.CancelledError:
            if watch is not None and watch.timed_out():
                raise _read_timeout(timeout) from None
            raise
        finally:
            if watch is not None:
                self._watchdog.discard(watch)  # type: ignore[union-attr]
        if watch is not None and watch.expired:
            # Overdue as the answer completed (aiohttp absorbed the cancellation): the answer
            # stands, and the task's cancellation count is restored.
            watch.timed_out()
        return RawResponse(response.status, _Headers(response.headers), body, response)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> AsyncIterator[StreamingResponse]:
        """Send one request; the body is read chunk by chunk inside the context."""
        session = self._session_for(self._running_loop())
        try:
            response = await session.request(
                method,
                _URL(url, encoded=True),
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=self._client_timeout(timeout),
            )
        except _FAILURES as exc:
            raise translate(exc) from exc
        try:

            async def chunks() -> AsyncIterator[bytes]:
                try:
                    async for chunk in response.content.iter_any():
                        yield chunk
                except _FAILURES as exc:
                    raise translate(exc) from exc

            yield StreamingResponse(
                response.status, _headers_dict(response.headers), chunks(), response
            )
        finally:
            # Returns the connection to the pool if the body was read to the end, else
            # closes it (an unread body must not be mistaken for the next response).
            response.release()

    @asynccontextmanager
    async def websocket(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        *,
        timeout: Timeout,
        max_message_size: int,
    ) -> AsyncIterator[WebSocketConnection]:
        """A websocket on this transport's session (``ws_connect``; asyncio only).

        aiohttp's own heartbeat is off (the event stream pings at the application level);
        ``timeout.connect`` plus ``timeout.read`` bound the opening handshake.
        """
        session = self._session_for(self._running_loop())
        aiohttp = _aiohttp
        limit = _phase_sum(_phase_sum(timeout.pool, timeout.connect), timeout.read)
        try:
            async with asyncio.timeout(limit):
                ws = await session.ws_connect(
                    _URL(url, encoded=True),
                    headers=headers,
                    max_msg_size=max_message_size,
                    autoping=True,
                    heartbeat=None,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=_WS_CLOSE_TIMEOUT),
                )
        except aiohttp.WSServerHandshakeError as exc:
            refused_headers = _headers_dict(exc.headers) if exc.headers else {}
            raise WebSocketUpgradeRefused(exc.status, refused_headers) from None
        except TimeoutError as exc:
            raise TransportError(
                f"websocket handshake timed out after {limit}s", sent=False, timeout=True
            ) from exc
        except _FAILURES as exc:
            raise translate(exc) from exc
        try:
            yield _AiohttpWebSocket(ws)
        finally:
            import anyio

            # A close frame and the wait for its answer (at most ws_close) are not cut short
            # by the cancellation that is ending the stream: the connection is released. The
            # whole close is bounded: past the limit aiohttp closes its transport, which on
            # asyncio still flushes what it holds (to a peer that stopped reading, until it
            # reads again or the kernel gives up); leaving never waits for that.
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + 2 * _WS_CLOSE_TIMEOUT
                await ws.close()

    async def aclose(self) -> None:
        """Close the session and its connections (a no-op if none was opened)."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.close()
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def __repr__(self) -> str:
        return (
            f"AiohttpTransport(max_connections={self._max_connections}, "
            f"keepalive_timeout={self._keepalive_timeout}, verify={self._verify is not False}, "
            f"trust_env={self._trust_env}, proxy={'set' if self._proxy else None})"
        )
