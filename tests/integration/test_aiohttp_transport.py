"""The aiohttp transport over real loopback: success, timeouts by phase, refused connections,
drops after send (never re-sent), streaming, trio refusal, and no secret in reprs or errors.

respx cannot see aiohttp, so everything here goes over 127.0.0.1: the simulator (``serve()``)
for the SDK paths, and a tiny raw asyncio server for failures the simulator cannot make
(silence, a truncated body, a refused port that starts listening later).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import pytest

from audian_async import (
    AiohttpTransport,
    APIConnectionError,
    APIOutcomeUnknownError,
    APIOutcomeUnknownTimeoutError,
    APITimeoutError,
    AsyncAudian,
    AudianError,
    Timeout,
)
from audian_async import _transport_aiohttp as mod
from audian_async._clock import SystemClock
from audian_async._operation import Operation
from audian_async._transport import TransportError
from audian_async.testing import (
    RunningServer,
    Simulator,
    SimulatorConfig,
    create_app,
    drop_after,
    serve,
)

ACCOUNT = "a" * 32
TOKEN = "static-token-value-0123456789"
FAST = Timeout(connect=1.0, read=2.0, write=2.0, pool=1.0)


# -- the simulator, fresh per test (request logs and user counts start at zero) -------------


@pytest.fixture
def fresh_sim() -> Simulator:
    return create_app(SimulatorConfig(seed=5, bucket_size=None))


@pytest.fixture
def fresh_server(fresh_sim: Simulator) -> Iterator[RunningServer]:
    with serve(fresh_sim) as running:
        yield running


def sdk(sim: Simulator, server: RunningServer, **kwargs: Any) -> AsyncAudian:
    kwargs.setdefault("transport", "aiohttp")
    return AsyncAudian(api_key=sim.default_api_key, base_url=f"{server.base_url}/v2", **kwargs)


# -- a raw server that misbehaves on demand -------------------------------------------------


def _envelope(data: Any) -> bytes:
    return json.dumps({"data": data, "status": "success", "request_id": "raw-1"}).encode()


class RawServer:
    """HTTP/1.1 keep-alive on 127.0.0.1; ``plan`` says how to treat each request in turn.

    ``ok`` (200, a user), ``created`` (201, a user), ``silent`` (never answers), ``drop``
    (reads the request, closes), ``truncated`` (promises 100 bytes, sends 10, closes),
    ``stream`` (a chunked body in three chunks), ``stream_cut`` (one chunk, then closes),
    ``trickle`` (a JSON body in 12 chunks, each sent once ``pace`` is set: the test sets it).
    """

    def __init__(self, plan: list[str] | None = None, default: str = "ok") -> None:
        self.plan = list(plan or [])
        self.default = default
        self.requests: list[tuple[str, str]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self._arrival = asyncio.Event()
        #: Set by the test when the next ``trickle`` chunk may go.
        self.pace = asyncio.Event()
        self._server: asyncio.AbstractServer | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0

    async def start(self, sock: socket.socket | None = None) -> RawServer:
        self._stop = asyncio.Event()
        if sock is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        else:
            self._server = await asyncio.start_server(self._handle, sock=sock)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def arrived(self, count: int) -> None:
        """Return once ``count`` requests have reached the server."""
        while len(self.requests) < count:
            self._arrival.clear()
            await self._arrival.wait()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    async def close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
        await asyncio.gather(*self._handlers, return_exceptions=True)  # the handlers finish

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                self.requests.append((method, target))
                self._arrival.set()
                action = self.plan.pop(0) if self.plan else self.default
                if not await self._act(action, writer):
                    return
        finally:
            writer.close()

    async def _act(self, action: str, writer: asyncio.StreamWriter) -> bool:
        if action in ("ok", "created"):
            body = _envelope({"id": "u1", "first_name": "Ada", "last_name": "Lovelace"})
            status = b"200 OK" if action == "ok" else b"201 Created"
            writer.write(
                b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n%s" % (status, len(body), body)
            )
            await writer.drain()
            return True
        if action == "silent":
            assert self._stop is not None
            await self._stop.wait()
            return False
        if action == "drop":
            return False
        if action == "truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            await writer.drain()
            return False
        if action == "trickle":
            body = _envelope({"id": "u1", "first_name": "Ada", "last_name": "Lovelace"})
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            step = -(-len(body) // 12)
            for i in range(0, len(body), step):
                self.pace.clear()
                await self.pace.wait()
                chunk = body[i : i + step]
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        if action in ("stream", "stream_cut"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunks = [b"a" * 10, b"b" * 10, b"c" * 10] if action == "stream" else [b"a" * 10]
            for chunk in chunks:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
            if action == "stream_cut":
                return False
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        raise AssertionError(action)


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = await RawServer().start()
    yield server
    await server.close()


def static_client(base_url: str, **kwargs: Any) -> AsyncAudian:
    """A client with a static token and account (no api_auth round trip)."""
    kwargs.setdefault("transport", "aiohttp")
    kwargs.setdefault("timeout", FAST)
    return AsyncAudian(auth_token=TOKEN, account_id=ACCOUNT, base_url=base_url, **kwargs)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the core's backoff sleeps instead of sleeping."""
    from tests.helpers import record_sleeps

    return record_sleeps(monkeypatch)


