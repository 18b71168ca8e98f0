"""The websocket adapters of both transports against a real loopback websocket server.

A tiny ASGI app under uvicorn (wsproto) echoes text, sends a 300 KiB message on request,
closes with a code, refuses upgrades with an HTTP status, and, on ``/v2/websocket``, answers
like blackhole enough for an end-to-end stream (a reply per request, one event per subscribe).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn

from audian_async import AsyncAudian, CallEvent, Gap
from audian_async._transport import (
    SupportsReceiveLoop,
    SupportsWebSocket,
    TransportError,
    WebSocketClosed,
    WebSocketConnection,
    WebSocketUpgradeRefused,
)
from audian_async._transport_aiohttp import AiohttpTransport
from audian_async._transport_httpx import HttpxTransport
from audian_async._types import Timeout
from audian_async.events import Backoff
from tests.helpers import ACCOUNT

BIG = 300 * 1024


class WsApp:
    """The ASGI app; records what each upgrade asked for."""

    def __init__(self) -> None:
        self.subprotocols: list[list[str]] = []
        self.flaky: dict[str, bool] = {}  # path -> close its next socket after one event
        self.headers: list[dict[str, str]] = []
        self.disconnects: list[str] = []  # the path of each socket the client closed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "websocket":
            return
        self.subprotocols.append(list(scope.get("subprotocols") or []))
        self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        path = scope["path"]
        await receive()  # websocket.connect
        if path.startswith("/refuse/"):
            status = int(path.rsplit("/", 1)[1])
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": status,
                    "headers": [(b"retry-after", b"7"), (b"content-type", b"text/plain")],
                }
            )
            await send({"type": "websocket.http.response.body", "body": b"no"})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.disconnects.append(path)
                return
            text = message.get("text") or ""
            if path.endswith("/v2/websocket"):
                await self._blackhole(text, send)
                if path.startswith("/flaky/") and self.flaky.pop(path, False):
                    # the server goes away after one event (a restart): 1001, going away
                    await send({"type": "websocket.close", "code": 1001, "reason": "restart"})
                    return
            elif text == "big":
                await send({"type": "websocket.send", "text": "b" * BIG})
            elif text == "close":
                await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
                return
            else:
                await send({"type": "websocket.send", "text": f"echo:{text}"})

    async def _blackhole(self, text: str, send: Any) -> None:
        request = json.loads(text)
        reply = {"action": "reply", "request_id": request["request_id"], "status": "success"}
        await send({"type": "websocket.send", "text": json.dumps({**reply, "data": {}})})
        if request["action"] == "subscribe":
            binding = request["data"]["binding"]
            event = {
                "action": "event",
                "subscribed_key": binding,
                "subscription_key": binding,
                "name": "CHANNEL_CREATE",
                "routing_key": "call.CHANNEL_CREATE.c1",
                "data": {"call_id": "c1", "blob": "x" * BIG, "account_id": ACCOUNT},
            }
            await send({"type": "websocket.send", "text": json.dumps(event)})


@contextmanager
def ws_server(app: WsApp) -> Iterator[str]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws="wsproto",
        lifespan="on",
        log_level="warning",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.005)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def app() -> WsApp:
    return WsApp()


@pytest.fixture(scope="module")
def url(app: WsApp) -> Iterator[str]:
    with ws_server(app) as base:
        yield base


TIMEOUT = Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0)


@asynccontextmanager
async def _open(transport: SupportsWebSocket, url: str) -> AsyncIterator[WebSocketConnection]:
    async with transport.websocket(
        url, [("User-Agent", "t")], timeout=TIMEOUT, max_message_size=1 << 20
    ) as ws:
        yield ws


async def _exercise(transport: SupportsWebSocket, url: str, app: WsApp) -> None:
    before = len(app.subprotocols)
    with anyio.fail_after(20):
        async with _open(transport, f"{url}/echo") as ws:
            await ws.send_text("hello")
            assert await ws.receive_text() == "echo:hello"
            await ws.send_text("big")  # 300 KiB: over httpx-ws's and aiohttp's defaults
            assert len(await ws.receive_text()) == BIG
            await ws.send_text("close")
            with pytest.raises(WebSocketClosed) as closed:
                await ws.receive_text()
            assert closed.value.code == 4000
        async with _open(transport, f"{url}/echo") as ws:  # the same through receive_into
            assert isinstance(ws, SupportsReceiveLoop)
            texts: list[str] = []
            for text in ("hello", "big", "close"):
                await ws.send_text(text)
            with pytest.raises(WebSocketClosed) as closed:
                await ws.receive_into(texts.append)
            assert closed.value.code == 4000
            assert [len(t) if len(t) == BIG else t for t in texts] == ["echo:hello", BIG]
        assert app.subprotocols[before] == []  # no Sec-WebSocket-Protocol, ever
        assert "sec-websocket-protocol" not in app.headers[before]
        with pytest.raises(WebSocketUpgradeRefused) as refused:
            async with _open(transport, f"{url}/refuse/429"):
                pass
        assert refused.value.status == 429 and refused.value.headers["retry-after"] == "7"
        port = _closed_port()
        with pytest.raises(TransportError) as failed:
            async with _open(transport, f"ws://127.0.0.1:{port}/x"):
                pass
        assert failed.value.sent is False
        assert not isinstance(failed.value, WebSocketUpgradeRefused | WebSocketClosed)


@contextmanager
def raw_ws_server(
    after_upgrade: Callable[[socket.socket], None],
    tls: ssl.SSLContext | None = None,
    on_exit: Callable[[], None] = lambda: None,
    join_timeout: float = 10,
) -> Iterator[str]:
    """A raw TCP (or TLS) server for one connection: it completes the websocket handshake,
    then hands the connection to ``after_upgrade`` (in its own thread). Leaving calls
    ``on_exit`` first (to let ``after_upgrade`` finish), then stops the server."""
    import base64
    import hashlib

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(10)
    port = int(listener.getsockname()[1])

    def run() -> None:
        try:
            raw, _ = listener.accept()
            conn = tls.wrap_socket(raw, server_side=True) if tls is not None else raw
        except OSError:  # ssl.SSLError included: the client refused our certificate
            return
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            magic = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            accept = base64.b64encode(hashlib.sha1(key + magic).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            after_upgrade(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/"
    finally:
        on_exit()
        listener.close()
        thread.join(timeout=join_timeout)


@contextmanager
def dropping_server(
    tls: ssl.SSLContext | None = None, greeting: str | None = None
) -> Iterator[str]:
    """A server that completes the websocket handshake, sends ``greeting`` as a text frame
    if given, reads the client's first message, then drops the connection without a close
    frame (what a dead proxy or a killed server does)."""

    def drop(conn: socket.socket) -> None:
        if greeting is not None:
            payload = greeting.encode()
            conn.sendall(bytes([0x81, len(payload)]) + payload)  # one short text frame
        conn.recv(4096)  # the client's first message, then the connection is dropped

    with raw_ws_server(drop, tls) as url:
        yield url


@pytest.mark.parametrize(
    ("backend", "kind"), [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")]
)
def test_a_dropped_connection_is_a_websocket_closed_without_code(backend: str, kind: str) -> None:
    async def main() -> None:
        transport: Any = HttpxTransport() if kind == "httpx" else AiohttpTransport()
        try:
            with dropping_server() as drop_url, anyio.fail_after(20):
                async with _open(transport, drop_url) as ws:
                    await ws.send_text("hello")
                    with pytest.raises(WebSocketClosed) as dropped:
                        await ws.receive_text()
                    assert dropped.value.code is None  # dropped: no close frame
            with dropping_server() as drop_url, anyio.fail_after(20):  # serves one socket
                async with _open(transport, drop_url) as ws:
                    assert isinstance(ws, SupportsReceiveLoop)
                    await ws.send_text("hello")
                    with pytest.raises(WebSocketClosed) as dropped:
                        await ws.receive_into(lambda text: None)
                    assert dropped.value.code is None
        finally:
            await transport.aclose()

    anyio.run(main, backend=backend)


@contextmanager
def deaf_server() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A server that completes the websocket handshake, then reads nothing until ``release``
    is set (a peer whose process hangs: the client's send buffers fill); then it reads to
    the end and sets ``hung_up`` when the client has let the connection go."""
    hung_up = threading.Event()
    release = threading.Event()

    def deaf(conn: socket.socket) -> None:
        release.wait(60)
        conn.settimeout(30)
        try:
            while conn.recv(1 << 20):
                pass
            hung_up.set()  # end of file: the client closed its socket
        except ConnectionResetError:
            hung_up.set()  # or aborted it
        except OSError:
            pass

    with raw_ws_server(deaf, on_exit=release.set, join_timeout=40) as url:
        yield url, release, hung_up


