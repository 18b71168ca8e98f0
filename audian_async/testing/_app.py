"""Assembly of the simulator: the [`Simulator`][audian_async.testing.Simulator] ASGI object and the routers it mounts.

The outer layer (``Simulator.__call__``) is plain ASGI: it buffers the request body, logs the
request, applies faults (which must act below any framework to really drop connections),
runs the mounted Starlette routers, checks the response against the spec, then sends it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import _astradial, _audian
from ._audian._families import family_kinds
from ._audian._kinds import KINDS
from ._audian._resources import add_api_key, create_account, create_doc
from ._bucket import Buckets
from ._config import DEFAULT_API_KEY, SimulatorConfig
from ._contract import Contract
from ._envelope import dumps, error_body
from ._events import CONTROL_PREFIX, Events, build_control_app
from ._faults import ConnectionDropped, Delay, DropAfter, DropBefore, FaultController, Status
from ._inspect import RecordedRequest, RequestLog, StateView, kind_name
from ._jwt import TokenIssuer
from ._seeding import Seeding
from ._sim_clock import Clock
from ._sim_core import Core
from ._store import Store

__all__ = ["ROUTERS", "Simulator"]

logger = logging.getLogger("audian_async.testing")

RouterFactory = Callable[[Core], ASGIApp]

#: The routers mounted on every simulator: (path prefix, factory taking the shared Core).
#: To add the Astradial API, append one line: ``("/api/v1", _astradial.build_app)``.
ROUTERS: list[tuple[str, RouterFactory]] = [
    ("/v2", _audian.build_app),
    ("/api/v1", _astradial.build_app),
]

_PHRASES = {
    429: ("too_many_requests", "too many requests"),
    500: ("internal_server_error", "internal server error"),
    502: ("bad_gateway", "bad gateway"),
    503: ("service_unavailable", "service unavailable"),
    504: ("gateway_timeout", "gateway timeout"),
}


def _default_master_id() -> str:
    return hashlib.md5(b"audian-async simulator master account").hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _response_header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drop_connection(receive: Receive) -> None:
    """Close the client connection without a response (or raise in-process)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise ConnectionDropped(
            "simulated connection drop: server closed the connection without a response"
        )
    transport.close()
    # Let the server notice the disconnect so it neither logs an error nor writes a 500.
    with anyio.move_on_after(2):
        while (await receive())["type"] != "http.disconnect":
            pass


