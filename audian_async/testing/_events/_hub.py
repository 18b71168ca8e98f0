"""``sim.events``: the simulator's event socket and the sources of its events."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio.lowlevel

from . import _bindings, _payloads
from ._session import Session, SocketInfo

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from .._sim_clock import Clock
    from .._sim_core import Core
    from .._store import Doc

__all__ = ["BURST_SLICE", "Events"]

#: Most events a burst publishes before letting the serving event loop run (at most half the
#: messages a socket may queue, so that only a reader that does not keep up loses events).
BURST_SLICE = 20

#: How a REST write names the change (``created``) and how the event names it.
_ACTIONS = {"created": "doc_created", "edited": "doc_edited", "deleted": "doc_deleted"}


class Events:
    """Kazoo's realtime event socket ("blackhole"), served on every path of the simulator.

    Connect a websocket to any path (``ws://HOST:PORT/v2/websocket`` by convention) of a
    simulator served over loopback (`audian_async.testing.serve`). The socket follows
    blackhole's code: the token is checked on the first message that succeeds, one binding per
    ``subscribe``, a message bucket per socket, events with normalised keys. Settings are plain
    attributes, read live:

    * ``bucket_size`` (100) and ``bucket_refill_per_sec`` (10): the per-socket message bucket;
    * ``max_queued`` (50): messages waiting for a slow reader before events are dropped;
    * ``send_timeout`` (5 s): a write blocked that long kills the socket (no close frame);
    * ``idle_timeout`` (3600 s): a socket the client sent no message on for that long is
      closed (code 1000; protocol pings do not count here, the ASGI server answers them);
    * ``max_connections_per_ip`` (None): over it an upgrade is refused with 429;
    * ``pong`` (False): answer ``ping`` with ``{"response": "pong"}`` (Kazoo's optional
      ``bh_ping`` module) instead of ``{}``;
    * ``superduper_admins``: accounts allowed ``account_id: "*"`` (the master account).

    Times are read on the simulator's clock (``sim.clock``: freeze and advance it in tests).
    Events come from REST writes (``object.*``), from `publish_call` (``call.*``), from
    `publish_object` and `publish` (anything else), and from the HTTP control
    endpoint ``/_simulator/events`` (see `audian_async.testing._events._control`).
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self.bucket_size = 100
        self.bucket_refill_per_sec = 10.0
        self.max_queued = 50
        self.send_timeout = 5.0
        self.idle_timeout = 3600.0
        self.max_connections_per_ip: int | None = None
        self.pong = False
        self.superduper_admins: set[str] = {core.master_account_id}
        #: Real seconds between two checks of a socket's timeouts.
        self.poll_interval = 0.05
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._dropped_events = 0
        self._published = 0

    # -- inspection -----------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The simulator's clock (shared with the REST API)."""
        return self._core.clock

    @property
    def open_sockets(self) -> int:
        """How many event sockets are open now."""
        with self._lock:
            return len(self._sessions)

    @property
    def sockets(self) -> list[SocketInfo]:
        """A snapshot of every open socket (account, bindings, queue, drops)."""
        with self._lock:
            sessions = list(self._sessions.values())
        return [session.info() for session in sessions]

    @property
    def dropped_events(self) -> int:
        """Events dropped so far because a socket's reader fell behind (all sockets)."""
        with self._lock:
            return self._dropped_events

    @property
    def published(self) -> int:
        """Events published so far (each counted once, however many sockets got it)."""
        with self._lock:
            return self._published

    def count_drop(self) -> None:
        """Record one event dropped for a slow socket."""
        with self._lock:
            self._dropped_events += 1

    # -- control --------------------------------------------------------------------------------

    def drop_sockets(self) -> int:
        """Abort every open socket WITHOUT a close frame (to test reconnect handling).

        Returns how many were open. They stop receiving events at once; their connections are
        aborted by the serving event loop right after.
        """
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.kill()
        return len(sessions)

    def reset(self) -> None:
        """Drop every socket and forget the counters (``sim.reset()``)."""
        self.drop_sockets()
        with self._lock:
            self._dropped_events = 0
            self._published = 0

    # -- event sources --------------------------------------------------------------------------

    def publish_call(
        self,
        event_name: str,
        *,
        account_id: str | None = None,
        call_id: str | None = None,
        **fields: Any,
    ) -> str:
        """Publish a call event (``CHANNEL_CREATE``, ``CHANNEL_ANSWER``, ``CHANNEL_DESTROY`` ...).

        ``account_id`` defaults to the master account; ``call_id`` to a fresh one. ``fields``
        override the event's data, keys in either spelling (``caller_id_name`` or
        ``Caller-ID-Name``); None removes a key. Returns the call id. Raises ValueError for an
        event blackhole does not relay and KeyError for an unknown account.
        """
        if event_name not in _bindings.CALL_EVENTS:
            raise ValueError(
                f"event_name must be one of {', '.join(_bindings.CALL_EVENTS)}: {event_name!r}"
            )
        account_id = account_id or self._core.master_account_id
        store = self._core.store
        with store.lock:
            account = store.accounts.get(account_id)
            if account is None:
                raise KeyError(account_id)
            name, realm = account.data.get("name"), account.data.get("realm")
        call_id = call_id or uuid.uuid4().hex
        data = _payloads.call_event(
            event_name,
            call_id=call_id,
            account_id=account_id,
            account_name=None if name is None else str(name),
            realm=None if realm is None else str(realm),
            timestamp=self._core.clock.gregorian(),
            fields=fields,
        )
        routing_key = f"call.{account_id}.{event_name}.{_bindings.encode_segment(call_id)}"
        self._deliver(routing_key, data, event_name)
        return call_id

    def publish_object(
        self,
        action: str,
        doc_type: str,
        *,
        account_id: str | None = None,
        doc_id: str | None = None,
        rev: str | None = None,
    ) -> str:
        """Publish a document change (``doc_created``/``doc_edited``/``doc_deleted``) of any type.

        REST writes publish their own; this covers types the simulator does not store
        (``media``, ``faxbox`` ...). Returns the document id (a fresh one by default).
        """
        if action not in _bindings.DOC_ACTIONS:
            raise ValueError(
                f"action must be one of {', '.join(_bindings.DOC_ACTIONS)}: {action!r}"
            )
        account_id = account_id or self._core.master_account_id
        doc_id = doc_id or uuid.uuid4().hex
        now = self._core.clock.gregorian()
        self._publish_doc(
            action, doc_type, doc_id, account_id, rev or f"1-{uuid.uuid4().hex}", now, now
        )
        return doc_id

    def doc_changed(self, change: str, doc: Doc) -> None:
        """A REST write stored, edited or deleted ``doc`` (``change``: created/edited/deleted)."""
        doc_type = doc.kind  # the simulator's kinds are Kazoo's pvt_type values
        account_id = doc.id if doc.kind == "account" else doc.account_id
        self._publish_doc(
            _ACTIONS[change], doc_type, doc.id, account_id, doc.revision, doc.created, doc.modified
        )

    def _publish_doc(
        self,
        action: str,
        doc_type: str,
        doc_id: str,
        account_id: str,
        rev: str,
        created: int,
        modified: int,
    ) -> None:
        if doc_type in _bindings.MODB_TYPES:
            database = _bindings.modb(account_id, self._core.clock.time())
        else:
            database = _bindings.account_db(account_id)
        data = _payloads.object_event(
            action,
            doc_type=doc_type,
            doc_id=doc_id,
            database=database,
            account_id=account_id,
            rev=rev,
            created=created,
            modified=modified,
        )
        routing_key = f"{action}.{database}.{doc_type}.{_bindings.encode_segment(doc_id)}"
        self._deliver(routing_key, data, action)

    def publish(self, routing_key: str, data: dict[str, Any], *, name: str | None = None) -> int:
        """Deliver an event with a Kazoo routing key to every matching subscription.

        ``data`` is normalised the way blackhole does (keys lower-cased, ``-`` to ``_``, nulls
        dropped); ``name`` defaults to its ``event_name``. Returns how many (socket, binding)
        pairs matched, dropped ones included.
        """
        return self._deliver(routing_key, _payloads.normalize(data), name)

    def burst_slice(self) -> int:
        """How many events a burst publishes before letting the serving loop run."""
        return max(1, min(BURST_SLICE, self.max_queued // 2))

    async def publish_burst(
        self, routing_key: str, data: dict[str, Any], count: int, *, name: str | None = None
    ) -> int:
        """Publish the same event ``count`` times, fast (each socket gets one encoded text).

        A source for benchmarks: it lets the serving event loop run every few events, so a
        reader that keeps up loses nothing. Call it on the loop serving the sockets (the
        control endpoint does). Returns how many (socket, binding) pairs matched in all.
        """
        body = _payloads.normalize(data)
        event_name = name if name is not None else body.get("event_name")
        with self._lock:
            self._published += count
            sessions = list(self._sessions.values())
        targets = [
            (
                session,
                json.dumps(_event(pair, event_name, routing_key, body), separators=(",", ":")),
            )
            for session in sessions
            for pair in session.matching(routing_key)
        ]
        slice_size = self.burst_slice()
        for sent in range(count):
            if sent and sent % slice_size == 0:
                await anyio.lowlevel.checkpoint()
            for session, text in targets:
                session.offer_event(text)
        return len(targets) * count

    def _deliver(self, routing_key: str, body: dict[str, Any], name: str | None) -> int:
        event_name = name if name is not None else body.get("event_name")
        with self._lock:
            self._published += 1
            sessions = list(self._sessions.values())
        matched = 0
        for session in sessions:
            for pair in session.matching(routing_key):
                matched += 1
                session.offer_event(_event(pair, event_name, routing_key, body))
        return matched

    # -- what sessions ask of the simulator ------------------------------------------------------

    def verify_token(self, token: str) -> str | None:
        """The account of a valid, unexpired token (None otherwise)."""
        claims = self._core.tokens.verify(token)
        return None if claims is None else claims.account_id

    def is_superduper_admin(self, account_id: str) -> bool:
        """May this account subscribe with ``account_id: "*"``?"""
        return account_id in self.superduper_admins

    def is_within(self, account_id: str, ancestor_id: str) -> bool:
        """Is ``account_id`` an existing account, ``ancestor_id`` itself or below it?"""
        store = self._core.store
        with store.lock:
            return account_id in store.accounts and store.is_within(account_id, ancestor_id)

    # -- ASGI -----------------------------------------------------------------------------------

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one websocket connection (any path), as blackhole's listener does."""
        client = scope.get("client") or ("unknown", 0)
        ip, port = str(client[0]), client[1]
        if scope.get("subprotocols") or _has_header(scope, b"sec-websocket-protocol"):
            await _refuse(scope, send, 400)
            return
        session = Session(self, f"{ip}:{port}", ip, _aborter(receive))
        with self._lock:
            cap = self.max_connections_per_ip
            same_ip = sum(1 for s in self._sessions.values() if s.ip == ip)
            allowed = cap is None or same_ip < cap
            if allowed:
                self._sessions[session.session_id] = session
        if not allowed:
            await _refuse(scope, send, 429)
            return
        try:
            message = await receive()
            if message["type"] != "websocket.connect":
                return
            await send({"type": "websocket.accept"})
            await session.run(receive, send)
        finally:
            with self._lock:
                if self._sessions.get(session.session_id) is session:
                    del self._sessions[session.session_id]


def _event(
    pair: tuple[str, str], name: Any, routing_key: str, body: dict[str, Any]
) -> dict[str, Any]:
    """An event message as blackhole_data_emitter builds it."""
    return {
        "action": "event",
        "subscribed_key": pair[0],
        "subscription_key": pair[1],
        "name": name,
        "routing_key": routing_key,
        "data": body,
    }


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key.lower() == name for key, _ in scope.get("headers", []))


async def _refuse(scope: Scope, send: Send, status: int) -> None:
    """Answer the upgrade with a plain HTTP status (ASGI's websocket denial response)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-length", b"0")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"", "more_body": False})
    else:  # a server without the extension answers 403
        await send({"type": "websocket.close", "code": 1008})


def _aborter(receive: Receive) -> Callable[[], None]:
    """A function that aborts the connection under ``receive`` (uvicorn's protocol object)."""
    protocol = getattr(receive, "__self__", None)

    def abort() -> None:
        transport = getattr(protocol, "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            transport.abort()

    return abort