@pytest.mark.parametrize(
    ("backend", "kind"), [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")]
)
def test_leaving_a_socket_whose_peer_stopped_reading_never_hangs(backend: str, kind: str) -> None:
    """Sends fill the socket until they block (the peer reads nothing); leaving the socket
    still ends, its close frame bounded, and the connection is let go: at once on httpx-ws
    (aborted), on aiohttp once asyncio has flushed what it holds (when the peer reads again).
    The guards detect hangs; no duration is asserted."""
    chunk = "x" * (256 * 1024)

    async def main() -> None:
        transport: Any = HttpxTransport() if kind == "httpx" else AiohttpTransport()
        sent = 0
        try:
            with deaf_server() as (deaf_url, release, hung_up):
                with anyio.fail_after(60):
                    async with _open(transport, deaf_url) as ws:

                        async def flood() -> None:
                            nonlocal sent
                            while True:
                                await ws.send_text(chunk)
                                sent += len(chunk)

                        async with anyio.create_task_group() as group:
                            group.start_soon(flood)
                            last = -1
                            while sent != last:  # until a send no longer completes
                                last = sent
                                await anyio.sleep(0.5)
                            group.cancel_scope.cancel()
                assert sent < 512 * 1024 * 1024  # the sends did block: the peer was deaf
                release.set()
                with anyio.fail_after(60):
                    await anyio.to_thread.run_sync(hung_up.wait, 50)
                assert hung_up.is_set()  # the client let the connection go
        finally:
            await transport.aclose()

    anyio.run(main, backend=backend)


DATA = Path(__file__).parent / "data"


def _server_tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(DATA / "loopback-test.pem", DATA / "loopback-test.key")
    return context


@pytest.mark.parametrize(
    ("backend", "kind"), [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")]
)
def test_tls_is_verified_on_websockets(backend: str, kind: str) -> None:
    """wss:// goes through the transport's TLS settings: an untrusted certificate is refused
    by default (a connection failure, nothing sent), and trusting its CA lets it through."""

    def make(verify: Any) -> Any:
        if kind == "httpx":
            return HttpxTransport(verify=verify)
        return AiohttpTransport(verify=verify)

    async def main() -> None:
        default = make(True)
        trusting = make(ssl.create_default_context(cafile=str(DATA / "loopback-test.pem")))
        try:
            with dropping_server(_server_tls()) as untrusted, anyio.fail_after(20):
                with pytest.raises(TransportError) as refused:
                    async with _open(default, untrusted):
                        pass
                assert refused.value.sent is False
                assert "certificate" in _chain(refused.value).lower()
            with dropping_server(_server_tls(), greeting="hello-tls") as trusted:
                with anyio.fail_after(20):
                    async with _open(trusting, trusted) as ws:
                        assert await ws.receive_text() == "hello-tls"
        finally:
            await default.aclose()
            await trusting.aclose()

    anyio.run(main, backend=backend)


def _chain(exc: BaseException | None) -> str:
    """The messages of ``exc`` and of its causes (trio's TLS errors are nested deeper)."""
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(parts)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_httpx_ws_adapter_over_loopback(backend: str, url: str, app: WsApp) -> None:
    async def main() -> None:
        transport = HttpxTransport()
        try:
            await _exercise(transport, url, app)
        finally:
            await transport.aclose()

    anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("version", ["installed", "0.11.0"])
def test_httpx_ws_read_ahead_on_the_version_measured_and_the_public_path_elsewhere(
    backend: str, version: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On httpx-ws 0.10 the adapter reads httpx-ws's event stream directly, with room for
    READ_AHEAD messages; on any other version it keeps to ``session.receive()``. Both read
    every message and the close the same way."""
    import httpx_ws

    from audian_async import _websocket_httpx

    if version != "installed":
        monkeypatch.setattr(httpx_ws, "__version__", version)
    else:
        assert httpx_ws.__version__.startswith("0.10."), "re-measure the read-ahead first"

    async def main() -> None:
        transport = HttpxTransport()
        try:
            with anyio.fail_after(20):
                async with _open(transport, f"{url}/echo") as ws:
                    events = getattr(ws, "_events", None)
                    if version == "installed":
                        assert events is not None
                        assert events._state.max_buffer_size == _websocket_httpx.READ_AHEAD
                    else:
                        assert events is None
                    assert isinstance(ws, SupportsReceiveLoop)
                    texts: list[str] = []
                    for text in ("hello", "big", "close"):
                        await ws.send_text(text)
                    with pytest.raises(WebSocketClosed) as closed:
                        await ws.receive_into(texts.append)
                    assert closed.value.code == 4000 and closed.value.reason == "bye"
                    assert [len(t) if len(t) == BIG else t for t in texts] == ["echo:hello", BIG]
        finally:
            await transport.aclose()

    anyio.run(main, backend=backend)


async def test_aiohttp_adapter_over_loopback(url: str, app: WsApp) -> None:
    transport = AiohttpTransport()
    try:
        await _exercise(transport, url, app)
    finally:
        await transport.aclose()


@pytest.mark.parametrize(
    ("backend", "transport"), [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")]
)
def test_a_stream_end_to_end_over_loopback(
    backend: str, transport: str, url: str, app: WsApp
) -> None:
    """The stream on each real transport: the socket URL derived from base_url, a subscribe
    per binding, a 300 KiB event delivered whole, and the socket closed on leaving."""

    async def main() -> None:
        base = url.replace("ws://", "http://") + "/v2"
        closed_before = app.disconnects.count("/v2/websocket")
        async with AsyncAudian(
            auth_token="t0k3n", account_id=ACCOUNT, base_url=base, transport=transport
        ) as audian:
            with anyio.fail_after(20):
                async with audian.events.subscribe("call.CHANNEL_CREATE.*", "call.*.*") as events:
                    got = [await events.__anext__(), await events.__anext__()]
                    assert app.disconnects.count("/v2/websocket") == closed_before
                while app.disconnects.count("/v2/websocket") == closed_before:
                    await anyio.sleep(0.01)  # the server thread sees the close (guarded)
            assert app.disconnects.count("/v2/websocket") == closed_before + 1
            assert all(isinstance(e, CallEvent) and e.call_id == "c1" for e in got)
            assert {e.binding for e in got} == {"call.CHANNEL_CREATE.*", "call.*.*"}
            assert all(len(e.data["blob"]) == BIG for e in got)

    anyio.run(main, backend=backend)


@pytest.mark.parametrize(
    ("backend", "transport"), [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp")]
)
def test_a_stream_reconnects_over_loopback_after_the_server_goes_away(
    backend: str, transport: str, url: str, app: WsApp
) -> None:
    """A real socket closed by the server (1001) after one event: the stream opens a new
    one and subscribes again, yields the Gap, then the new socket's event."""
    path = f"/flaky/{backend}-{transport}/v2/websocket"
    app.flaky[path] = True

    async def main() -> None:
        async with AsyncAudian(
            auth_token="t0k3n",
            account_id=ACCOUNT,
            base_url="http://127.0.0.1:1/v2",
            transport=transport,
            events_url=url + path,
        ) as audian:
            stream = audian.events.subscribe("call.*.*", backoff=Backoff(initial=0.01))
            with anyio.fail_after(20):
                async with stream as events:
                    first = await events.__anext__()
                    gap = await events.__anext__()
                    second = await events.__anext__()
            assert isinstance(first, CallEvent) and isinstance(second, CallEvent)
            assert isinstance(gap, Gap) and gap.reconnected
            assert "1001" in (gap.reason or "")
            assert events.stats.reconnects == 1

    anyio.run(main, backend=backend)


def test_httpx_ws_reads_the_network_in_small_chunks_whatever_the_message_limit() -> None:
    """The message limit (16 MiB by default) is not the read size: each read asks for at
    most 64 KiB (a trio socket read allocates all it asks for)."""
    import httpx_ws

    from audian_async._websocket_httpx import READ_CHUNK, _session_class

    asked: list[int] = []

    class Stream:
        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            asked.append(max_bytes)
            return b"x"

    async def main() -> None:
        session = _session_class(httpx_ws)(Stream(), max_message_size_bytes=16 << 20)
        assert await session._read_stream(16 << 20) == b"x"

    anyio.run(main)
    assert asked == [READ_CHUNK] == [65536]
