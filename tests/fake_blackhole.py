"""An in-memory peer that behaves like Kazoo's blackhole code, injected through the transport.

``FakeBlackhole`` answers REST credential exchanges (``PUT /api_auth``, through
:class:`tests.virtual.FakeKazoo`) and opens in-memory websockets for the SDK's event stream:

* the token is checked on a socket's first message only (against the tokens FakeKazoo issued
  and their ``exp``); a refused first message leaves the socket unauthenticated;
* ``subscribe`` needs ``data.binding`` and ``data.account_id`` (one binding per message, a
  ``bindings`` list is refused as the code does); bindings are checked by shape;
* every message costs a token of a per-socket bucket (``bucket`` tokens, ``refill`` per
  second, added as one block each second); over it: "rate limiting threshold hit";
* ``ping`` answers success; unknown actions answer success with ``{}``;
* events have the code's shape (``subscribed_key``, ``subscription_key``, ``name``,
  ``routing_key``, ``data`` with lower-cased keys).

Controls: :meth:`publish`, :meth:`drop_all` (no close frame), :meth:`silence_all` (the socket
stays open and never answers), :meth:`send_raw`, and ``refusals`` (what the next upgrade
attempts meet: ``"refused"``, an HTTP status, or ``None`` to connect).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from audian_async._clock import LoopClock
from audian_async._transport import (
    TransportError,
    WebSocketClosed,
    WebSocketConnection,
    WebSocketUpgradeRefused,
)
from audian_async._transport_httpx import HttpxTransport
from audian_async._types import Timeout
from tests.virtual import FakeKazoo

CRASH = "\x00crash"

CALL_EVENTS = {
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_DESTROY",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE",
    "PARK_PARKED",
    "PARK_RETRIEVED",
    "PARK_ABANDONED",
}
OBJECT_ACTIONS = {"doc_created", "doc_edited", "doc_deleted", "*"}
OBJECT_TYPES = {"account", "callflow", "device", "faxbox", "media", "user", "vmbox", "*"}


def valid_binding(binding: str) -> bool:
    parts = binding.split(".")
    if parts[0] == "call":
        return len(parts) == 3 and (parts[1] in CALL_EVENTS or parts[1] == "*")
    if parts[0] == "object":
        return len(parts) == 3 and parts[1] in OBJECT_ACTIONS and parts[2] in OBJECT_TYPES
    return parts[0] in ("fax", "conference", "presence") and len(parts) >= 3


def matches(binding: str, key: str) -> bool:
    want, have = binding.split("."), key.split(".")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


class FakeSocket:
    """One server-side socket (the client holds a :class:`ClientEnd` of it)."""

    def __init__(self, server: FakeBlackhole) -> None:
        self.server = server
        self.send_in, self.receive_in = anyio.create_memory_object_stream[str | None](math.inf)
        self.account: str | None = None
        self.authenticated = False
        self.messages = 0
        self.bindings: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.silent = False
        self.stuck = False  # sends never complete (the client's send buffer is full)
        self.crashed = False
        self.closed = False
        self.level = server.bucket
        self.refilled_at = server.clock.now()

    def _take(self) -> bool:
        now = self.server.clock.now()
        blocks = math.floor(now - self.refilled_at)
        if blocks > 0:
            self.level = min(self.server.bucket, self.level + blocks * self.server.refill)
            self.refilled_at += blocks
        if self.level <= 0:
            return False
        self.level -= 1
        return True

    def push(self, message: dict[str, Any] | str) -> None:
        if not self.closed:
            text = message if isinstance(message, str) else json.dumps(message)
            self.send_in.send_nowait(text)

    def _reply(self, request_id: Any, status: str, data: dict[str, Any]) -> None:
        self.push({"action": "reply", "request_id": request_id, "status": status, "data": data})

    def handle(self, text: str) -> None:
        message = json.loads(text)
        self.received.append(message)
        self.server.messages.append(message)
        if self.silent:
            return
        rid = message.get("request_id")
        first = self.messages == 0
        self.messages += 1
        if not self._take():
            self.server.rate_limited += 1
            self._reply(rid, "error", {"errors": ["rate limiting threshold hit"]})
            return
        if first or not self.authenticated:
            token = message.get("auth_token")
            exp = self.server.kazoo.valid.get(token or "")
            if (
                exp is None
                or self.server.clock.wall() >= exp
                or token in self.server.revoked
                or self.server.refuse_tokens
            ):
                self.server.token_refusals += 1
                if token:
                    self.server.tokens_refused.append(token)
                # Kazoo's own text names the token it refused (bh_token_auth).
                self._reply(rid, "error", {"errors": [f"failed to authenticate token {token}"]})
                return
            self.authenticated = True
            self.server.tokens_used.append(token)
        action = message.get("action")
        data = message.get("data") or {}
        if action == "subscribe":
            if "binding" not in data or "account_id" not in data:
                self._reply(rid, "error", {"errors": ["missing required keys : binding"]})
                return
            binding = data["binding"]
            if not valid_binding(binding):
                self._reply(
                    rid, "error", {"errors": ["no available subscriptions to requested binding"]}
                )
                return
            if self.server.forbidden_account == data["account_id"]:
                self._reply(rid, "error", {"errors": ["unauthorized to subscribe to account"]})
                return
            self.account = data["account_id"]
            if binding not in self.bindings:
                self.bindings.append(binding)
            self._reply(rid, "success", {"subscribed": list(self.bindings)})
            return
        if action == "ping":
            self.server.pings += 1
            self._reply(rid, "success", {})
            return
        self._reply(rid, "success", {})

    def drop(self) -> None:
        if not self.closed:
            self.closed = True
            self.send_in.send_nowait(None)


class ClientEnd:
    """The SDK's side of a :class:`FakeSocket` (a ``WebSocketConnection``)."""

    def __init__(self, sock: FakeSocket) -> None:
        self.sock = sock
        self.closed = False

    async def send_text(self, text: str) -> None:
        await anyio.sleep(0)
        if self.sock.stuck:
            await anyio.sleep_forever()
        if self.sock.closed or self.closed:
            raise WebSocketClosed("websocket send failed: closed")
        self.sock.handle(text)

    async def receive_text(self) -> str:
        try:
            text = await self.sock.receive_in.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            text = None
        if text is None:
            raise WebSocketClosed("websocket dropped: connection lost")
        if text == CRASH:
            raise RuntimeError("a websocket library failed in its own way")
        return text

    async def aclose(self) -> None:
        self.closed = True


