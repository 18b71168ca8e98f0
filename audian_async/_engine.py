"""The one attempt loop every request goes through.

JSON calls, listing pages, the credential exchange, streams and downloads, on both APIs and
every transport, are sent by :meth:`Engine.send` (or :meth:`Engine.open_stream`). One loop
owns, once:

* the call's **deadline** (every wait, for credentials, the rate limiter or a backoff, is
  charged to it, and no wait outlasts it);
* **credentials** (attach; after a 401 on refreshable credentials, retire them single-flight
  and replay: once, and again while each 401 answers a token that may have expired);
* the **rate limiter** shared by the client (:mod:`._limiter`);
* the **retry policy** (:mod:`._policy`: what is safe to repeat, backoff, ``Retry-After``);
* **logging**: one debug line per attempt, credentials never shown.

It returns the final answer (whatever its status) or raises when there is none: a connection
failure, a timeout, an unknown outcome, a deadline. Turning an answer into a result or a typed
error is the caller's job (:mod:`._core`).
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from ._authenticator import Authenticator
from ._classify import decode_body
from ._clock import SYSTEM_CLOCK, Clock
from ._credentials import Credentials
from ._errors import (
    APIConnectionError,
    APIOutcomeUnknownError,
    APIOutcomeUnknownTimeoutError,
    APITimeoutError,
    RateLimitError,
)
from ._limiter import RateLimiter, Throttled, Ticket
from ._policy import RetryPolicy, parse_retry_after
from ._request_info import path_of, shown_path
from ._transport import AsyncTransport, RawResponse, StreamingResponse, TransportError
from ._types import Timeout

__all__ = ["Answer", "Call", "Engine"]

_DEBUG = 10
# A 401 on refreshable credentials is replayed with new ones once per call; a 401 that answers
# a token the server may already hold expired (a request slower than its token's last second)
# is explained and replayed again, up to this many replays in all (the deadline bounds them).
MAX_REPLAYS = 5
# A call may meet an empty bucket (429 without Retry-After) this many times before further
# 429s count against its retries; its deadline bounds the waits in any case.
MAX_LIMITER_WAITS = 20
# Per-account limiters are looked over once this many are held (then at twice those kept).
SWEEP_BUCKETS = 1024


def _remaining_tokens(body: Any) -> int | None:
    if type(body) is dict:
        tokens = body.get("tokens")
        if type(tokens) is dict:
            remaining = tokens.get("remaining")
            if type(remaining) is int:
                return remaining
    return None


class Call:
    """One request as the engine sends it (built by the core)."""

    __slots__ = (
        "auth",
        "bucket",
        "content",
        "deadline",
        "headers",
        "method",
        "path",
        "policy",
        "retry_safe",
        "timeout",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],  # a list is extended in place with credentials
        content: bytes | None,
        path: str,
        retry_safe: bool,
        auth: bool,
        policy: RetryPolicy,
        timeout: Timeout,
        deadline: float | None,
        bucket: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content
        self.path = path
        self.retry_safe = retry_safe
        self.auth = auth
        self.policy = policy
        self.timeout = timeout
        self.deadline = deadline
        self.bucket = bucket  # the server's rate-limit bucket: the account in the URL


class Answer:
    """The final answer to a call: status, headers, body, and how it was obtained."""

    __slots__ = (
        "auth_used",
        "body",
        "content",
        "headers",
        "raw",
        "retries",
        "started",
        "status",
        "stream",
        "stream_cm",
    )

    def __init__(
        self,
        raw: RawResponse | StreamingResponse,
        body: Any,
        retries: int,
        auth_used: bool = False,
        started: float = 0.0,
    ) -> None:
        self.status = raw.status
        self.headers = raw.headers
        self.raw = raw.raw
        self.body = body
        self.retries = retries
        self.content = raw.content if isinstance(raw, RawResponse) else b""
        self.stream: StreamingResponse | None = None
        self.stream_cm: AbstractAsyncContextManager[StreamingResponse] | None = None
        self.auth_used = auth_used
        self.started = started


def _expired(cred: Credentials, now: float) -> bool:
    """Whether the server may hold ``cred`` expired at ``now`` (client clock)."""
    return cred.earliest_expiry is not None and now >= cred.earliest_expiry


def _origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL (user info dropped; the port made explicit)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if not netloc.rpartition("]")[2].count(":"):
        netloc += ":443" if scheme == "https" else ":80"
    return f"{scheme}://{netloc}"


class Engine:
    """Sends calls for one client and all its views (see the module docstring)."""

    def __init__(
        self,
        transport: AsyncTransport,
        authenticator: Authenticator | None,
        limiter: RateLimiter,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.transport = transport
        self.authenticator = authenticator
        self.limiter = limiter
        self._buckets: dict[str, RateLimiter] = {}
        # Limiters let go while idle, kept as long as something (a bulk run) still holds them.
        self._let_go: weakref.WeakValueDictionary[str, RateLimiter] = weakref.WeakValueDictionary()
        self._answers_seen: dict[str, int] = {}  # answers per limiter at the last sweep
        self._sweep_at = SWEEP_BUCKETS
        self.clock = clock
        self.exchange_send: Any = None  # set by the client: sends credential exchanges
        # Credentials a 401 retired lately: still secrets an error must not show.
        self.retired: deque[Credentials] = deque(maxlen=8)
        from ._logging import logger  # logging loads with the first client, not the import

        self._logger = logger

    async def open_stream(self, call: Call) -> Answer:
        """Like :meth:`send`, but a 2xx body is left unread: ``answer.stream`` reads it, and
        ``answer.stream_cm`` must be exited when done (error bodies are read and closed)."""
        return await self.send(call, stream=True)

    async def send(self, call: Call, *, stream: bool = False) -> Answer:
        """Send ``call`` until it has a final answer; see the module docstring."""
        clock = self.clock
        policy = call.policy
        auth = self.authenticator if call.auth else None
        bucket = call.bucket
        limiter = (
            self.limiter
            if bucket is None
            else (self._buckets.get(bucket) or self.limiter_for(bucket))
        )
        transport = self.transport
        started = now = clock.now()
        deadline = None if call.deadline is None else started + call.deadline
        timeout = call.timeout
        longest = timeout.longest if deadline is not None else math.inf
        retries = 0
        replays = 0
        limiter_waits = 0
        headers = call.headers if type(call.headers) is list else list(call.headers)
        base_headers = len(headers)
        logger = self._logger
        debug = logger.isEnabledFor(_DEBUG)
        while True:
            if retries or replays or limiter_waits:
                now = clock.now()  # a later attempt (the first one starts at `started`)
            remaining = None if deadline is None else deadline - now
            if remaining is not None and remaining <= 0:
                raise APITimeoutError(
                    f"{call.method} {shown_path(call.url, call.path)}: deadline of {call.deadline}s exceeded "
                    f"after {retries} retries",
                    method=call.method,
                    url=call.path,
                )
            cred = None
            if auth is not None:
                cred = auth.fresh()
                if cred is None:
                    cred = await auth.get(self.exchange_send, deadline)
            ticket = limiter.try_acquire()
            if ticket is None:
                ticket = await self._acquire(limiter, call, deadline, retries)
            if cred is not None:
                # The call's own header list, with this attempt's credentials at its end.
                del headers[base_headers:]
                headers.extend(cred.headers)
            if remaining is not None and remaining < longest:
                remaining = deadline - clock.now()  # type: ignore[operator]
                attempt_timeout = timeout.capped(max(remaining, 0.001))
            else:
                attempt_timeout = timeout
            sent_at = clock.now() if debug else 0.0
            cm: AbstractAsyncContextManager[StreamingResponse] | None = None
            try:
                if stream:
                    response, cm = await self._open(call, headers, attempt_timeout)
                else:
                    response = await transport.send(
                        call.method, call.url, headers, call.content, attempt_timeout
                    )
            except TransportError as exc:
                limiter.on_failure(ticket)
                if debug:
                    logger.debug(
                        "%s %s failed after %.1f ms (attempt %d): %s",
                        call.method,
                        path_of(call.url),
                        (clock.now() - sent_at) * 1000,
                        retries + 1,
                        exc,
                    )
                if not policy.failure_retryable(sent=exc.sent, retry_safe=call.retry_safe):
                    cls = APIOutcomeUnknownTimeoutError if exc.timeout else APIOutcomeUnknownError
                    raise cls(
                        f"{call.method} {shown_path(call.url, call.path)}: {exc}; the request may have been applied: "
                        "its outcome is unknown (not retried automatically, to avoid a duplicate)",
                        method=call.method,
                        url=call.path,
                    ) from exc
                if retries < policy.max_retries:
                    wait = policy.backoff(retries)
                    if deadline is None or clock.now() + wait < deadline:
                        await self._backoff(call, wait, f"{exc}", debug)
                        retries += 1
                        continue
                cls2 = APITimeoutError if exc.timeout else APIConnectionError
                raise cls2(
                    f"{call.method} {shown_path(call.url, call.path)} ({_origin_of(call.url)}): {exc}",
                    method=call.method,
                    url=call.path,
                ) from exc
            except BaseException:
                limiter.on_failure(ticket)
                raise
            status = response.status
            body: Any = None
            if not stream or status >= 400:  # a streamed error answer was read: decode it too
                body = decode_body(response.content, response.headers)  # type: ignore[union-attr]
            advised = (
                parse_retry_after(response.headers, now=clock.wall())
                if status in (429, 503)
                else None
            )
            limiter.on_answer(
                ticket,
                status,
                _remaining_tokens(body) if type(body) is dict and "tokens" in body else None,
                advised if status == 429 else None,
            )
            if debug:
                logger.debug(
                    "%s %s -> %d in %.1f ms (attempt %d, request_id=%s)",
                    call.method,
                    path_of(call.url),
                    status,
                    (clock.now() - sent_at) * 1000,
                    retries + 1,
                    response.headers.get("x-request-id")
                    or (body.get("request_id") if type(body) is dict else None),
                )
            if status < 400:
                answer = Answer(response, body, retries, cred is not None, started)
                if stream:
                    answer.stream = response  # type: ignore[assignment]
                    answer.stream_cm = cm
                return answer
            if (
                status == 401
                and cred is not None
                and cred.refreshable
                and auth is not None
                and (replays == 0 or (replays < MAX_REPLAYS and _expired(cred, clock.now())))
            ):
                auth.retire(cred)  # the first 401 for a token starts the exchange
                self.retired.append(cred)
                replays += 1
                continue
            if (
                status == 429
                and advised is None
                and policy.max_retries > 0
                and limiter_waits < MAX_LIMITER_WAITS
            ):
                # An empty bucket (Kazoo sends no Retry-After): the limiter now holds every
                # request until a probe finds the refill. Waiting for it is pacing, bounded by
                # the deadline, not one of the call's retries.
                limiter_waits += 1
                continue
            if retries < policy.max_retries and policy.status_retryable(
                status, retry_safe=call.retry_safe
            ):
                if advised is not None and advised > policy.max_retry_after:
                    pass  # the caller raises RateLimitError / the status error with retry_after
                elif status == 429:
                    # The limiter owns the wait (the Retry-After hold, or probing for a refill).
                    retries += 1
                    continue
                else:
                    wait = advised if advised is not None else policy.backoff(retries)
                    if deadline is None or clock.now() + wait < deadline:
                        await self._backoff(call, wait, f"status {status}", debug)
                        retries += 1
                        continue
            return Answer(response, body, retries, cred is not None, started)

    def limiter_for(self, bucket: str | None) -> RateLimiter:
        """The limiter of one server bucket: Kazoo keeps one per account named in the URL
        (``None``: requests naming no account)."""
        if bucket is None:
            return self.limiter
        limiter = self._buckets.get(bucket)
        if limiter is None:
            limiter = self._let_go.pop(bucket, None) or RateLimiter(self.clock)
            self._buckets[bucket] = limiter
            if len(self._buckets) > self._sweep_at:
                self._sweep()
        return limiter

    def _sweep(self) -> None:
        """Let go of the limiters of accounts idle since the last sweep (nothing in flight or
        waiting, bucket not believed empty, no request answered while at least
        ``SWEEP_BUCKETS`` other accounts were used): 200,000 accounts used once each must not
        keep 200,000 limiters. A limiter still held elsewhere (a running bulk job) is taken
        back, state and all, the next time its account is used."""
        seen = self._answers_seen
        kept: dict[str, RateLimiter] = {}
        counts: dict[str, int] = {}
        for key, limiter in self._buckets.items():
            answers = limiter.answers
            if seen.get(key) == answers and limiter.idle:
                self._let_go[key] = limiter
            else:
                kept[key] = limiter
                counts[key] = answers
        self._buckets = kept
        self._answers_seen = counts
        self._sweep_at = max(SWEEP_BUCKETS, 2 * len(kept))

    async def _acquire(
        self, limiter: RateLimiter, call: Call, deadline: float | None, retries: int
    ) -> Ticket:
        try:
            return await limiter.acquire(deadline, call.policy.max_retry_after)
        except Throttled as exc:
            what = (
                "the server asked to wait (Retry-After)"
                if exc.advised
                else "the server's rate-limit bucket is empty"
            )
            error = RateLimitError(
                f"429: {call.method} {shown_path(call.url, call.path)}: rate limited: {what}; another {exc.wait:.2f}s "
                "would exceed this call's deadline or max_retry_after (not sent)",
                status_code=429,
                method=call.method,
                url=call.path,
                retries_taken=retries,
            )
            error.retry_after = exc.wait
            raise error from None

    async def _open(
        self, call: Call, headers: Sequence[tuple[str, str]], timeout: Timeout
    ) -> tuple[RawResponse | StreamingResponse, AbstractAsyncContextManager[StreamingResponse]]:
        cm = self.transport.stream(call.method, call.url, headers, call.content, timeout)
        response = await cm.__aenter__()
        if response.status < 400:
            return response, cm
        try:
            content = await response.read()
        finally:
            import anyio

            with anyio.CancelScope(shield=True):  # a cancelled caller still closes it
                await cm.__aexit__(None, None, None)
        return RawResponse(response.status, response.headers, content, response.raw), cm

    async def _backoff(self, call: Call, wait: float, why: str, debug: bool) -> None:
        if debug:
            self._logger.debug(
                "%s %s: retrying in %.2f s after %s", call.method, path_of(call.url), wait, why
            )
        await self.clock.sleep(wait)