# -- success ---------------------------------------------------------------------------------


async def test_create_get_list_and_raw_response_through_aiohttp(
    fresh_sim: Simulator, fresh_server: RunningServer
) -> None:
    async with sdk(fresh_sim, fresh_server) as audian:
        assert isinstance(audian._core.shared.transport, AiohttpTransport)
        created = await audian.users.create(first_name="Ada", last_name="Lovelace", username="ada")
        fetched = await audian.users.get(created.id)
        assert fetched.first_name == "Ada"
        for i in range(3):
            await audian.users.create(first_name="U", last_name=str(i), username=f"u{i}")
        ids = [u.id async for u in audian.users.list(page_size=2)]
        assert len(ids) == 4 and created.id in ids
        raw = await audian.with_raw_response.users.get(created.id)
        assert raw.status_code == 200
        assert isinstance(raw.http_response, aiohttp.ClientResponse)
        assert all(name == name.lower() for name in raw.headers)
        assert raw.request_id
    assert fresh_sim.state.user_count() == 4


async def test_repeated_response_headers_are_joined(raw: RawServer) -> None:
    transport = AiohttpTransport()
    try:
        response = await transport.send("GET", f"{raw.base_url}/x", [], None, FAST)
    finally:
        await transport.aclose()
    assert response.status == 200
    assert response.headers["set-cookie"] == "a=1, b=2"
    assert json.loads(response.content)["data"]["id"] == "u1"


def test_transport_string_shortcut_and_lazy_export() -> None:
    assert isinstance(
        AsyncAudian(api_key="k", transport="aiohttp")._core.shared.transport, AiohttpTransport
    )
    with pytest.raises(TypeError, match="aiohttp"):
        AsyncAudian(api_key="k", transport="aiohttp2")


def test_client_timeout_maps_each_phase() -> None:
    transport = AiohttpTransport()
    ct = transport._client_timeout(Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0))
    assert (ct.total, ct.connect, ct.sock_connect, ct.sock_read) == (None, 5.0, 1.0, 2.0)
    unlimited = transport._client_timeout(Timeout(None, None, None, None))
    assert (unlimited.total, unlimited.connect, unlimited.sock_connect, unlimited.sock_read) == (
        None,
        None,
        None,
        None,
    )


def test_tls_verification_on_by_default_and_configurable() -> None:
    from audian_async._transport import default_ssl_context

    assert AiohttpTransport()._ssl is default_ssl_context()
    assert AiohttpTransport(verify=False)._ssl is False
    assert AiohttpTransport()._trust_env is False
    assert AiohttpTransport(trust_env=True)._trust_env is True


# -- never re-sent ---------------------------------------------------------------------------


async def test_create_dropped_after_send_is_sent_once_and_outcome_unknown(
    fresh_sim: Simulator, fresh_server: RunningServer
) -> None:
    async with sdk(fresh_sim, fresh_server) as audian:
        await audian.authenticate()
        fresh_sim.faults.script(method="PUT", path_contains="/users", kind=drop_after)
        with pytest.raises(APIOutcomeUnknownError) as info:
            await audian.users.create(first_name="Once", last_name="Only", username="once")
        assert isinstance(info.value.__cause__, TransportError) and info.value.__cause__.sent
    assert len(fresh_sim.requests.matching(method="PUT", path_contains="/users")) == 1
    assert fresh_sim.state.user_count() == 1


async def test_plain_aiohttp_would_have_sent_that_create_twice(
    fresh_sim: Simulator, fresh_server: RunningServer
) -> None:
    """The hazard the transport guards against: aiohttp re-sends a PUT after a drop."""
    base = f"{fresh_server.base_url}/v2"
    async with aiohttp.ClientSession() as session:
        async with session.put(
            f"{base}/api_auth", json={"data": {"api_key": fresh_sim.default_api_key}}
        ) as r:
            body = await r.json()
        headers = {"X-Auth-Token": body["auth_token"]}
        fresh_sim.faults.script(method="PUT", path_contains="/users", kind=drop_after)
        async with session.put(
            f"{base}/accounts/{body['data']['account_id']}/users",
            json={"data": {"first_name": "Twice", "last_name": "Made"}},
            headers=headers,
        ) as r:
            assert r.status == 201  # the silent second attempt
    assert len(fresh_sim.requests.matching(method="PUT", path_contains="/users")) == 2
    assert fresh_sim.state.user_count() == 2


