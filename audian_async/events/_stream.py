"""One subscription to Kazoo's event socket (blackhole), kept alive across drops and expiry.

Tasks (all inside the stream's task group, all ended when the ``async with`` ends):

* the *supervisor* connects, authenticates with a token valid now (the client's own
  single-flight credentials), subscribes every binding (one binding per message, each reply
  checked, paced by the socket's message bucket), pings, and reconnects with jittered
  exponential backoff when the socket drops or goes silent;
* a *reader* per socket drains it continuously into the bounded ``EventBuffer``
  (drop-oldest, counted) and hands replies to the requests waiting for them.

The application only reads the buffer, so a slow application never stalls the socket.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .. import _json
from .._classify import build_status_error
from .._classify import secrets_of as known_secrets
from .._clock import run_until
from .._errors import (
    APIConnectionError,
    AudianError,
    AuthenticationError,
    InternalServerError,
    RateLimitError,
    ValidationError,
)
from .._redact import scrub
from .._transport import (
    SupportsReceiveLoop,
    SupportsWebSocket,
    TransportError,
    WebSocketConnection,
    WebSocketUpgradeRefused,
)
from ._buffer import EventBuffer
from ._errors import EventStreamError, SubscriptionError
from ._models import (
    _CLASS_OF,
    Event,
    Gap,
    decode_lenient,
    new_event,
    new_event_of_frame,
    parse_event,
)
from ._protocol import MessageBucket, classify_refusal, reply_errors

if TYPE_CHECKING:
    import anyio

    from .._clock import Clock
    from .._core import Core
    from .._credentials import Credentials

__all__ = ["Backoff", "EventStream", "EventStreamStats"]

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between connection attempts: ``initial * multiplier ** (n - 1)`` seconds before
    the n-th retry, at most ``maximum``, each shortened by a random share up to ``jitter``
    (so that many clients dropped together do not reconnect together)."""

    initial: float = 0.25
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        """Refuse waits that would reconnect in a hot loop or never (``ValidationError``)."""
        for name in ("initial", "maximum", "multiplier", "jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"backoff.{name}", "type", f"must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValidationError(f"backoff.{name}", "type", f"must be finite, not {value!r}")
        if not self.initial > 0:
            raise ValidationError("backoff.initial", "exclusiveMinimum", "must be > 0 seconds")
        if self.maximum < self.initial:
            raise ValidationError("backoff.maximum", "minimum", "must be >= initial")
        if self.multiplier < 1:
            raise ValidationError("backoff.multiplier", "minimum", "must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValidationError("backoff.jitter", "maximum", "must be between 0 and 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number ``attempt`` (1-based), for any number of attempts (a
        stream that retries forever never overflows the power)."""
        exponent = max(attempt - 1, 0)
        base = self.initial
        if self.multiplier > 1 and base < self.maximum:
            # the exponent at which the wait reaches the cap: no need to raise the power further
            capped = math.log(self.maximum / self.initial, self.multiplier)
            base = self.maximum if exponent >= capped else base * self.multiplier**exponent
        return min(self.maximum, base) * (1.0 - self.jitter * rng.random())


@dataclass(slots=True)
class EventStreamStats:
    """Counters of one stream, for monitoring (read them any time).

    Attributes:
        received: events read from the server.
        delivered: events handed to the application.
        dropped: events discarded because the buffer was full (the oldest first).
        skipped: frames not usable (undecodable JSON, unknown action, a reply nobody waits
            for); ``last_skipped`` says why the last one was.
        reconnects: sockets replaced after a drop, a silence or a server close.
        rate_limited: messages the server's bucket refused (paced and sent again).
        pings: pings answered.
        last_error: why the last socket was lost or the last attempt failed.
    """

    received: int = 0
    delivered: int = 0
    dropped: int = 0
    skipped: int = 0
    reconnects: int = 0
    rate_limited: int = 0
    pings: int = 0
    last_skipped: str | None = None
    last_error: str | None = None


class _Lost(Exception):
    """The socket is gone or silent: reconnect."""


class _TokenRefused(Exception):
    """The server refused the socket's token."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


class _Reply:
    __slots__ = ("done", "message")

    def __init__(self) -> None:
        import anyio

        self.done = anyio.Event()
        self.message: Mapping[str, Any] | None = None


class _Socket:
    """One open socket: its token, the client's clock and its copy of the message bucket,
    replies awaited, and why it ended."""

    def __init__(
        self, ws: WebSocketConnection, token: str, clock: Clock, scope: anyio.CancelScope
    ) -> None:
        self.ws = ws
        self.token = token
        self.clock = clock
        self.bucket = MessageBucket(clock)
        self.scope = scope
        self.pending: dict[str, _Reply] = {}
        self.error: BaseException | None = None

    def fail(self, exc: BaseException) -> None:
        """Record why the socket ends (the first reason wins) and stop its tasks."""
        if self.error is None:
            self.error = exc
        self.scope.cancel()

    async def request(self, action: str, data: Mapping[str, Any], timeout: float) -> Any:
        """Send one message and wait for its reply: ``_Lost`` if sending it and its reply take
        more than ``timeout`` seconds on the client's clock. The wait for the message
        bucket comes first and is not counted: it is pacing, bounded by the bucket's refill
        (about a second once the bucket is empty), not the server's silence."""
        request_id = f"audian-async-{next(_ids)}"
        slot = self.pending[request_id] = _Reply()
        try:
            await self.bucket.take()
            message = {
                "action": action,
                "auth_token": self.token,
                "request_id": request_id,
                "data": dict(data),
            }
            text = _json.dumps(message).decode()

            async def exchange() -> None:
                await self.ws.send_text(text)  # a send stuck on a full socket counts too
                await slot.done.wait()

            await run_until(self.clock, self.clock.now() + timeout, exchange)
            if slot.message is None:
                raise _Lost(f"no reply to {action!r} within {timeout}s")
            return slot.message
        finally:
            self.pending.pop(request_id, None)


class EventStream:
    """Events of the bindings of one subscription: ``async with`` it, then ``async for``.

    Yields ``Event`` (``CallEvent``, ``ObjectEvent``, or
    the generic event) and ``Gap`` markers where events were lost.
    Each stream has its own socket. Raises, from ``async with`` (first connection) or from the
    iteration (later): ``AuthenticationError`` (token refused even after a
    refresh, or not refreshable), ``SubscriptionError`` (a binding refused),
    ``APIStatusError`` (upgrade refused with a status that is not retried),
    ``APIConnectionError`` (``max_attempts`` consecutive failures),
    ``EventStreamError``.
    """

    def __init__(
        self,
        core: Core,
        url: str,
        bindings: Sequence[str],
        *,
        account_id: str | None,
        buffer_size: int,
        ping_interval: float,
        ping_timeout: float,
        reply_timeout: float,
        max_message_size: int,
        backoff: Backoff,
        max_attempts: int | None,
        window: int = 10,
        rng: random.Random | None = None,
    ) -> None:
        self._core = core
        self.url = url
        self.bindings: tuple[str, ...] = tuple(dict.fromkeys(bindings))
        self._account_id = account_id
        self._buffer_size = buffer_size
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._reply_timeout = reply_timeout
        self._max_message_size = max_message_size
        self._backoff = backoff
        self._max_attempts = max_attempts
        self._window = window
        self._rng = rng or random.Random()
        self._clock = core.engine.clock
        self.stats = EventStreamStats()
        self._buffer: EventBuffer | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._ready: anyio.Event | None = None
        self._fatal: BaseException | None = None
        self._state = "new"
        self._subscribed_account: str | None = None

    @property
    def account_id(self) -> str | None:
        """The account whose events this stream receives (known once connected)."""
        return self._subscribed_account or self._account_id

    @property
    def buffered(self) -> int:
        """Events received and not yet read by the application."""
        return len(self._buffer) if self._buffer is not None else 0

    # -- the application's side ----------------------------------------------------------

    async def __aenter__(self) -> Self:
        import anyio

        if self._state != "new":
            raise EventStreamError("an EventStream is opened once: call subscribe() again")
        self._state = "open"
        transport = self._core.engine.transport
        if not isinstance(transport, SupportsWebSocket):
            self._state = "closed"
            raise EventStreamError(
                f"this client's transport ({type(transport).__name__}) cannot open websockets: "
                "use the default transport, transport='aiohttp', or give yours a websocket() "
                "method (audian_async._transport.SupportsWebSocket)"
            )
        self._buffer = EventBuffer(self._buffer_size, self._clock, self.stats)
        self._ready = anyio.Event()
        group = self._group = anyio.create_task_group()
        await group.__aenter__()
        group.start_soon(self._supervise, transport)
        try:
            await self._ready.wait()
        except BaseException as exc:
            await self._close(type(exc), exc, exc.__traceback__)
            raise
        if self._fatal is not None:
            fatal = self._fatal
            await self._close(None, None, None)
            raise fatal
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._close(exc_type, exc, tb)

    async def _close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        import anyio

        group, self._group = self._group, None
        self._state = "closed"
        if self._buffer is not None:
            self._buffer.wake()
        if group is None:
            return None
        group.cancel_scope.cancel()
        if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
            # The application's own exception leaves as it is, not inside an ExceptionGroup.
            await group.__aexit__(None, None, None)
            return None
        return await group.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event | Gap:
        buffer = self._buffer
        if buffer is None:
            raise EventStreamError("open the stream first: `async with ... as events:`")
        while True:
            item = buffer.pop()
            if item is not None:
                return item
            if self._fatal is not None:
                raise self._fatal
            if self._state == "closed":
                raise StopAsyncIteration
            await buffer.wait()

    def __repr__(self) -> str:
        return (
            f"EventStream(url={self.url!r}, bindings={len(self.bindings)}, "
            f"account_id={self.account_id!r}, state={self._state!r})"
        )

    # -- the supervisor --------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        self._fatal = exc
        assert self._ready is not None and self._buffer is not None
        self._ready.set()
        self._buffer.wake()

    async def _supervise(self, transport: SupportsWebSocket) -> None:
        try:
            await self._reconnect_forever(transport)
        except AudianError as exc:
            self._fail(exc)
        except Exception as exc:  # a defect: end the stream with a typed error, not a crash
            error = EventStreamError(f"the event stream failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            self._fail(error)

    async def _reconnect_forever(self, transport: SupportsWebSocket) -> None:
        assert self._buffer is not None and self._ready is not None
        failures = 0  # consecutive waits since the last subscribed socket (or the start)
        failed = 0  # consecutive connection attempts that failed (a drop is not one)
        refreshed = False  # the token was refreshed once after a refusal
        lost_at: float | None = None  # when the last subscribed socket was lost
        lost_reason: str | None = None
        while True:
            if self._core.shared.closed:
                raise EventStreamError("the client was closed: the event stream ends")
            cred = await self._credentials()
            error: BaseException | None = None
            try:
                await self._run_socket(transport, cred, lost_at, failures, lost_reason)
            except _TokenRefused as exc:
                if not cred.refreshable or refreshed:
                    raise AuthenticationError(
                        "the event socket refused the token"
                        + ("" if cred.refreshable else " (a fixed auth_token cannot be refreshed)")
                        + f": {exc}",
                        status_code=401,
                        server_message=str(exc),
                    ) from None
                refreshed = True
                auth = self._core.engine.authenticator
                if auth is not None:
                    auth.retire(cred)
                continue
            except _Subscribed as done:
                error = done.error
                failures, failed, refreshed = 0, 0, False
                lost_at = self._clock.now()
                lost_reason = str(error) or type(error).__name__
            except (_Lost, TransportError) as exc:
                error = exc
                failed += 1
            if self._state == "closed":
                return
            failures += 1
            reason = str(error) or type(error).__name__
            self.stats.last_error = reason
            self._check_fatal_upgrade(error)
            if self._max_attempts is not None and failed >= self._max_attempts:
                raise APIConnectionError(
                    f"the event socket could not be opened in {failed} attempts: {reason}",
                    method="GET",
                    url=self.url,
                )
            delay = self._backoff.delay(failures, self._rng)
            if isinstance(error, WebSocketUpgradeRefused):
                delay = max(delay, _retry_after(error.headers))
            _log(
                "event socket %s (%s); attempt %d in %.2fs",
                "lost" if failures == 1 and lost_at is not None else "not open",
                reason,
                failures,
                delay,
            )
            await self._clock.sleep(delay)

    def _check_fatal_upgrade(self, error: BaseException | None) -> None:
        if isinstance(error, WebSocketUpgradeRefused):
            status = error.status
            if status in (408, 429) or status >= 500:
                return
            raise build_status_error(
                status,
                None,
                headers=error.headers,
                method="GET",
                url=self.url,
                auth_failure=status == 401,
            )

    async def _credentials(self) -> Credentials:
        """A token valid now, from the client's single-flight credentials; transient failures
        of the exchange are waited out like a failed connection."""
        failures = 0
        while True:
            try:
                cred = await self._core.credentials()
            except (APIConnectionError, InternalServerError, RateLimitError) as exc:
                failures += 1
                self.stats.last_error = f"credentials: {exc}"
                if self._max_attempts is not None and failures >= self._max_attempts:
                    raise
                await self._clock.sleep(self._backoff.delay(failures, self._rng))
                continue
            if cred is None:  # pragma: no cover - every Audian client has a strategy
                raise EventStreamError("this client has no credentials to open an event socket")
            return cred

    async def _run_socket(
        self,
        transport: SupportsWebSocket,
        cred: Credentials,
        lost_at: float | None,
        attempts: int,
        reason: str | None,
    ) -> None:
        """Open, subscribe and keep one socket; raise why it ended (``_Subscribed`` wrapping
        the reason once it had been subscribed)."""
        import anyio

        token = next((v for k, v in cred.headers if k.lower() == "x-auth-token"), None)
        if token is None:
            raise EventStreamError("the event socket needs an Audian auth token")
        account = self._account_id or self._core.account_id or cred.account_id
        if account is None:
            raise EventStreamError(
                "no account id to subscribe: pass account_id= (or auth_token= with account_id=)"
            )
        headers = tuple(
            (k, v)
            for k, v in self._core.default_headers.items()
            if k.lower() != "sec-websocket-protocol"  # Kazoo refuses any subprotocol (400)
        )
        subscribed = False
        sock: _Socket | None = None
        try:
            async with transport.websocket(
                self.url,
                headers,
                timeout=self._core.timeout,
                max_message_size=self._max_message_size,
            ) as ws:
                assert self._buffer is not None and self._ready is not None
                async with anyio.create_task_group() as group:
                    sock = _Socket(ws, token, self._clock, group.cancel_scope)
                    group.start_soon(self._read, sock)
                    try:
                        if lost_at is not None:
                            self._buffer.hold()
                        await self._subscribe_all(sock, account)
                        subscribed = True
                        self._subscribed_account = account
                        if lost_at is not None:
                            self.stats.reconnects += 1
                            gap = Gap(
                                reconnected=True,
                                dropped=0,
                                started_at=lost_at,
                                ended_at=self._clock.now(),
                                attempts=attempts,
                                reason=reason,
                            )
                            self._buffer.release(gap)
                            _log(
                                "event socket resubscribed after %.2fs (%d attempts): "
                                "events of the gap are lost",
                                gap.ended_at - gap.started_at,
                                attempts,
                            )
                        self._ready.set()
                        await self._keepalive(sock)
                    except Exception as exc:
                        sock.fail(exc)
                    sock.scope.cancel()
        except TransportError as exc:
            # The socket failed under the stream (a library's own task): a loss like any other.
            if subscribed:
                raise _Subscribed(exc) from None
            raise
        error = (sock.error if sock is not None else None) or _Lost("the socket ended")
        if subscribed:
            raise _Subscribed(error)
        raise error

    async def _subscribe_all(self, sock: _Socket, account: str) -> None:
        """Subscribe every binding, one per message: the first alone (it authenticates the
        socket), then up to ``window`` in flight, paced by the bucket."""
        import anyio

        bindings = iter(self.bindings)
        first = next(bindings)
        await self._subscribe(sock, first, account)
        errors: list[BaseException] = []

        async def worker(scope: anyio.CancelScope) -> None:
            try:
                for binding in bindings:
                    await self._subscribe(sock, binding, account)
            except Exception as exc:
                errors.append(exc)
                scope.cancel()

        async with anyio.create_task_group() as group:
            for _ in range(self._window):
                group.start_soon(worker, group.cancel_scope)
        if errors:
            raise errors[0]

    async def _subscribe(self, sock: _Socket, binding: str, account: str) -> None:
        while True:
            reply = await sock.request(
                "subscribe",
                {"account_id": account, "binding": binding},
                self._reply_timeout,
            )
            if reply.get("status") != "error":
                return
            # Kazoo's refusal names the token it refused: never let it reach a message or a log.
            errors = scrub(reply_errors(reply), self._secrets(sock))
            refusal = classify_refusal(errors)
            if refusal == "rate_limited":
                self.stats.rate_limited += 1
                sock.bucket.refused()
                continue
            if refusal == "token":
                raise _TokenRefused(errors)
            raise SubscriptionError(binding, account, errors)

    def _secrets(self, sock: _Socket) -> tuple[str, ...]:
        """What a server's error text must not show: the socket's token and every credential
        of the client (as REST errors are scrubbed)."""
        return (sock.token, *known_secrets(self._core.engine))

    async def _keepalive(self, sock: _Socket) -> None:
        """Ping on the period; a ping without any reply within ``ping_timeout`` ends the
        socket (the server ignores protocol-level pings)."""
        while True:
            await self._clock.sleep(self._ping_interval)
            await sock.request("ping", {}, self._ping_timeout)
            self.stats.pings += 1

    # -- the reader ------------------------------------------------------------------------

    async def _read(self, sock: _Socket) -> None:
        # An adapter returns buffered frames without suspending, so each wake-up drains every
        # frame that has arrived; with ``receive_into`` it also calls the handler itself.
        on_text = self._frame_handler(sock)
        ws = sock.ws
        try:
            if isinstance(ws, SupportsReceiveLoop):
                await ws.receive_into(on_text)
            receive = ws.receive_text
            while True:
                on_text(await receive())
        except Exception as exc:
            sock.fail(exc if isinstance(exc, TransportError) else _Lost(f"reader: {exc!r}"))

    def _frame_handler(self, sock: _Socket) -> Callable[[str], None]:
        """The hot path, once per frame: decode, type, buffer (anything else: ``_dispatch``).

        An event of a binding seen before is decoded by schema when msgspec is installed
        (``_schema``: the envelope and the typed fields only); any other frame, or one that
        does not fit the schema, is decoded whole.
        """
        assert self._buffer is not None
        _json.loads(b"0")  # binds the decoder chosen (orjson when installed) before copying it
        loads = _json.loads
        put = self._buffer.put
        dispatch = self._dispatch
        class_of = _CLASS_OF  # bindings seen, by class
        decode = schema_decoder()

        def on_text(text: str) -> None:
            if decode is not None:
                try:
                    envelope = decode(text)
                except Exception:  # any frame the schema does not take is decoded whole below
                    envelope = None
                if envelope is not None and envelope.action == "event":
                    binding = envelope.subscribed_key
                    name = envelope.name
                    fields = envelope.data
                    if type(binding) is str and type(name) is str and name and fields is not None:
                        cls = class_of.get(binding)
                        if cls is not None:
                            put(new_event_of_frame(cls, envelope, fields, name, binding, text))
                            return
            try:
                try:
                    message = loads(text)
                except ValueError:  # what orjson refuses but JSON allows (1e400)
                    message = decode_lenient(text)
            except (ValueError, RecursionError):
                self._skip(f"undecodable frame ({len(text)} characters)")
                return
            if type(message) is dict and message.get("action") == "event":
                binding = message.get("subscribed_key")
                name = message.get("name")
                if type(binding) is str and type(name) is str and name:
                    cls = class_of.get(binding)
                    if cls is not None:  # parse_event's fast path, inlined
                        put(new_event(cls, message, name, binding))
                        return
                try:
                    event = parse_event(message)
                except Exception as exc:  # a shape no server sends: count it, keep reading
                    self._skip(f"unreadable event: {type(exc).__name__}")
                    return
                put(event)
            else:
                try:
                    dispatch(sock, message)
                except Exception as exc:  # a frame must never cost the socket: count it
                    self._skip(f"unreadable frame: {type(exc).__name__}")

        return on_text

    def _skip(self, why: str) -> None:
        self.stats.skipped += 1
        self.stats.last_skipped = why

    def _dispatch(self, sock: _Socket, message: Any) -> None:
        """A decoded frame that is not an ``event`` action (or not a JSON object)."""
        assert self._buffer is not None
        if not isinstance(message, dict):
            self._skip(f"a frame that is not a JSON object ({type(message).__name__})")
            return
        action = message.get("action")
        if action is None and "name" in message and "args" in message:
            try:
                event = parse_event(message)
            except Exception as exc:  # a shape no server sends: count it, keep reading
                self._skip(f"unreadable event: {type(exc).__name__}")
                return
            self._buffer.put(event)
            return
        if action == "reply":
            request_id = message.get("request_id")  # ours are strings: nothing else is looked up
            slot = sock.pending.get(request_id) if type(request_id) is str else None
            if slot is None:
                self._skip("a reply to no request of this stream")
                return
            slot.message = message
            slot.done.set()
            return
        shown = repr(action) if type(action) is str else f"of type {type(action).__name__}"
        self._skip(f"unknown action {shown}")


class _Subscribed(Exception):
    """The socket had been subscribed before it ended (``error``: why it ended)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def schema_decoder() -> Callable[[str], Any] | None:
    """msgspec's decoder of event frames (``_schema.decode``) when msgspec is installed (the
    ``fast`` extra), else ``None`` (every frame is decoded whole)."""
    try:
        from . import _schema
    except ImportError:
        return None
    return _schema.decode


def _log(message: str, *args: Any) -> None:
    """Log at INFO on the package logger (reasons and URLs only: never a token)."""
    from .._logging import logger

    logger.info(message, *args)


def _retry_after(headers: Mapping[str, str]) -> float:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else 0.0
    except ValueError:
        return 0.0