class Simulator(Seeding):
    """A stateful simulator of the Audian API, usable as an ASGI application.

    Inspect it from tests through `state`, `requests`, `faults`,
    [`api_keys`][audian_async.testing.Simulator.api_keys] and `contract_violations`. `events`
    is Kazoo's realtime event socket, served on every websocket path (see
    [`Events`][audian_async.testing.Events]).
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.config.validate()
        master_id = self.config.master_account_id or _default_master_id()
        clock = Clock()
        self._core = Core(
            config=self.config,
            clock=clock,
            store=Store(clock, self.config.seed),
            tokens=TokenIssuer(clock),
            buckets=Buckets(self.config, clock),
            node=Core.node_name(self.config.seed),
            master_account_id=master_id,
        )
        #: Fault injection rules (see `audian_async.testing._faults`).
        self.faults = FaultController()
        #: Every request served: method, path, status (None when dropped).
        self.requests = RequestLog()
        #: Readable descriptions of responses that did not match the OpenAPI spec.
        self.contract_violations: list[str] = []
        self.request_violations: list[str] = []
        #: Snapshots of the stored state.
        self.state = StateView(lambda: self._core.store)
        self._contract = (
            Contract.load(self.config.spec_path) if self.config.check_contract else None
        )
        #: Kazoo's event socket (served on every websocket path) and its event sources.
        self.events = Events(self._core)
        self._core.events = self.events
        self._events_control = build_control_app(self.events)
        self._bootstrap()
        self._app = Starlette(
            routes=[
                *_astradial.root_routes(self._core),  # /health, beside /api/v1
                *(Mount(prefix, app=factory(self._core)) for prefix, factory in ROUTERS),
            ]
        )

    # -- inspection and control ---------------------------------------------------------------

    @property
    def contract(self) -> Contract | None:
        """The loaded OpenAPI documents (None when no spec was found or checks are off)."""
        return self._contract

    @property
    def core(self) -> Core:
        """Shared state handed to routers (for router authors)."""
        return self._core

    @property
    def clock(self) -> Clock:
        """The simulated clock; ``sim.clock.advance(3600)`` expires tokens and refills buckets."""
        return self._core.clock

    @property
    def master_account_id(self) -> str:
        """Id of the pre-created master account."""
        return self._core.master_account_id

    @property
    def default_api_key(self) -> str:
        """The first configured API key (by default `DEFAULT_API_KEY`)."""
        return self.config.api_keys[0] if self.config.api_keys else DEFAULT_API_KEY

    @property
    def astradial_api_key(self) -> str:
        """The Astradial ``X-API-Key`` of the simulated main organisation (served at ``/api/v1``)."""
        return self.config.astradial_api_keys[0]

    @property
    def api_keys(self) -> dict[str, str]:
        """Every valid API key mapped to its account id (a copy)."""
        with self._core.store.lock:
            return dict(self._core.store.api_keys)

    def api_key_for(self, account_id: str) -> str:
        """An API key of the account (one is created if it has none)."""
        store = self._core.store
        with store.lock:
            for key, owner in store.api_keys.items():
                if owner == account_id:
                    return key
            if account_id not in store.accounts:
                raise KeyError(account_id)
            return add_api_key(store, account_id)

    def expire_all_tokens(self) -> None:
        """Invalidate every token issued so far (later requests with them get 401)."""
        self._core.tokens.rotate()

    def advance_clock(self, seconds: float) -> None:
        """Move simulated time forward (token expiry, bucket refill, timestamps)."""
        self._core.clock.advance(seconds)

    def mint_token(self, account_id: str | None = None) -> str:
        """A valid token for an account (the master by default), without an HTTP round trip."""
        account_id = account_id or self.master_account_id
        return self._core.tokens.mint(
            account_id, "0" * 32, "cb_api_auth", self.config.token_lifetime
        )

    def create_account(self, name: str, parent_id: str | None = None, **fields: Any) -> str:
        """Create an account directly (child of the master by default); returns its id."""
        store = self._core.store
        with store.lock:
            doc = create_account(
                store, self.config, parent_id or self.master_account_id, {"name": name, **fields}
            )
            return doc.id

    def create(self, collection: str, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create a user/device/callflow directly (validated as over HTTP); returns the doc.

        ``collection`` is ``"users"``, ``"devices"`` or ``"callflows"`` (singular works too).
        """
        kinds = {**KINDS, **family_kinds()}
        kind = kinds.get(collection) or next(
            (k for k in kinds.values() if k.name == kind_name(collection)), None
        )
        if kind is None:
            raise KeyError(collection)
        store = self._core.store
        with store.lock:
            doc = create_doc(store, kind, account_id, data)
            return doc.render()

    def reset(self) -> None:
        """Back to the initial state: fresh store, full buckets, no faults, empty logs."""
        self._core.store = Store(self._core.clock, self.config.seed)
        self._core.buckets.reset()
        self._core.clock.reset()
        self.faults.clear()
        self.requests.clear()
        self.contract_violations.clear()
        self.request_violations.clear()
        self.events.reset()
        self._bootstrap()

    def _bootstrap(self) -> None:
        core = self._core
        create_account(
            core.store,
            self.config,
            None,
            {"name": self.config.master_account_name},
            core.master_account_id,
        )
        for key in self.config.api_keys:
            add_api_key(core.store, core.master_account_id, key)

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            await self.events.serve(scope, receive, send)
            return
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(f"{CONTROL_PREFIX}/"):
            await self._events_control(scope, receive, send)
            return
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        request_id = _header(scope, b"x-request-id")
        body = await _read_body(receive)
        fault = self.faults.pick(method, path)
        label = fault.label if fault is not None else None

        def record(status: int | None, used_id: str | None = request_id) -> None:
            self.requests.append(RecordedRequest(method, path, query, status, used_id, label))

        if isinstance(fault, Status):
            sent_id = await self._send_fault(scope, send, fault, request_id)
            record(fault.code, sent_id)
            return
        if isinstance(fault, DropBefore):
            record(None)
            await _drop_connection(receive)
            return
        if isinstance(fault, Delay) and not fault.after:
            await self._core.clock.sleep(fault.seconds)

        refused = self._check_request(scope, method, path, query, body)
        if refused is not None:
            status, headers, content = refused
        else:
            status, headers, content = await self._run_inner(scope, receive, body)
        status, headers, content = self._check_contract(method, path, status, headers, content)
        if isinstance(fault, DropAfter):
            record(None)
            await _drop_connection(receive)
            return
        if isinstance(fault, Delay) and fault.after:
            await self._core.clock.sleep(fault.seconds)
        record(status, _response_header(headers, b"x-request-id") or request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _run_inner(
        self, scope: Scope, receive: Receive, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, replay, capture)
        return int(start.get("status", 500)), list(start.get("headers", [])), b"".join(chunks)

    def _check_request(
        self, scope: Scope, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Record request violations; with ``strict_requests`` refuse the request loudly."""
        contract = self._contract
        if contract is None or not self.config.check_requests:
            return None
        content_type = _header(scope, b"content-type") or ""
        problems = contract.check_request(method, path, query, content_type, body)
        if not problems:
            return None
        self.request_violations.extend(problems)
        for problem in problems:
            logger.warning("request contract violation: %s", problem)
        if not self.config.strict_requests:
            return None
        content = dumps(
            {
                "status": "error",
                "error": "500",
                "message": "simulator contract violation",
                "data": {"message": _violation_summary(problems), "detail": problems},
            }
        )
        return (
            500,
            [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
            content,
        )

    def _check_contract(
        self,
        method: str,
        path: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        contract = self._contract
        if contract is None or not self.config.check_contract:
            return status, headers, content
        content_type = _response_header(headers, b"content-type") or ""
        problems = contract.check(method, path, status, content_type, content)
        if not problems:
            return status, headers, content
        self.contract_violations.extend(problems)
        for problem in problems:
            logger.warning("contract violation: %s", problem)
        if not self.config.strict_contract:
            return status, headers, content
        body = dumps(
            {
                "status": "error",
                "error": "500",
                "message": "simulator contract violation",
                "data": {"message": _violation_summary(problems), "detail": problems},
            }
        )
        request_id = _response_header(headers, b"x-request-id") or ""
        new_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if request_id:
            new_headers.append((b"x-request-id", request_id.encode()))
        return 500, new_headers, body

    async def _send_fault(
        self, scope: Scope, send: Send, fault: Status, request_id: str | None
    ) -> str:
        meta = self._core.meta(request_id)
        client = scope.get("client") or ("unknown", 0)
        meta.remaining = self._core.buckets.peek(("", str(client[0])))
        headers: list[tuple[bytes, bytes]] = [(b"x-request-id", meta.request_id.encode())]
        if fault.retry_after is not None:
            headers.append((b"retry-after", _seconds(fault.retry_after).encode()))
        if fault.html:
            title = f"{fault.code} {_PHRASES.get(fault.code, ('error', 'error'))[1].title()}"
            content = (
                f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            ).encode()
            headers.append((b"content-type", b"text/html"))
        else:
            message, text = _PHRASES.get(fault.code, ("error", "simulated failure"))
            content = dumps(error_body(meta, fault.code, message, {"message": text}))
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": fault.code, "headers": headers})
        await send({"type": "http.response.body", "body": content, "more_body": False})
        return meta.request_id

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _violation_summary(problems: list[str]) -> str:
    """The answer's message for contract violations: the causes themselves (first three)."""
    shown = "; ".join(problems[:3])
    return shown + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