async def test_the_switch_alone_guards_a_current_aiohttp(
    fresh_sim: Simulator, fresh_server: RunningServer
) -> None:
    """aiohttp builds its middleware chain for every request: none is installed while the
    private switch exists (the create-dropped test above shows the switch holds)."""
    async with sdk(fresh_sim, fresh_server) as audian:
        await audian.authenticate()
        transport = audian._core.shared.transport
        assert isinstance(transport, AiohttpTransport) and transport._session is not None
        assert transport._session._retry_connection is False
        assert not transport._session._middlewares


async def test_middleware_guards_an_aiohttp_without_the_switch(
    fresh_sim: Simulator, fresh_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if a future aiohttp dropped the private switch: the public middleware holds."""
    attrs_without = frozenset(aiohttp.ClientSession.ATTRS) - {"_retry_connection"}
    monkeypatch.setattr(aiohttp.ClientSession, "ATTRS", attrs_without)
    async with sdk(fresh_sim, fresh_server) as audian:
        await audian.authenticate()
        transport = audian._core.shared.transport
        assert isinstance(transport, AiohttpTransport) and transport._session is not None
        assert transport._session._retry_connection is True  # aiohttp's default: re-send
        assert transport._session._middlewares
        fresh_sim.faults.script(method="PUT", path_contains="/users", kind=drop_after)
        with pytest.raises(APIOutcomeUnknownError):
            await audian.users.create(first_name="Once", last_name="Again", username="again")
    assert len(fresh_sim.requests.matching(method="PUT", path_contains="/users")) == 1
    assert fresh_sim.state.user_count() == 1


async def test_get_dropped_after_send_is_retried_by_the_core_only(
    fresh_sim: Simulator, fresh_server: RunningServer, sleeps: list[float]
) -> None:
    async with sdk(fresh_sim, fresh_server) as audian:
        user = await audian.users.create(first_name="G", last_name="Et", username="getter")
        fresh_sim.faults.script(method="GET", path_contains="/users/", kind=drop_after)
        assert (await audian.users.get(user.id)).id == user.id
    assert len(fresh_sim.requests.matching(method="GET", path_contains="/users/")) == 2
    assert len(sleeps) == 1


# -- refused, timeouts, truncated ------------------------------------------------------------


def _bound_not_listening() -> socket.socket:
    """A port that refuses connections until ``listen()`` is called on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.mark.parametrize("operation", ["get", "create"])
async def test_refused_connection_is_retried_then_succeeds_once(
    monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    sock = _bound_not_listening()
    server = RawServer(default="ok" if operation == "get" else "created")
    sleeps: list[float] = []

    async def start_listening_instead_of_sleeping(self: object, seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            sock.listen()
            await server.start(sock)

    monkeypatch.setattr(SystemClock, "sleep", start_listening_instead_of_sleeping)
    port = sock.getsockname()[1]
    try:
        async with static_client(f"http://127.0.0.1:{port}/v2") as audian:
            if operation == "get":
                result = await audian.users.get("u1")
            else:
                result = await audian.users.create(first_name="Ada", last_name="Lovelace")
        assert result.id == "u1"
    finally:
        await server.close()
        sock.close()
    assert len(sleeps) == 1  # refused once (nothing sent), retried once, even for the create
    assert len(server.requests) == 1


async def test_refused_every_time_is_a_connection_error_not_outcome_unknown(
    sleeps: list[float],
) -> None:
    sock = _bound_not_listening()
    port = sock.getsockname()[1]
    try:
        async with static_client(f"http://127.0.0.1:{port}/v2", max_retries=2) as audian:
            with pytest.raises(APIConnectionError) as info:
                await audian.users.create(first_name="Ada", last_name="Lovelace")
    finally:
        sock.close()
    assert not isinstance(info.value, APIOutcomeUnknownError)
    assert isinstance(info.value.__cause__, TransportError) and not info.value.__cause__.sent
    assert len(sleeps) == 2


async def test_read_timeout_retries_a_get_but_not_a_create(
    raw: RawServer, sleeps: list[float]
) -> None:
    raw.default = "silent"
    timeout = Timeout(connect=1.0, read=0.2, write=1.0, pool=1.0)
    async with static_client(raw.base_url, timeout=timeout, max_retries=1) as audian:
        with pytest.raises(APITimeoutError) as get_info:
            await audian.users.get("u1")
        assert len(raw.requests) == 2 and len(sleeps) == 1
        with pytest.raises(APIOutcomeUnknownTimeoutError):
            await audian.users.create(first_name="Ada", last_name="Lovelace")
    assert not isinstance(get_info.value, APIOutcomeUnknownError)
    assert len(raw.requests) == 3  # the create went out once
    assert len(sleeps) == 1


async def test_read_timeout_is_silence_not_total_time(
    raw: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body arriving in 12 chunks passes a 0.4 s read timeout although it takes longer
    than that: each chunk goes once the watchdog has checked the request again (checks come
    at most a quarter of the timeout apart), so the silence never reaches the timeout while
    the whole body spans at least 12 checks (over a second)."""
    from audian_async._read_watchdog import ReadWatchdog

    check = ReadWatchdog._check
    checks = 0

    def check_then_pace(self: ReadWatchdog) -> None:
        nonlocal checks
        check(self)
        checks += 1
        raw.pace.set()

    monkeypatch.setattr(ReadWatchdog, "_check", check_then_pace)
    raw.default = "trickle"
    transport = AiohttpTransport()
    try:
        response = await transport.send(
            "GET", f"{raw.base_url}/x", [], None, Timeout(connect=1.0, read=0.4, pool=1.0)
        )
    finally:
        await transport.aclose()
    assert json.loads(response.content)["data"]["id"] == "u1"
    assert checks >= 12


async def test_read_timeout_leaves_the_task_uncancelled(raw: RawServer) -> None:
    raw.default = "silent"
    transport = AiohttpTransport()
    task = asyncio.current_task()
    assert task is not None
    try:
        with pytest.raises(TransportError) as info:
            await transport.send(
                "GET", f"{raw.base_url}/x", [], None, Timeout(connect=1.0, read=0.2, pool=1.0)
            )
        assert info.value.sent and info.value.timeout
        assert task.cancelling() == 0  # the watchdog's cancellation was taken back
        await asyncio.sleep(0)  # and no cancellation is left pending for the next await
        assert len(transport._watchdog or ()) == 0
    finally:
        await transport.aclose()


async def test_cancelling_the_caller_stays_a_cancellation(raw: RawServer) -> None:
    """The caller's own cancellation (a web handler's timeout) is not turned into a read
    timeout (the case where both fall due together is unit-tested on a fake clock)."""
    raw.default = "silent"
    transport = AiohttpTransport()
    try:
        call = asyncio.ensure_future(
            transport.send(
                "GET", f"{raw.base_url}/x", [], None, Timeout(connect=1.0, read=5.0, pool=1.0)
            )
        )
        await raw.arrived(1)  # the request is sent and waits for an answer
        call.cancel()
        outcome = (await asyncio.gather(call, return_exceptions=True))[0]
        assert isinstance(outcome, asyncio.CancelledError)
        assert len(transport._watchdog or ()) == 0
    finally:
        await transport.aclose()


async def test_waiting_for_a_pool_slot_times_out_as_not_sent(raw: RawServer) -> None:
    """One connection, held by a silent request: the next one times out waiting for it."""
    raw.default = "silent"
    transport = AiohttpTransport(max_connections=1)
    holder = asyncio.ensure_future(transport.send("GET", f"{raw.base_url}/x", [], None, FAST))
    try:
        await raw.arrived(1)  # the holder has the only connection
        short = Timeout(connect=0.05, read=2.0, write=2.0, pool=0.1)
        with pytest.raises(TransportError) as info:
            await transport.send("PUT", f"{raw.base_url}/users", [], b"{}", short)
    finally:
        holder.cancel()
        await transport.aclose()
    assert not info.value.sent and info.value.timeout  # so the core may retry even a create
    assert raw.requests == [("GET", "/v2/x")]


async def test_truncated_body_is_a_post_send_failure(raw: RawServer) -> None:
    raw.default = "truncated"
    transport = AiohttpTransport()
    try:
        with pytest.raises(TransportError) as info:
            await transport.send("GET", f"{raw.base_url}/x", [], None, FAST)
    finally:
        await transport.aclose()
    assert info.value.sent and not info.value.timeout
    assert "ClientPayloadError" in str(info.value)


def test_exception_mapping_by_phase() -> None:
    cases: list[tuple[BaseException, bool, bool]] = [
        (aiohttp.ConnectionTimeoutError("connect"), False, True),
        (aiohttp.InvalidURL("nope"), False, False),
        (aiohttp.ServerDisconnectedError(), True, False),
        (mod._SentFailure(aiohttp.ServerDisconnectedError()), True, False),
        (mod._SentFailure(aiohttp.ClientOSError(104, "reset")), True, False),
        (aiohttp.ClientConnectionResetError("Cannot write to closing transport"), True, False),
        (aiohttp.ClientPayloadError("truncated"), True, False),
        (aiohttp.SocketTimeoutError("read"), True, True),
        (TimeoutError(), True, True),
    ]
    for exc, sent, timeout in cases:
        translated = mod.translate(exc)
        assert (translated.sent, translated.timeout) == (sent, timeout), exc


# -- streaming -------------------------------------------------------------------------------


_DOWNLOAD = Operation(
    id="test.download",
    method="GET",
    path="/download",
    retry_safe=True,
    envelope="plain",
    auth=False,
    stream=True,
)


async def test_stream_reads_chunks_and_reuses_the_connection(raw: RawServer) -> None:
    raw.plan = ["stream", "ok"]
    async with static_client(raw.base_url) as audian:
        async with audian._core.stream(_DOWNLOAD) as response:
            assert response.status == 200
            assert isinstance(response.raw, aiohttp.ClientResponse)
            body = b"".join([chunk async for chunk in response.iter_bytes()])
        assert body == b"a" * 10 + b"b" * 10 + b"c" * 10
        assert (await audian.users.get("u1")).id == "u1"


async def test_stream_cut_mid_body_raises_a_sent_transport_error(raw: RawServer) -> None:
    raw.default = "stream_cut"
    transport = AiohttpTransport()
    try:
        async with transport.stream("GET", f"{raw.base_url}/x", [], None, FAST) as response:
            with pytest.raises(TransportError) as info:
                async for _ in response.iter_bytes():
                    pass
    finally:
        await transport.aclose()
    assert info.value.sent


# -- event loops, trio, missing extra --------------------------------------------------------


def test_trio_gets_a_clear_error() -> None:
    async def main() -> None:
        async with static_client("http://127.0.0.1:9/v2") as audian:
            await audian.users.get("u1")

    with pytest.raises(AudianError, match="trio"):
        anyio.run(main, backend="trio")


def test_use_from_another_event_loop_is_refused() -> None:
    async def start(transport: AiohttpTransport, server: RawServer) -> None:
        await server.start()
        await transport.send("GET", f"{server.base_url}/x", [], None, FAST)
        await server.close()

    async def again(transport: AiohttpTransport) -> None:
        await transport.send("GET", "http://127.0.0.1:9/v2/x", [], None, FAST)

    transport = AiohttpTransport()
    asyncio.run(start(transport, RawServer()))
    with pytest.raises(AudianError, match="another event loop"):
        asyncio.run(again(transport))


def test_missing_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "_aiohttp", None)
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    # Names what can be installed today: aiohttp, or the extra from a clone (the package is
    # not published, so `pip install 'audian-async[aiohttp]'` would fail).
    with pytest.raises(ImportError, match=r"pip install aiohttp.*'\.\[aiohttp\]'"):
        AiohttpTransport()
    with pytest.raises(ImportError, match=r"pip install aiohttp.*'\.\[aiohttp\]'"):
        AsyncAudian(api_key="k", transport="aiohttp")


# -- secrets ---------------------------------------------------------------------------------


async def test_no_secret_in_reprs_errors_or_logs(
    fresh_sim: Simulator, fresh_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = AiohttpTransport(proxy="http://user:proxy-secret@127.0.0.1:9")
    texts = [repr(transport)]
    async with sdk(fresh_sim, fresh_server) as audian:
        await audian.authenticate()
        token = audian._core.shared.authenticator.current.headers[0][1]  # type: ignore[union-attr]
        fresh_sim.faults.script(method="PUT", path_contains="/users", kind=drop_after)
        with pytest.raises(APIOutcomeUnknownError) as info:
            await audian.users.create(first_name="Se", last_name="Cret", username="secret")
        raw = await audian.with_raw_response.users.get(
            (await audian.users.create(first_name="A", last_name="B", username="ab")).id
        )
        texts += [
            repr(audian),
            repr(audian._core.shared.transport),
            str(info.value),
            repr(info.value.__cause__),
            repr(raw),
        ]
    texts += [record.getMessage() for record in caplog.records]
    blob = "\n".join(texts)
    for secret in (fresh_sim.default_api_key, token, "proxy-secret"):
        assert secret not in blob
