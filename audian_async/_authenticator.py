"""The client's credentials: one holder, refreshed single-flight, owned by the client.

The exchange (``PUT /api_auth``, a login) runs as a task of its own, not inside the call that
happened to need it first: a caller that is cancelled (a web handler's timeout) does not
abandon an exchange others wait on. Every waiter still honours its own deadline and its own
cancellation, and gets its own exception object when the exchange it waited on failed; a
failure is never handed to calls that did not wait on that exchange.

Refresh rules:

* Before a token's ``exp`` (``refresh_margin`` before it, at most half its lifetime) a refresh
  starts in the background while calls keep using the still-valid token.
* Once a token has expired (by ``exp``), calls wait for the new one.
* A 401 retires the token it answered (compare-and-retire: only the first 401 for a token
  starts an exchange; later ones wait for, and replay with, its result).
* A refresh that cannot give a later ``exp`` is not attempted early: a server whose ``exp`` is
  in whole seconds (Kazoo) issues a 1-second token again in the same second, so such tokens
  are used to their end and renewed once per lifetime.
"""

from __future__ import annotations

import math
from typing import Any

from ._auth import AuthSend, AuthStrategy, jwt_claims
from ._clock import SYSTEM_CLOCK, Clock, run_until
from ._credentials import Credentials
from ._errors import APITimeoutError, AudianError, ClientClosedError

__all__ = ["Authenticator", "fresh_copy"]


def fresh_copy(exc: BaseException) -> BaseException:
    """A new exception object like ``exc`` (same class and attributes), chained to it.

    Raising one exception object in many tasks tangles their tracebacks; each waiter raises its
    own copy instead.
    """
    if not isinstance(exc, AudianError):
        copy: BaseException = AudianError(f"credential exchange failed: {type(exc).__name__}")
    else:
        copy = type(exc).__new__(type(exc))
        copy.__dict__.update(exc.__dict__)
        copy.args = exc.args
    copy.__cause__ = exc
    return copy


class _Exchange:
    """One run of the strategy's ``login``; waiters wait on ``done``, ``scope`` stops it."""

    __slots__ = ("done", "error", "previous", "result", "scope", "task")

    def __init__(self, previous: Credentials | None) -> None:
        import anyio

        self.done = anyio.Event()
        self.previous = previous
        self.result: Credentials | None = None
        self.error: BaseException | None = None
        self.scope = anyio.CancelScope()  # cancellable before its task first runs
        self.task: Any = None  # the asyncio task running it (a strong reference)


