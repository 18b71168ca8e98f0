"""One event socket: the message pipeline, the outbound queue and the watchdog.

Each client message runs blackhole's pipeline (``blackhole_socket_callback:recv``): rate, then
authenticate (until a message succeeds), validate, authorize, command. A message that fails at
any step is answered with an error reply and changes nothing, not even the authentication: the
socket belongs to an account once a message carrying a valid token has succeeded.

Outbound messages go through a queue drained by one writer task. Events are dropped once
``max_queued`` messages wait (a slow reader loses events); replies are never dropped. A write
blocked for ``send_timeout`` seconds of the simulator's clock kills the socket without a close
frame, and a socket that sent nothing for ``idle_timeout`` seconds is closed (code 1000).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from . import _bindings
from ._bindings import Resolved

if TYPE_CHECKING:
    from starlette.types import Receive, Send

    from ._hub import Events

__all__ = ["Session", "SocketInfo"]

logger = logging.getLogger("audian_async.testing")

SUBSCRIBE_KEYS = ("account_id", "binding")


# Clock readings are float sums: an hour after t can read 3599.999999999998 s later.
_CLOCK_SLACK = 1e-6


@dataclass(frozen=True)
class SocketInfo:
    """A snapshot of one open socket (see `Events.sockets`)."""

    session_id: str
    account_id: str | None
    bindings: tuple[str, ...]
    queued: int
    sent: int
    dropped_events: int
    writing: bool
    #: Client text messages handled, error replies sent, and those refused by the bucket.
    received: int = 0
    errors: int = 0
    rate_limited: int = 0


@dataclass(frozen=True)
class _Close:
    code: int


class _Crash(Exception):
    """The handler would crash in Kazoo (undecodable frame): the socket closes with 1011."""


class _Failed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Session:
    """One accepted socket, owned by the event loop that serves it."""

    def __init__(self, hub: Events, session_id: str, ip: str, abort: Callable[[], None]) -> None:
        self.hub = hub
        self.session_id = session_id
        self.ip = ip
        self.account_id: str | None = None
        #: (client binding, subscription key) pairs, in subscription order.
        self.bindings: list[tuple[str, str]] = []
        self.sent = 0
        self.received = 0
        self.errors = 0
        self.rate_limited = 0
        self.dropped_events = 0
        self.writing_since: float | None = None
        self.last_received = hub.clock.monotonic()
        self._abort = abort
        self._queue: deque[str | _Close] = deque()
        self._lock = threading.Lock()
        self._tokens = float(hub.bucket_size)
        self._tokens_at = hub.clock.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = anyio.Event()
        self._ended = anyio.Event()
        self.closed = False

    # -- called from any thread -----------------------------------------------------------------

    def info(self) -> SocketInfo:
        """A snapshot for inspection."""
        with self._lock:
            return SocketInfo(
                session_id=self.session_id,
                account_id=self.account_id,
                bindings=tuple(client for client, _ in self.bindings),
                queued=len(self._queue),
                sent=self.sent,
                dropped_events=self.dropped_events,
                writing=self.writing_since is not None,
                received=self.received,
                errors=self.errors,
                rate_limited=self.rate_limited,
            )

    def offer_event(self, message: dict[str, Any] | str) -> bool:
        """Queue an event (a message, or its JSON text) unless ``max_queued`` messages wait
        already (then count a drop)."""
        with self._lock:
            if self.closed:
                return False
            if len(self._queue) >= self.hub.max_queued:
                self.dropped_events += 1
                self.hub.count_drop()
                return False
        # Only what will be sent is encoded.
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        with self._lock:
            idle_writer = not self._queue  # a writer with work left needs no wake-up
            self._queue.append(text)
        if idle_writer:
            self._notify()
        return True

    def kill(self) -> None:
        """End the socket at once, without a close frame (the connection is aborted)."""
        with self._lock:
            self.closed = True
            self._queue.clear()
        self._call_soon(self._kill_now)

    # -- the event loop's side --------------------------------------------------------------------

    async def run(self, receive: Receive, send: Send) -> None:
        """Serve the accepted socket until it ends, whichever way."""
        self._loop = asyncio.get_running_loop()
        if self.closed:  # dropped (drop_sockets) while the upgrade was under way
            self._abort()
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._writer, send)
            tg.start_soon(self._watchdog)
            tg.start_soon(self._reader, receive)
            await self._ended.wait()
            tg.cancel_scope.cancel()

    def _call_soon(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback)

    def _notify(self) -> None:
        self._call_soon(lambda: self._wake.set())

    def _kill_now(self) -> None:
        self._abort()
        self._end()

    def _end(self) -> None:
        with self._lock:
            self.closed = True
        self._ended.set()

    def _close_soon(self, code: int) -> None:
        with self._lock:
            self._queue.clear()
            self._queue.append(_Close(code))
        self._wake.set()

    def _enqueue_reply(self, message: dict[str, Any]) -> None:
        with self._lock:
            if self.closed:
                return
            self._queue.append(json.dumps(message, separators=(",", ":")))
        self._wake.set()

    async def _next(self) -> str | _Close:
        while True:
            with self._lock:
                if self._queue:
                    return self._queue.popleft()
            await self._wake.wait()
            self._wake = anyio.Event()

    async def _writer(self, send: Send) -> None:
        try:
            while True:
                item = await self._next()
                self.writing_since = self.hub.clock.monotonic()
                if isinstance(item, _Close):
                    await send({"type": "websocket.close", "code": item.code})
                    break
                await send({"type": "websocket.send", "text": item})
                self.writing_since = None
                with self._lock:
                    self.sent += 1
        except Exception:  # the client went away under a write
            pass
        self._end()

    async def _watchdog(self) -> None:
        hub = self.hub
        idle_closed = False
        while True:
            await anyio.sleep(hub.poll_interval)
            now = hub.clock.monotonic()
            since = self.writing_since
            if since is not None and now - since >= hub.send_timeout - _CLOCK_SLACK:
                self.kill()
                return
            if not idle_closed and now - self.last_received >= hub.idle_timeout - _CLOCK_SLACK:
                idle_closed = True
                self._close_soon(1000)

    async def _reader(self, receive: Receive) -> None:
        while True:
            try:
                message = await receive()
            except Exception:  # the connection broke under the read
                break
            kind = message["type"]
            if kind == "websocket.disconnect":
                break
            if kind != "websocket.receive" or message.get("text") is None:
                continue  # binary frames are not handled (cowboy ignores them)
            self.last_received = self.hub.clock.monotonic()
            try:
                reply = self.handle(message["text"])
            except _Crash:
                self._close_soon(1011)
                return
            except Exception:  # a simulator bug: close as Kazoo's crashed handler would
                logger.exception("event socket %s: handling a message failed", self.session_id)
                self._close_soon(1011)
                return
            self._enqueue_reply(reply)
        self._end()

    # -- the pipeline ---------------------------------------------------------------------------

    def handle(self, text: str) -> dict[str, Any]:
        """One client message in, its reply out (raises _Crash where Kazoo's handler dies)."""
        try:
            payload = json.loads(text)
        except ValueError:
            raise _Crash from None
        if not isinstance(payload, dict):
            raise _Crash
        self.received += 1
        action = _binary(payload.get("action")) or "noop"
        request_id = _binary(payload.get("request_id")) or uuid.uuid4().hex
        try:
            data = self._pipeline(action, payload)
        except _Failed as failure:
            self.errors += 1
            return _reply(request_id, "error", {"errors": [failure.message]})
        return _reply(request_id, "success", data)

    def _pipeline(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._rate()
        account_id = self.account_id or self._authenticate(payload)
        hub = self.hub
        if action in ("subscribe", "unsubscribe"):
            data, binding = self._validate(payload)
            target = str(data["account_id"])
            if action == "subscribe":
                self._authorize(account_id, target)
            resolved = _bindings.resolve(binding, target, hub.clock.time())
            if resolved is None:
                raise _Failed("no available subscriptions to requested binding")
            with self._lock:
                result = (
                    self._subscribe(resolved)
                    if action == "subscribe"
                    else self._unsubscribe(resolved)
                )
        elif action == "ping" and hub.pong:
            result = {"response": "pong"}
        else:
            result = {}
        self.account_id = account_id  # the first successful message authenticates the socket
        return result

    def _rate(self) -> None:
        hub = self.hub
        now = hub.clock.monotonic()
        self._tokens = min(
            float(hub.bucket_size),
            self._tokens + (now - self._tokens_at) * hub.bucket_refill_per_sec,
        )
        self._tokens_at = now
        if self._tokens < 1:
            self.rate_limited += 1
            raise _Failed(f"rate limiting threshold hit for {self.session_id}!")
        self._tokens -= 1

    def _authenticate(self, payload: dict[str, Any]) -> str:
        token = _binary(payload.get("auth_token"))
        if token is None:
            raise _Failed("authentication token required")
        account_id = self.hub.verify_token(token)
        if account_id is None:
            # Kazoo echoes the refused token in this message; clients must not log it.
            raise _Failed(f"failed to authenticate token {token}")
        return account_id

    def _validate(self, payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        data = payload.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise _Crash
        if not data:
            raise _Failed("missing required keys in data object")
        missing = [key for key in SUBSCRIBE_KEYS if key not in data]
        if missing:
            raise _Failed(f"missing required keys : {', '.join(missing)}")
        binding = data["binding"]
        if not isinstance(binding, str):
            raise _Crash
        complaint = _bindings.validate(binding)
        if complaint is not None:
            raise _Failed(complaint)
        return data, binding

    def _authorize(self, account_id: str, target: str) -> None:
        hub = self.hub
        if target == "*":
            if not hub.is_superduper_admin(account_id):
                raise _Failed("unauthorized wildcard account id")
            return
        if not hub.is_within(target, account_id):
            raise _Failed("unauthorized account id")

    def _subscribe(self, resolved: Resolved) -> dict[str, Any]:
        pairs = [(resolved.requested, key) for key in resolved.subscribed]
        self.bindings.extend(pair for pair in pairs if pair not in self.bindings)
        return {"subscribed": [client for client, _ in self.bindings]}

    def _unsubscribe(self, resolved: Resolved) -> dict[str, Any]:
        for key in resolved.subscribed:
            pair = (resolved.requested, key)
            if pair in self.bindings:
                self.bindings.remove(pair)
        return {
            "unsubscribed": [resolved.requested],
            "subscribed": [client for client, _ in self.bindings],
        }

    def matching(self, routing_key: str) -> list[tuple[str, str]]:
        """The (client binding, subscription key) pairs an event's routing key matches."""
        with self._lock:
            pairs = list(self.bindings)
        return [pair for pair in pairs if _bindings.matches(pair[1], routing_key)]


def _binary(value: Any) -> str | None:
    """``kz_json:get_ne_binary_value``: a non-empty string, a number as text, else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _reply(request_id: str, status: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"action": "reply", "request_id": request_id, "status": status, "data": data}
