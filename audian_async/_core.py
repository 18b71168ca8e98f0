"""The request path every generated method goes through, for one client view.

One call: fill the path (:mod:`._routes`), check and encode the body (:mod:`._body`), hand
the request to the :class:`~audian_async._engine.Engine` (deadline, credentials, rate
limiting, retries), then classify its answer (:mod:`._classify`): a typed result, or one of
our errors. Listings are set up by :mod:`._listing`, downloads read by :mod:`._streaming`.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import _classify
from ._body import encode_body, json_dumps
from ._credentials import Credentials
from ._engine import Call
from ._errors import APIError, AudianError, ClientClosedError
from ._operation import Operation
from ._policy import RetryPolicy
from ._routes import Routes
from ._shared import Shared
from ._transport import StreamingResponse
from ._types import NOT_GIVEN, NotGiven, Timeout

if TYPE_CHECKING:
    from ._pagination import AsyncPaginator
    from ._request_options import RequestOptions
    from ._response import APIResponse

R = TypeVar("R")

__all__ = ["Core"]


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
        self.engine = shared.engine
        self.retry = retry
        self.timeout = timeout
        self.deadline = deadline
        self.default_headers = dict(default_headers)
        self.account_id = account_id
        self._routes = Routes(self.base_url, self._view_account)
        self._base_headers: tuple[tuple[str, str], ...] = (
            ("Accept", "application/json"),
            *self.default_headers.items(),
        )

    def derive(self, **changes: Any) -> Core:
        """A view sharing transport, credentials and limiter, with some settings changed."""
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

    async def exchange_send(self, method: str, path: str, payload: Any) -> tuple[int, Any, Any]:
        """Send a credential exchange (no credentials attached) through the engine.

        It runs with this (the client's) settings, owned by the client: its own deadline,
        the shared limiter, and the one retry policy.
        """
        headers = (*self._base_headers, ("Content-Type", "application/json"))
        call = Call(
            method,
            self.base_url + path,
            headers,
            json_dumps(payload),
            path=path,
            retry_safe=True,
            auth=False,
            policy=self.retry,
            timeout=self.timeout,
            deadline=self.deadline,
        )
        answer = await self.engine.send(call)
        return answer.status, answer.headers, _classify.exchange_body(answer, method, path)

    async def credentials(self) -> Credentials | None:
        """Current credentials, obtaining them first if needed (single flight)."""
        auth = self.engine.authenticator
        if auth is None:
            return None
        deadline = None if self.deadline is None else self.engine.clock.now() + self.deadline
        cred: Credentials = await auth.get(self.engine.exchange_send, deadline)
        return cred

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

    def _view_account(self) -> str | None:
        """The account a URL names when the caller names none: this view's, else the one
        the credentials at hand name (``None``: not known yet)."""
        return self.account_id if self.account_id is not None else self._current_account_id()

    def _current_account_id(self) -> str | None:
        """The account id of the credentials at hand (no await), else None.

        Expired credentials still name their account: the engine renews them before sending,
        and the same key or login names the same account.
        """
        auth = self.engine.authenticator
        cred = auth.current if auth is not None else None
        return cred.account_id if cred is not None else None

    # -- building requests -------------------------------------------------------------

    async def target(
        self,
        op: Operation[Any],
        path_params: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
    ) -> tuple[str, str | None]:
        """The URL of a call of ``op`` and the rate-limit bucket it spends, obtaining the
        credentials first when they name the account."""
        target = self._routes.target(op, path_params, query)
        if target is None:  # the account id comes with the credentials: obtain them first
            await self.resolve_account_id()
            target = self._routes.target(op, path_params, query)
            if target is None:
                raise AudianError("no account id: the credentials name no account")
        return target

    def validating(self, per_call: bool | None) -> bool:
        """Whether to check a request before sending: the call's choice, else the client's."""
        return self.shared.validate if per_call is None else per_call

    def call(
        self,
        op: Operation[Any],
        url: str,
        headers: list[tuple[str, str]],
        content: bytes | None,
        options: RequestOptions | None,
        bucket: str | None = None,
    ) -> Call:
        """The engine's :class:`Call` of ``op`` with this view's settings and the call's
        ``options`` (timeout, deadline, retries) applied."""
        timeout = self.timeout
        deadline = self.deadline
        policy = self.retry
        if options is not None:
            if options.timeout is not NOT_GIVEN:
                timeout = Timeout.coerce(options.timeout)
            if not isinstance(options.deadline, NotGiven):
                deadline = options.deadline
            if not isinstance(options.max_retries, NotGiven):
                policy = policy.replace(max_retries=options.max_retries)
        return Call(
            op.method,
            url,
            headers,
            content,
            op.path,
            op.retry_safe,
            op.auth,
            policy,
            timeout,
            deadline,
            bucket,
        )

    # -- sending -----------------------------------------------------------------------

    @overload
    async def request(
        self,
        op: Operation[R],
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        options: RequestOptions | None = None,
        raw: Literal[False] = False,
        structure: Literal[True] = True,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> R: ...

    @overload
    async def request(
        self,
        op: Operation[Any],
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        options: RequestOptions | None = None,
        raw: Literal[True],
        structure: bool = True,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> APIResponse[Any]: ...

    async def request(
        self,
        op: Operation[Any],
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
        """Send ``op`` and return its typed result, ``R`` of ``Operation[R]`` (or an
        :class:`APIResponse` with ``raw``, or when ``options.raw`` is set by
        ``with_raw_response``, whose wrapper gives that call its ``APIResponse`` type).

        ``content`` with ``content_type`` sends a body encoded by the caller (a multipart
        upload, its ``extra_body`` already among its form fields) instead of the JSON
        ``body``. ``structure=False`` returns the decoded data unstructured (pagination
        structures items itself).
        """
        if self.shared.closed:
            raise ClientClosedError("this client is closed")
        if options is not None and options.extra_query:
            query = {**(query or {}), **options.extra_query}
        if content is None:
            if body is not None or (options is not None and options.extra_body is not None):
                validating = self.validating(options.validate if options is not None else None)
                content = encode_body(op, body, options, validating=validating)
                content_type = "application/json"
        elif content_type is None:
            raise TypeError("content needs a content_type")
        url, bucket = self._routes.target(op, path_params, query) or await self.target(
            op, path_params, query
        )
        path_params = query = body = None  # not needed while waiting: free them now
        headers = list(self._base_headers)
        if content is not None:
            headers.append(("Content-Type", content_type))  # type: ignore[arg-type]
        headers.append(("X-Request-ID", _request_bits(128).to_bytes(16).hex()))
        if options is None:
            call = Call(
                op.method,
                url,
                headers,
                content,
                op.path,
                op.retry_safe,
                op.auth,
                self.retry,
                self.timeout,
                self.deadline,
                bucket,
            )
        else:
            if options.extra_headers:
                headers.extend(options.extra_headers.items())
            if options.raw:
                raw = True
            call = self.call(op, url, headers, content, options, bucket)
        engine = self.engine
        try:
            answer = await engine.send(call)
            return _classify.result(engine, op, answer, raw=raw, structure=structure, call=call)
        except APIError as exc:  # name the request it was for (secrets masked)
            _classify.name_request(engine, call, exc)
            raise

    # -- listings and downloads --------------------------------------------------------

    def paginate(
        self,
        op: Operation[Any],
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
        """A lazy :class:`AsyncPaginator` over ``op``'s listing (see :func:`._listing.listing`)."""
        from ._listing import listing

        return listing(
            self,
            op,
            item_type=item_type,
            path_params=path_params,
            query=query,
            filters=filters,
            page_size=page_size,
            paginate=paginate,
            max_items=max_items,
            options=options,
        )

    @asynccontextmanager
    async def stream(
        self,
        op: Operation[Any],
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncIterator[StreamingResponse]:
        """Send a download request; the body is read incrementally inside the context (see
        :func:`._streaming.open_stream`)."""
        if self.shared.closed:
            raise ClientClosedError("this client is closed")
        if options is not None and options.extra_query:
            query = {**(query or {}), **options.extra_query}
        url, bucket = await self.target(op, path_params, query)
        headers: list[tuple[str, str]] = [("Accept", "*/*"), *self.default_headers.items()]
        content = None
        if options is not None:
            if options.extra_body is not None:
                validating = self.validating(options.validate)
                content = encode_body(op, None, options, validating=validating)
                headers.append(("Content-Type", "application/json"))
            if options.extra_headers:
                headers.extend(options.extra_headers.items())
        call = self.call(op, url, headers, content, options, bucket)
        from ._streaming import open_stream

        async with open_stream(self.engine, op, call) as response:
            yield response


# Request ids need to be unique, not secret: no system call per request.
_request_bits = random.Random().getrandbits
