"""The clients: the core composed with the generated resources of each API."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias, cast

from ._auth import AuthStrategy, KazooApiKeyAuth, StaticTokenAuth
from ._authenticator import Authenticator
from ._clock import SYSTEM_CLOCK, Clock
from ._core import Core
from ._engine import Engine
from ._errors import AudianError, ValidationError
from ._generated.audian import Resources as AudianResources
from ._limiter import RateLimiter
from ._policy import RetryPolicy
from ._resource import ResourceHost
from ._shared import Shared
from ._transport import AsyncTransport
from ._transport_httpx import HttpxTransport, is_httpx_client, is_httpx_transport
from ._types import NOT_GIVEN, AsyncCloseable, NotGiven, Timeout

if TYPE_CHECKING:
    import httpx

    from .events import Events

__all__ = ["AsyncAudian", "AuthInfo", "HttpClientArg", "TransportArg"]

#: What ``transport=`` accepts: a name (``"httpx"``, ``"aiohttp"``; a ``str`` read from
#: configuration is checked when the client is built), an httpx transport
#: (``httpx.ASGITransport``, ``httpx.MockTransport`` ...), or an object with our transport's
#: ``send``/``stream``/``aclose`` (``AiohttpTransport(...)``, your own).
TransportArg: TypeAlias = (
    'Literal["httpx", "aiohttp"] | str | httpx.AsyncBaseTransport | AsyncTransport'
)
#: What ``http_client=`` accepts: an ``httpx.AsyncClient`` you own (and close).
HttpClientArg: TypeAlias = "httpx.AsyncClient"

VERSION = "0.1.0"
USER_AGENT = f"audian-async/{VERSION} python/{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"
DEFAULT_AUDIAN_BASE_URL = "https://api.audian.com:8443/v2"
DEFAULT_DEADLINE = 120.0
DEFAULT_TIMEOUT = Timeout()


class AuthInfo:
    """Who the credentials act as."""

    __slots__ = ("account_id", "owner_id")

    def __init__(self, account_id: str | None, owner_id: str | None) -> None:
        self.account_id = account_id
        self.owner_id = owner_id

    def __repr__(self) -> str:
        return f"AuthInfo(account_id={self.account_id!r}, owner_id={self.owner_id!r})"


def build_transport(
    http_client: HttpClientArg | None, transport: TransportArg | None
) -> AsyncTransport:
    """The transport for the given injection (an ``httpx.AsyncClient``, a transport, or none)."""
    if http_client is not None and transport is not None:
        raise TypeError("pass either http_client or transport, not both")
    if http_client is not None:
        if not is_httpx_client(http_client):
            raise TypeError(
                f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}"
            )
        return HttpxTransport(client=http_client)
    if transport is None or transport == "httpx":
        return HttpxTransport()
    if transport == "aiohttp":
        from ._transport_aiohttp import AiohttpTransport

        return AiohttpTransport()
    if is_httpx_transport(transport):
        return HttpxTransport(transport=cast("httpx.AsyncBaseTransport", transport))
    if isinstance(transport, AsyncTransport):
        return transport
    what = repr(transport) if isinstance(transport, str) else type(transport).__name__
    raise TypeError(
        'transport must be "httpx", "aiohttp", an httpx.AsyncBaseTransport or an audian_async '
        f"transport (send/stream/aclose), not {what}"
    )


class ClientBase(ResourceHost, AsyncCloseable):
    """Configuration, lifetime and views shared by both clients."""

    _core: Core

    def _setup(
        self,
        *,
        base_url: str,
        strategy: AuthStrategy,
        envelope: Literal["kazoo", "plain"],
        timeout: float | Timeout,
        deadline: float | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        http_client: HttpClientArg | None,
        transport: TransportArg | None,
        validate: bool,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if max_retries is None or isinstance(max_retries, bool):
            raise TypeError("max_retries must be a whole number >= 0 (0 disables retries)")
        clock = clock or SYSTEM_CLOCK
        engine = Engine(
            build_transport(http_client, transport),
            Authenticator(strategy, clock),
            RateLimiter(clock),
            clock,
        )
        shared = Shared(engine, envelope, validate)
        headers = {"User-Agent": USER_AGENT, **(default_headers or {})}
        core = Core(
            base_url=base_url,
            shared=shared,
            retry=RetryPolicy(max_retries=max_retries),
            timeout=Timeout.coerce(timeout),
            deadline=deadline,
            default_headers=headers,
            account_id=account_id,
        )
        # Credential exchanges run with the client's own settings, whichever view needs them.
        engine.exchange_send = core.exchange_send
        ResourceHost.__init__(self, core)

    def _view(self, core: Core) -> Self:
        view = object.__new__(type(self))
        ResourceHost.__init__(view, core)
        return view

    def with_options(
        self,
        *,
        timeout: float | Timeout | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A view with other settings, sharing this client's connections and credentials."""
        changes: dict[str, Any] = {}
        if not isinstance(timeout, NotGiven):
            changes["timeout"] = Timeout.coerce(timeout)
        if not isinstance(deadline, NotGiven):
            changes["deadline"] = deadline
        if not isinstance(max_retries, NotGiven):
            changes["retry"] = self._core.retry.replace(max_retries=max_retries)
        if not isinstance(default_headers, NotGiven):
            changes["default_headers"] = {**self._core.default_headers, **default_headers}
        return self._view(self._core.derive(**changes))

    async def authenticate(self) -> AuthInfo:
        """Obtain credentials now (otherwise they are obtained on the first call)."""
        cred = await self._core.credentials()
        if cred is None:  # pragma: no cover - every client has a strategy
            return AuthInfo(None, None)
        return AuthInfo(cred.account_id, cred.owner_id)

    @property
    def base_url(self) -> str:
        """The API base URL."""
        return self._core.base_url

    @property
    def rate_limiter(self) -> RateLimiter:
        """The client-side rate limiter of this view's account, shared with every other view
        and bulk run on that account (Kazoo keeps one bucket per account)."""
        core = self._core
        account = None
        if core.shared.envelope == "kazoo":
            account = core.account_id or core._current_account_id()
        limiter: RateLimiter = core.engine.limiter_for(account)
        return limiter

    @property
    def is_closed(self) -> bool:
        """True once `aclose()` was called."""
        return self._core.shared.closed

    async def aclose(self) -> None:
        """Close the connections (shared with every view of this client)."""
        if not self._core.shared.closed:
            self._core.shared.closed = True
            engine = self._core.engine
            if engine.authenticator is not None:
                await engine.authenticator.aclose()  # stops the exchange before the transport
            await engine.transport.aclose()


