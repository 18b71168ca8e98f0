"""The request path every generated method goes through.

One call: fill the path (account id, percent-encoded segments), validate and encode the body,
then attempts: wait at the shared 429 gate, attach credentials, send through the transport,
and decide from the outcome whether to return, refresh credentials and replay, back off and
retry, or raise a typed error. Every attempt stays inside the call's deadline.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import quote, urlencode

import anyio
import attrs

from . import _json
from ._auth import Authenticator, Credentials
from ._errors import (
    APIConnectionError,
    APIOutcomeUnknownError,
    APIOutcomeUnknownTimeoutError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AudianError,
    build_status_error,
)
from ._logging import logger
from ._model import Model
from ._pagination import AsyncPaginator
from ._response import APIResponse
from ._retry import RetryPolicy, parse_retry_after
from ._throttle import SharedThrottle
from ._transport import AsyncTransport, RawResponse, StreamingResponse, TransportError
from ._types import NOT_GIVEN, NotGiven, Operation, Timeout
from ._validate import validate_body

__all__ = ["Core", "RequestOptions"]

_DEBUG = 10


@attrs.frozen(slots=True)
class RequestOptions:
    """Per-call overrides accepted by every generated method."""

    extra_headers: Mapping[str, str] | None = None
    extra_query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    timeout: float | Timeout | NotGiven | None = NOT_GIVEN
    deadline: float | NotGiven | None = NOT_GIVEN
    validate: bool | None = None  # None: the client's setting; False skips body validation


@attrs.define(slots=True)
class Shared:
    """State shared by a client and all its views."""

    transport: AsyncTransport
    authenticator: Authenticator | None
    throttle: SharedThrottle
    envelope: Literal["kazoo", "plain"]
    validate: bool = True
    closed: bool = False


def _encode_query(query: Mapping[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None or value is NOT_GIVEN:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            pairs.extend((key, _scalar(v)) for v in value)
        else:
            pairs.append((key, _scalar(value)))
    return urlencode(pairs, quote_via=quote)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return str(value.value)
    return str(value)


# The characters quote(safe="") leaves as they are: a segment made only of them needs no work.
_UNRESERVED_ONLY = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def encode_segment(value: Any) -> str:
    """Percent-encode one path segment completely (``+`` becomes ``%2B``, ``/`` ``%2F``)."""
    if type(value) is str and _UNRESERVED_ONLY(value) and value != "." and value != "..":
        return value  # the common case (ids): what quote() would return
    text = _scalar(value)
    if not text:
        raise ValueError("a path parameter must not be empty")
    if text in (".", ".."):
        raise ValueError("a path parameter must not be '.' or '..'")
    return quote(text, safe="")


def _decode(content: bytes, headers: Mapping[str, str]) -> Any:
    if not content:
        return None
    ctype = headers.get("content-type", "")
    if "json" in ctype or content[:1] in (b"{", b"["):
        try:
            return _json.loads(content)
        except ValueError:
            pass
    return content.decode("utf-8", "replace")


# Values prepare_body() returns as they are (exact types: enum members are subclasses).
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})


def prepare_body(value: Any) -> Any:
    """Models to dicts, ``NOT_GIVEN`` entries dropped, containers walked (JSON-ready output)."""
    if type(value) in _JSON_LEAVES:
        return value
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {
            k: v if type(v) in _JSON_LEAVES else prepare_body(v)
            for k, v in value.items()
            if v is not NOT_GIVEN
        }
    if isinstance(value, list | tuple):
        return [prepare_body(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str | int):
        return value.value  # enum members
    return value


class Core:
    """Sends operations for one client view (an API base URL, account and option set)."""

    def __init__(
        self,
        *,
        base_url: str,
        shared: Shared,
        retry: RetryPolicy,
        timeout: Timeout,
        deadline: float | None,
        default_headers: Mapping[str, str],
        account_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shared = shared
        self.retry = retry
        self.timeout = timeout
        self.deadline = deadline
        self.default_headers = dict(default_headers)
        self.account_id = account_id
        self._longest = _longest_phase(timeout)
        self._base_headers: tuple[tuple[str, str], ...] = (
            ("Accept", "application/json"),
            *self.default_headers.items(),
        )

    def derive(self, **changes: Any) -> Core:
        """A view sharing transport, credentials and throttle, with some settings changed."""
        kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "shared": self.shared,
            "retry": self.retry,
            "timeout": self.timeout,
            "deadline": self.deadline,
            "default_headers": self.default_headers,
            "account_id": self.account_id,
        }
        kwargs.update(changes)
        return Core(**kwargs)

    # -- credentials -------------------------------------------------------------------

    async def _auth_send(
        self, method: str, path: str, payload: Any
    ) -> tuple[int, Mapping[str, str], Any]:
        """Send a credential exchange (no auth header), retrying only transient failures."""
        content = _json.dumps(payload)
        headers = (*self._base_headers, ("Content-Type", "application/json"))
        deadline = None if self.deadline is None else time.monotonic() + self.deadline
        retries = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise APITimeoutError(
                    f"authentication did not finish within {self.deadline}s",
                    method=method,
                    url=path,
                )
            await self.shared.throttle.wait()
            try:
                raw = await self.shared.transport.send(
                    method, self.base_url + path, headers, content, self.timeout.capped(remaining)
                )
            except TransportError as exc:
                if retries < self.retry.max_retries:
                    await self._sleep_before_retry(retries, None, deadline, method, path, str(exc))
                    retries += 1
                    continue
                raise _connection_error(exc, method, path, retry_safe=True) from exc
            if raw.status in (429, 502, 503, 504) and retries < self.retry.max_retries:
                advised = parse_retry_after(raw.headers)
                if raw.status == 429:
                    self.shared.throttle.rate_limited(advised)
                await self._sleep_before_retry(
                    retries, advised, deadline, method, path, f"status {raw.status}"
                )
                retries += 1
                continue
            return raw.status, raw.headers, _decode(raw.content, raw.headers)

    async def credentials(self) -> Credentials | None:
        """Current credentials, obtaining them first if needed (single flight)."""
        auth = self.shared.authenticator
        if auth is None:
            return None
        return await auth.get(self._auth_send)

    async def resolve_account_id(self) -> str:
        """The account this view acts on: ``for_account``'s, else the credentials'."""
        if self.account_id is not None:
            return self.account_id
        cred = await self.credentials()
        if cred is None or cred.account_id is None:
            raise AudianError(
                "no account id: authenticate with an API key, or pass account_id with auth_token"
            )
        return cred.account_id

    def _current_account_id(self) -> str | None:
        """The credentials' account id when they are at hand and fresh (no await), else None."""
        auth = self.shared.authenticator
        cred = auth.fresh() if auth is not None else None
        return cred.account_id if cred is not None else None

    # -- building requests -------------------------------------------------------------

    async def _url(
        self, op: Operation, path_params: Mapping[str, Any], query: Mapping[str, Any] | None
    ) -> str:
        path = op.path
        if "{" in path:
            values = {name: encode_segment(value) for name, value in path_params.items()}
            if "{account_id}" in path and "account_id" not in values:
                account_id = (
                    self.account_id if self.account_id is not None else self._current_account_id()
                )
                if account_id is None:
                    account_id = await self.resolve_account_id()
                values["account_id"] = encode_segment(account_id)
            path = path.format_map(values)
        url = self.base_url + path
        if query:
            qs = _encode_query(query)
            if qs:
                url = f"{url}?{qs}"
        return url

    def _body(self, op: Operation, body: Any, options: RequestOptions | None) -> bytes | None:
        if body is None and (options is None or options.extra_body is None):
            return None
        data = prepare_body(body) if body is not None else {}
        if options is not None and options.extra_body:
            if not isinstance(data, dict):
                raise TypeError("extra_body needs a JSON object body")
            data = {**data, **prepare_body(options.extra_body)}
        validate = self.shared.validate
        if options is not None and options.validate is not None:
            validate = options.validate
        if validate and op.body_schema is not None:
            schema, registry = op.body_schema["schema"], op.body_schema["registry"]
            validate_body(data, schema, registry, partial=op.body_mode == "patch")
        if op.wrap_body:
            data = {"data": data}
        return _json.dumps(data)

    # -- sending -----------------------------------------------------------------------

    async def request(
        self,
        op: Operation,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        options: RequestOptions | None = None,
        raw: bool = False,
        structure: bool = True,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """Send ``op`` and return its typed result (or an :class:`APIResponse` with ``raw``).

        ``content`` with ``content_type`` sends a body encoded by the caller (a multipart
        upload) instead of the JSON ``body``.
        """
        if self.shared.closed:
            raise AudianError("this client is closed")
        if options is not None and options.extra_query:
            query = {**(query or {}), **options.extra_query}
        if content is None:
            content = self._body(op, body, options)
            content_type = "application/json"
        elif content_type is None:
            raise TypeError("content needs a content_type")
        url = await self._url(op, path_params or {}, query)
        headers = list(self._base_headers)
        if content is not None and content_type is not None:
            headers.append(("Content-Type", content_type))
        headers.append(("X-Request-ID", secrets.token_hex(16)))
        if options is not None and options.extra_headers:
            headers.extend(options.extra_headers.items())
        raw_response, retries, elapsed = await self._send(op, url, headers, content, options)
        decoded = _decode(raw_response.content, raw_response.headers)
        if op.error_in_body and _reports_failure(decoded):
            # Documented for Astradial call control: a failure answered with a 2xx status.
            raise build_status_error(
                raw_response.status,
                decoded,
                headers=raw_response.headers,
                method=op.method,
                url=op.path,
                retries_taken=retries,
            )
        enveloped = op.envelope == "kazoo" and isinstance(decoded, Mapping) and "data" in decoded
        data = decoded["data"] if enveloped else decoded
        result = data
        if structure and op.response is not None and data is not None:
            try:
                result = (_structure or _load_structure())(data, op.response)
            except Exception as exc:
                raise APIResponseValidationError(
                    f"{op.id}: could not read the response as {getattr(op.response, '__name__', op.response)}: {exc}",
                    status_code=raw_response.status,
                    method=op.method,
                    url=op.path,
                ) from exc
        elif structure and op.response is None:
            result = None
        if raw:
            envelope = (
                {k: v for k, v in decoded.items() if k not in ("data", "auth_token")}
                if enveloped
                else {}
            )
            return APIResponse(
                result,
                raw_response.status,
                raw_response.headers,
                envelope,
                raw_response.raw,
                retries,
                elapsed,
            )
        return result

    async def _send(
        self,
        op: Operation,
        url: str,
        headers: list[tuple[str, str]],
        content: bytes | None,
        options: RequestOptions | None,
    ) -> tuple[RawResponse, int, float]:
        timeout = self.timeout
        deadline_s = self.deadline
        if options is not None:
            if options.timeout is not NOT_GIVEN:
                timeout = Timeout.coerce(options.timeout)
            if options.deadline is not NOT_GIVEN:
                deadline_s = options.deadline  # type: ignore[assignment]
        started = time.monotonic()
        deadline = None if deadline_s is None else started + deadline_s
        transport = self.shared.transport
        throttle = self.shared.throttle
        auth = self.shared.authenticator if op.auth else None
        retries = 0
        replayed_after_401 = False
        debug = logger.isEnabledFor(_DEBUG)
        longest = self._longest if timeout is self.timeout else _longest_phase(timeout)
        while True:
            now = time.monotonic()
            remaining = None if deadline is None else deadline - now
            if remaining is not None and remaining <= 0:
                raise APITimeoutError(
                    f"{op.method} {op.path}: deadline of {deadline_s}s exceeded after {retries} retries",
                    method=op.method,
                    url=op.path,
                )
            if throttle.paused_until:
                await throttle.wait()
            # auth.fresh() answers without an await on the hot path
            cred = None if auth is None else auth.fresh() or await auth.get(self._auth_send)
            attempt_headers = headers if cred is None else [*headers, *cred.headers]
            # capped() returns the same timeouts while the budget left exceeds them all
            attempt_timeout = (
                timeout if remaining is None or remaining >= longest else timeout.capped(remaining)
            )
            sent_at = time.monotonic()
            try:
                response = await transport.send(
                    op.method, url, attempt_headers, content, attempt_timeout
                )
            except TransportError as exc:
                if debug:
                    logger.debug(
                        "%s %s failed after %.1f ms (attempt %d): %s",
                        op.method,
                        _path_of(url),
                        (time.monotonic() - sent_at) * 1000,
                        retries + 1,
                        exc,
                    )
                if exc.sent and not op.retry_safe:
                    cls = APIOutcomeUnknownTimeoutError if exc.timeout else APIOutcomeUnknownError
                    raise cls(
                        f"{op.method} {op.path}: {exc}; the request may have been applied: its outcome is unknown "
                        "(not retried automatically, to avoid a duplicate)",
                        method=op.method,
                        url=op.path,
                    ) from exc
                if retries < self.retry.max_retries and self._budget_allows(deadline, 0.0):
                    await self._sleep_before_retry(
                        retries, None, deadline, op.method, op.path, str(exc)
                    )
                    retries += 1
                    continue
                raise _connection_error(exc, op.method, op.path, retry_safe=op.retry_safe) from exc
            status = response.status
            if debug:
                logger.debug(
                    "%s %s -> %d in %.1f ms (attempt %d, request_id=%s)",
                    op.method,
                    _path_of(url),
                    status,
                    (time.monotonic() - sent_at) * 1000,
                    retries + 1,
                    response.headers.get("x-request-id"),
                )
            if status < 400:
                if cred is not None and not cred.proven:
                    cred.proven = True
                throttle.succeeded()
                return response, retries, time.monotonic() - started
            if status == 401 and auth is not None and cred is not None:
                if cred.refreshable and cred.proven and not replayed_after_401:
                    # The token worked before: it expired. Refresh once (single flight) and replay.
                    auth.invalidate(cred)
                    replayed_after_401 = True
                    continue
                raise self._status_error(op, response, retries, auth_failure=True)
            advised = parse_retry_after(response.headers) if status in (429, 503) else None
            if status == 429:
                throttle.rate_limited(advised)
            if (
                RetryPolicy.status_retryable(status, retry_safe=op.retry_safe)
                and retries < self.retry.max_retries
            ):
                wait = advised if advised is not None else self.retry.backoff(retries)
                if advised is not None and advised > self.retry.max_retry_after:
                    raise self._status_error(op, response, retries)
                if self._budget_allows(deadline, wait):
                    if debug:
                        logger.debug(
                            "%s %s: retrying in %.2f s after status %d",
                            op.method,
                            op.path,
                            wait,
                            status,
                        )
                    await anyio.sleep(wait)
                    retries += 1
                    continue
            raise self._status_error(op, response, retries)

    @staticmethod
    def _budget_allows(deadline: float | None, wait: float) -> bool:
        return deadline is None or time.monotonic() + wait < deadline

    async def _sleep_before_retry(
        self,
        retries: int,
        advised: float | None,
        deadline: float | None,
        method: str,
        path: str,
        why: str,
    ) -> None:
        wait = advised if advised is not None else self.retry.backoff(retries)
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        if logger.isEnabledFor(_DEBUG):
            logger.debug("%s %s: retrying in %.2f s after %s", method, path, wait, why)
        await anyio.sleep(wait)

    def _status_error(
        self, op: Operation, response: RawResponse, retries: int, *, auth_failure: bool = False
    ) -> APIStatusError:
        body = _decode(response.content, response.headers)
        auth = self.shared.authenticator
        if auth is not None and isinstance(body, Mapping | list | str):
            from ._auth import _scrub

            body = _scrub(body, auth.strategy.secrets())
        return build_status_error(
            response.status,
            body,
            headers=response.headers,
            method=op.method,
            url=op.path,
            retries_taken=retries,
            auth_failure=auth_failure,
        )

    # -- pagination and streaming ------------------------------------------------------

    def paginate(
        self,
        op: Operation,
        *,
        item_type: Any,
        path_params: Mapping[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        filters: Mapping[str, Any] | None = None,
        page_size: int | NotGiven | None = NOT_GIVEN,
        paginate: bool = True,
        max_items: int | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncPaginator[Any]:
        """A lazy :class:`AsyncPaginator` over ``op``'s listing."""
        q = {k: v for k, v in (query or {}).items() if v is not NOT_GIVEN}
        if filters:
            for key, value in filters.items():
                q[
                    key
                    if key.startswith(("filter_", "has_", "key_", "created_", "modified_"))
                    else f"filter_{key}"
                ] = value
        if options is not None and options.extra_query:
            q.update(options.extra_query)
            options = attrs.evolve(options, extra_query=None)
        size = None if isinstance(page_size, NotGiven) else page_size
        if size is not None and (not isinstance(size, int) or size < 1):
            from ._errors import ValidationError

            raise ValidationError("page_size", "minimum", "must be a whole number of at least 1")
        return AsyncPaginator(
            self,
            op,
            path_params=path_params or {},
            query=q,
            item_type=item_type,
            page_size=size,
            paginate=paginate,
            max_items=max_items,
            options=options,
        )

    @asynccontextmanager
    async def stream(
        self,
        op: Operation,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncIterator[StreamingResponse]:
        """Send a download request; the body is read incrementally inside the context.

        Connection failures before the response starts are retried like any GET; a 401 with
        credentials that worked before refreshes them once.
        """
        if options is not None and options.extra_query:
            query = {**(query or {}), **options.extra_query}
        url = await self._url(op, path_params or {}, query)
        headers: list[tuple[str, str]] = [("Accept", "*/*"), *self.default_headers.items()]
        if options is not None and options.extra_headers:
            headers.extend(options.extra_headers.items())
        timeout = self.timeout
        if options is not None and options.timeout is not NOT_GIVEN:
            timeout = Timeout.coerce(options.timeout)
        auth = self.shared.authenticator if op.auth else None
        retries = 0
        replayed = False
        streaming = False  # the body was handed out: a failure now is not retried
        while True:
            cred = await auth.get(self._auth_send) if auth is not None else None
            attempt_headers: Sequence[tuple[str, str]] = (
                headers if cred is None else [*headers, *cred.headers]
            )
            try:
                async with self.shared.transport.stream(
                    op.method, url, attempt_headers, None, timeout
                ) as resp:
                    if resp.status >= 400:
                        content = await resp.read()
                        error_raw = RawResponse(resp.status, resp.headers, content)
                        if (
                            resp.status == 401
                            and cred is not None
                            and cred.refreshable
                            and cred.proven
                            and not replayed
                        ):
                            auth.invalidate(cred)  # type: ignore[union-attr]
                            replayed = True
                            continue
                        if (
                            RetryPolicy.status_retryable(resp.status, retry_safe=True)
                            and retries < self.retry.max_retries
                        ):
                            retries += 1
                            await anyio.sleep(self.retry.backoff(retries - 1))
                            continue
                        raise self._status_error(
                            op, error_raw, retries, auth_failure=resp.status == 401
                        )
                    if cred is not None:
                        cred.proven = True
                    streaming = True
                    yield resp
                    return
            except TransportError as exc:
                if not streaming and retries < self.retry.max_retries:
                    retries += 1
                    await anyio.sleep(self.retry.backoff(retries - 1))
                    continue
                raise _connection_error(exc, op.method, op.path, retry_safe=True) from exc


# _convert (cattrs) is imported on the first typed result, not with the client.
_structure: Callable[[Any, Any], Any] | None = None


def _load_structure() -> Callable[[Any, Any], Any]:
    global _structure
    from ._convert import structure

    _structure = structure
    return structure


def _longest_phase(timeout: Timeout) -> float:
    """The longest phase timeout; infinite when a phase is unlimited (capping changes it)."""
    connect, read, write, pool = timeout.connect, timeout.read, timeout.write, timeout.pool
    if connect is None or read is None or write is None or pool is None:
        return float("inf")
    return max(connect, read, write, pool)


def _reports_failure(body: Any) -> bool:
    """A body that says the call failed: ``{"status": "error"}`` or ``{"success": false}``."""
    return isinstance(body, Mapping) and (
        body.get("status") == "error" or body.get("success") is False
    )


def _path_of(url: str) -> str:
    scheme_end = url.find("//")
    start = url.find("/", scheme_end + 2 if scheme_end >= 0 else 0)
    end = url.find("?", start)
    return url[start:] if end < 0 else url[start:end]


def _connection_error(
    exc: TransportError, method: str, path: str, *, retry_safe: bool
) -> APIConnectionError:
    cls = APITimeoutError if exc.timeout else APIConnectionError
    return cls(f"{method} {path}: {exc}", method=method, url=path)