class Authenticator:
    """Holds the current credentials and refreshes them single-flight.

    Shared by a client and all its views (``for_account``, ``with_options``).
    """

    def __init__(self, strategy: AuthStrategy, clock: Clock = SYSTEM_CLOCK) -> None:
        self.strategy = strategy
        self._clock = clock
        self._credentials: Credentials | None = None
        self._exchange: _Exchange | None = None
        self._send: AuthSend | None = None
        self._proactive_after = -math.inf  # a failed background refresh is not retried at once
        self._lifetime_seen = 0.0  # the longest validity seen on a token without `iat`
        self._closed = False
        self.logins = 0  # exchanges that succeeded
        self.exchanges = 0  # exchanges started

    @property
    def current(self) -> Credentials | None:
        """The credentials in use, if any."""
        return self._credentials

    def fresh(self) -> Credentials | None:
        """Usable credentials at hand (no await: the hot path), else ``None``.

        Starts a background refresh when one is due; the current token stays in use until it
        expires.
        """
        cred = self._credentials
        if cred is None:
            return None
        refresh_at = cred.refresh_at
        if refresh_at is None and cred.expires_at is None:
            return cred
        now = self._clock.now()
        if cred.expires_at is not None and now >= cred.expires_at:
            return None
        if (
            refresh_at is not None
            and now >= refresh_at
            and self._exchange is None
            and now >= self._proactive_after
            and self._send is not None
            and not self._closed
        ):
            self._start(self._send)
        return cred

    async def get(self, send: AuthSend, deadline: float | None = None) -> Credentials:
        """Valid credentials, waiting for an exchange (starting one if none runs) when needed.

        ``deadline`` is a ``clock.now()`` value: the wait ends there with
        :class:`~audian_async.APITimeoutError`, while the exchange goes on for others.
        """
        if self._send is None:
            self._send = send
        cred = self.fresh()
        if cred is not None:
            return cred
        if self._closed:
            raise ClientClosedError("this client is closed")
        exchange = self._exchange or self._start(send)
        return await self._wait(exchange, deadline)

    def retire(self, failed: Credentials) -> None:
        """A 401 answered ``failed``: drop it if still current, and start an exchange."""
        if self._credentials is failed:
            self._credentials = None
            if self._exchange is None and self._send is not None and not self._closed:
                self._start(self._send)

    async def aclose(self) -> None:
        """Stop a running exchange and wait for it to end (the client is closing): its
        waiters get `ClientClosedError`, and nothing of it outlives
        the client."""
        self._closed = True
        exchange = self._exchange
        if exchange is not None:
            import anyio

            exchange.scope.cancel()
            with anyio.CancelScope(shield=True):  # cancelled, it ends at its next await
                await exchange.done.wait()

    # -- internals -------------------------------------------------------------------------

    def _start(self, send: AuthSend) -> _Exchange:
        exchange = _Exchange(self._credentials)
        self._exchange = exchange
        self.exchanges += 1
        exchange.task = _spawn(self._run, exchange, send)
        return exchange

    async def _run(self, exchange: _Exchange, send: AuthSend) -> None:
        try:
            with exchange.scope:
                if not self._closed:  # closed before this task first ran: send nothing
                    started = self._clock.now()
                    cred = await self.strategy.login(send)
                    self._schedule(cred, exchange.previous, started)
                    exchange.result = cred
                    self._credentials = cred
                    self.logins += 1
            if exchange.result is None:
                exchange.error = ClientClosedError(
                    "the client was closed during the credential exchange"
                )
        except Exception as exc:
            exchange.error = exc
            if self._closed:  # it failed because the client closed under it
                exchange.error = ClientClosedError(
                    "the client was closed during the credential exchange"
                )
                exchange.error.__cause__ = exc
            previous = exchange.previous
            if previous is not None and self._credentials is previous:
                # A background refresh failed while the token still works: try again later.
                self._proactive_after = self._clock.now() + 1.0
        except BaseException:
            exchange.error = AudianError("the credential exchange was cancelled")
            raise
        finally:
            if self._exchange is exchange:
                self._exchange = None
            exchange.done.set()

    async def _wait(self, exchange: _Exchange, deadline: float | None) -> Credentials:
        if not exchange.done.is_set():
            # The deadline is a time of the client's clock: waited on through that clock.
            await run_until(self._clock, deadline, exchange.done.wait)
            if not exchange.done.is_set():
                raise APITimeoutError(
                    "the call's deadline ran out while waiting for credentials "
                    "(the exchange goes on for other calls)"
                )
        if exchange.error is not None:
            raise fresh_copy(exchange.error)
        assert exchange.result is not None
        return exchange.result

    def _schedule(
        self, cred: Credentials, previous: Credentials | None, started: float | None = None
    ) -> None:
        """Set ``expires_at``, ``earliest_expiry`` and ``refresh_at`` from the token's ``exp``
        (and ``iat``); ``started``: when the exchange that obtained it was sent."""
        if not cred.refreshable or cred.jwt is None:
            return
        claims = jwt_claims(cred.jwt) or {}
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return
        now, wall = self._clock.now(), self._clock.wall()
        iat = claims.get("iat")
        if isinstance(iat, int | float) and not isinstance(iat, bool) and exp > iat:
            # Measured from `iat`: immune to clock skew with the server. The token was minted
            # after the exchange was sent, up to a second after a whole-second `iat`.
            lifetime = remaining = float(exp - iat)
            earliest = (now if started is None else started) + lifetime
            if float(iat).is_integer():
                earliest -= 1.0
        else:
            remaining = float(exp) - wall
            if remaining <= 0:
                return  # our clock disagrees with the server's: rely on the 401 path
            self._lifetime_seen = max(self._lifetime_seen, remaining)
            lifetime = self._lifetime_seen
            earliest = now + remaining
        cred.exp = float(exp)
        cred.expires_at = now + remaining
        cred.earliest_expiry = earliest
        refresh_at = cred.expires_at - min(cred.refresh_margin, lifetime / 2)
        if float(exp).is_integer() and not isinstance(iat, int | float):
            # Whole-second `exp`: a token issued before the last whole second of this one
            # would expire no later, so refreshing earlier gains nothing.
            refresh_at = max(refresh_at, cred.expires_at - (math.ceil(lifetime) - 1))
        if previous is not None and previous.exp is not None and cred.exp <= previous.exp:
            refresh_at = cred.expires_at  # an early refresh gave no later expiry
        cred.refresh_at = refresh_at if refresh_at < cred.expires_at else None


def _spawn(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` as a task of the event loop, owned by no caller: the authenticator
    keeps it (the asyncio task returned), stops it and waits for it on close.

    Under trio, where every task needs a nursery and the client has none of its own, it is
    a system task; ``fn`` lets no exception out (see ``_run``)."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio (anyio's other backend)
        import trio

        trio.lowlevel.spawn_system_task(fn, *args)
        return None
    return loop.create_task(fn(*args))