class AsyncAudian(ClientBase, AudianResources):
    """Async client of the Audian API v2 (Kazoo crossbar).

    Example:
        async with AsyncAudian(api_key="...") as audian:
            user = await audian.users.create(first_name="Jane", last_name="Smith")
            async for u in audian.users.list(filters={"first_name": "Jane"}):
                print(u.id)

    Args:
        api_key: the account API key (exchanged for a short-lived token through
            ``PUT /api_auth``, refreshed automatically). Default: ``AUDIAN_API_KEY``.
        auth_token: an existing auth token instead of an API key (never refreshed).
        username: log in as this user instead (``PUT /user_auth``; the SDK sends only the
            hash of ``username:password``). Tokens are refreshed by logging in again.
        password: the user's password (with ``username``).
        account_name: the user's account, by name (with ``username``).
        account_realm: the user's account, by realm (instead of ``account_name``).
        account_id: the account to act on; default: the credentials' account.
        base_url: default ``AUDIAN_BASE_URL`` or ``https://api.audian.com:8443/v2``.
        timeout: per-attempt timeouts (seconds, or a [`Timeout`][audian_async._types.Timeout]).
        deadline: overall budget of one call in seconds, retries and backoff included.
        max_retries: retries after a transient failure (0 disables them).
        default_headers: headers sent with every request.
        http_client: an ``httpx.AsyncClient`` to send through (you close it).
        transport: ``"httpx"`` (the default; respx can mock it; asyncio and trio),
            ``"aiohttp"`` (the ``aiohttp`` extra, asyncio only: far less CPU per request at
            any concurrency, over 10x the throughput of httpx's pool at 256 in flight, see
            bench/RESULTS.md; recommended for bulk jobs), an ``AiohttpTransport(...)`` with
            your own pool settings, an ``httpx.AsyncBaseTransport``, or any audian_async
            transport (``send``/``stream``/``aclose``). The default is not switched to aiohttp
            when it is installed: tests mocking with respx, trio and httpx customisations
            would change behaviour depending on what else happens to be installed.
        validate: check request bodies against the spec before sending (default True).
        refresh_margin: refresh the token this many seconds before it expires (capped at
            half the token's lifetime).
        clock: where the SDK reads time and sleeps (default: the system clocks). Tests can
            pass ``audian_async.testing.LoopClock()`` and run on virtual time.
        events_url: the realtime event socket (default: ``base_url``'s host and port,
            ``/v2/websocket``, ``wss`` for ``https``); see `events`.
    """

    _events_url: str | None = None

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        account_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        account_name: str | None = None,
        account_realm: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        deadline: float | None = DEFAULT_DEADLINE,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: HttpClientArg | None = None,
        transport: TransportArg | None = None,
        validate: bool = True,
        refresh_margin: float = 60.0,
        clock: Clock | None = None,
        events_url: str | None = None,
    ) -> None:
        strategy: AuthStrategy
        if events_url is not None and not events_url.startswith(("ws://", "wss://")):
            raise ValidationError(
                "events_url", "format", f"must be a ws:// or wss:// URL, not {events_url!r}"
            )
        self._events_url = events_url
        if auth_token is not None:
            strategy = StaticTokenAuth(auth_token, account_id)
        elif username is not None or password is not None:
            if not username or password is None:
                raise AudianError("user credentials need both username= and password=")
            from ._auth_user import KazooUserAuth

            strategy = KazooUserAuth(
                username,
                password,
                account_name=account_name,
                account_realm=account_realm,
                refresh_margin=refresh_margin,
            )
        else:
            api_key = api_key if api_key is not None else os.environ.get("AUDIAN_API_KEY")
            if not api_key:
                raise AudianError(
                    "no credentials: pass api_key= (or set AUDIAN_API_KEY), or auth_token= with account_id="
                )
            strategy = KazooApiKeyAuth(api_key, refresh_margin=refresh_margin)
        self._setup(
            base_url=base_url or os.environ.get("AUDIAN_BASE_URL") or DEFAULT_AUDIAN_BASE_URL,
            strategy=strategy,
            envelope="kazoo",
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            transport=transport,
            validate=validate,
            account_id=account_id,
            clock=clock,
        )

    @cached_property
    def events(self) -> Events:
        """Realtime events (the event socket): ``async with audian.events.subscribe(...)``.

        Needs the ``events`` extra on the default transport (``pip install 'audian-async[events]'``;
        ``transport="aiohttp"`` needs nothing more). A `for_account()` view subscribes
        its own account.
        """
        from .events import Events

        return Events(self._core, self._events_url)

    def _view(self, core: Core) -> Self:
        view = super()._view(core)
        view._events_url = self._events_url
        return view

    @property
    def account_id(self) -> str | None:
        """The account this client acts on (known after the first call or `authenticate()`)."""
        if self._core.account_id is not None:
            return self._core.account_id
        auth = self._core.shared.authenticator
        cred = auth.current if auth is not None else None
        return cred.account_id if cred is not None else None

    def for_account(self, account_id: str) -> Self:
        """A view acting on another account (a descendant), sharing connections and credentials."""
        if not account_id:
            raise ValueError("account_id must not be empty")
        return self._view(self._core.derive(account_id=account_id))

    def __repr__(self) -> str:
        return f"AsyncAudian(base_url={self.base_url!r}, account_id={self.account_id!r})"