class FakeBlackhole:
    """Kazoo's REST credentials and its event socket, in memory on the test's clock."""

    def __init__(
        self,
        clock: LoopClock,
        *,
        token_lifetime: int = 3600,
        bucket: int = 100,
        refill: int = 10,
        max_message_size_seen: list[int] | None = None,
    ) -> None:
        self.clock = clock
        self.kazoo = FakeKazoo(clock, token_lifetime=token_lifetime)
        self.bucket = bucket
        self.refill = refill
        self.sockets: list[FakeSocket] = []
        self.refusals: list[str | int | None] = []
        self.upgrades = 0
        self.headers_seen: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.max_message_sizes: list[int] = []
        self.messages: list[dict[str, Any]] = []
        self.tokens_used: list[str] = []
        self.revoked: set[str] = set()
        self.refuse_tokens = False
        self.token_refusals = 0
        self.tokens_refused: list[str] = []
        self.rate_limited = 0
        self.pings = 0
        self.forbidden_account: str | None = None
        self.connected = anyio.Event()
        self.closed_ends: list[ClientEnd] = []

    @property
    def open_sockets(self) -> list[FakeSocket]:
        return [s for s in self.sockets if not s.closed]

    def transport(self) -> FakeWsTransport:
        return FakeWsTransport(self)

    def publish(self, key: str, name: str, data: dict[str, Any]) -> int:
        """Send an event to every socket with a binding matching ``key``; how many got it."""
        sent = 0
        for sock in self.open_sockets:
            for binding in sock.bindings:
                if matches(binding, key):
                    sock.push(
                        {
                            "action": "event",
                            "subscribed_key": binding,
                            "subscription_key": binding,
                            "name": name,
                            "routing_key": key,
                            "data": data,
                        }
                    )
                    sent += 1
                    break
        return sent

    def publish_call(self, event: str, call_id: str, **fields: Any) -> int:
        data = {
            "call_id": call_id,
            "event_name": event,
            "call_direction": "inbound",
            "caller_id_name": "Jane",
            "caller_id_number": "+15550001",
            "callee_id_name": "Bob",
            "callee_id_number": "+15550002",
            "account_id": "a" * 32,
            **fields,
        }
        return self.publish(f"call.{event}.{call_id}", event, data)

    def send_raw(self, text: str) -> None:
        for sock in self.open_sockets:
            sock.push(text)

    def drop_all(self) -> None:
        for sock in self.open_sockets:
            sock.drop()

    def crash_all(self) -> None:
        """The websocket library fails under the stream: its receive raises an exception of
        its own and closing the socket raises WebSocketClosed (what the httpx-ws adapter
        raises when httpx-ws's reader task dies)."""
        for sock in self.open_sockets:
            sock.crashed = True
            sock.push(CRASH)

    def silence_all(self) -> None:
        for sock in self.open_sockets:
            sock.silent = True

    def stick_sends(self) -> None:
        """The peer stops reading: every send on an open socket blocks for good."""
        for sock in self.open_sockets:
            sock.stuck = True

    @asynccontextmanager
    async def open(
        self, url: str, headers: Sequence[tuple[str, str]], max_message_size: int
    ) -> AsyncIterator[WebSocketConnection]:
        await anyio.sleep(0.001)
        self.upgrades += 1
        self.urls.append(url)
        self.headers_seen.append({k.lower(): v for k, v in headers})
        self.max_message_sizes.append(max_message_size)
        if any(k.lower() == "sec-websocket-protocol" for k, _ in headers):
            raise WebSocketUpgradeRefused(400, {})
        outcome = self.refusals.pop(0) if self.refusals else None
        if outcome == "refused":
            raise TransportError("ConnectError: connection refused", sent=False, timeout=False)
        if isinstance(outcome, int):
            raise WebSocketUpgradeRefused(outcome, {"retry-after": "3"} if outcome == 429 else {})
        sock = FakeSocket(self)
        self.sockets.append(sock)
        end = ClientEnd(sock)
        self.connected.set()
        try:
            yield end
        finally:
            end.closed = True
            sock.closed = True
            self.closed_ends.append(end)
        if sock.crashed:
            raise WebSocketClosed("websocket dropped: RemoteProtocolError")


class FakeWsTransport(HttpxTransport):
    """The httpx transport over FakeKazoo's REST, with the fake socket as its websocket."""

    def __init__(self, server: FakeBlackhole) -> None:
        super().__init__(transport=httpx.MockTransport(server.kazoo.handle))
        self.server = server

    def websocket(  # type: ignore[override]
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        *,
        timeout: Timeout,
        max_message_size: int,
    ) -> Any:
        return self.server.open(url, headers, max_message_size)
