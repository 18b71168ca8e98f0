"""The request path every generated method goes through.

One call: fill the path (account id, percent-encoded segments), validate and encode the body,
hand the request to the :class:`~audian_async._engine.Engine` (deadline, credentials, rate
limiting, retries), then classify its answer in one place: a typed result, or one of our
errors. A typed call never returns ``None`` for a missing document and never lets a foreign
exception out: an answer that cannot be the promised result raises
:class:`~audian_async.APIResponseValidationError`.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload
from urllib.parse import quote, urlencode

from . import _json
from ._clock import run_until
from ._credentials import Credentials
from ._engine import Answer, Call, Engine, _Undecodable, shown_path
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AudianError,
    ClientClosedError,
    ValidationError,
    add_hint,
    build_status_error,
)
from ._operation import Operation
from ._policy import RetryPolicy
from ._redact import SECRET_HEADERS, scrub, secrets_in
from ._request_info import RequestInfo, ResponseInfo
from ._request_options import RequestOptions
from ._transport import StreamingResponse, TransportError
from ._types import NOT_GIVEN, NotGiven, Timeout

if TYPE_CHECKING:
    from ._pagination import AsyncPaginator
    from ._response import APIResponse

R = TypeVar("R")

__all__ = ["Core", "RequestOptions", "Shared"]


class Shared:
    """State shared by a client and all its views."""

    __slots__ = ("closed", "engine", "envelope", "validate")

    def __init__(
        self, engine: Engine, envelope: Literal["kazoo", "plain"], validate: bool = True
    ) -> None:
        self.engine = engine
        self.envelope = envelope
        self.validate = validate
        self.closed = False

    @property
    def authenticator(self) -> Any:
        """The credential holder (shared by every view)."""
        return self.engine.authenticator

    @property
    def transport(self) -> Any:
        """The transport (shared by every view)."""
        return self.engine.transport

    @property
    def limiter(self) -> Any:
        """The rate limiter of requests naming no account (shared by every view)."""
        return self.engine.limiter


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


def encode_segment(value: Any, name: str = "path parameter") -> str:
    """Percent-encode one path segment completely (``+`` becomes ``%2B``, ``/`` ``%2F``).

    Raises:
        ValidationError: the value is empty, ``.`` or ``..`` (it would change the path).
    """
    if type(value) is str and (
        (value.isalnum() and value.isascii())  # ids: the common case, checked fastest
        or (_UNRESERVED_ONLY(value) and value != "." and value != "..")
    ):
        return value  # what quote() would return
    text = _scalar(value)
    if not text:
        raise ValidationError(name, "minLength", "a path parameter must not be empty")
    if text in (".", ".."):
        raise ValidationError(name, "pattern", "a path parameter must not be '.' or '..'")
    return quote(text, safe="")


# Path templates split once: ("/accounts/", "account_id", "/users/", "user_id", "").
_TEMPLATES: dict[str, tuple[str, ...]] = {}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _climb(url: str) -> str:
    """``url`` with its ``..`` path segments resolved (transports may send them as they are)."""
    import posixpath
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=posixpath.normpath(parts.path)))


def _compile_path(path: str) -> tuple[str, ...]:
    """``path`` as literal pieces with the placeholder names between them (cached)."""
    template = _TEMPLATES[path] = tuple(_PLACEHOLDER.split(path))
    return template


# Listing filters sent as they are: Kazoo's query verbs (`has_key`, `key_missing`, `has_value`,
# `value_missing`: they take a key name, not a value of a field so named) and filters already
# written in full; any other key becomes `filter_<key>`.
_QUERY_VERBS = frozenset({"value_missing"})
_QUERY_PREFIXES = ("filter_", "has_", "key_", "created_", "modified_")

# Values prepare_body() returns as they are (exact types: enum members are subclasses).
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})


def prepare_body(value: Any) -> Any:
    """Models to dicts, ``NOT_GIVEN`` entries dropped, containers walked (JSON-ready output)."""
    if type(value) in _JSON_LEAVES:
        return value
    models = sys.modules.get("audian_async._model")  # no model exists before it is imported
    if models is not None and isinstance(value, models.Model):
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
        self.engine = shared.engine
        self.retry = retry
        self.timeout = timeout
        self.deadline = deadline
        self.default_headers = dict(default_headers)
        self.account_id = account_id
        # op.path -> (the account it was built for, URL prefix, (parameter, literal after it)
        # for the caller-given parameters, rate-limit bucket): see _target_now.
        self._routes: dict[str, tuple[str | None, str, tuple[tuple[str, str], ...], str | None]]
        self._routes = {}
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
            _json_dumps(payload),
            path=path,
            retry_safe=True,
            auth=False,
            policy=self.retry,
            timeout=self.timeout,
            deadline=self.deadline,
        )
        answer = await self.engine.send(call)
        if isinstance(answer.body, _Undecodable):
            raise APIResponseValidationError(
                f"{method} {path}: {answer.body.reason}",
                status_code=answer.status,
                method=method,
                url=path,
                request_id=answer.headers.get("x-request-id"),
            )
        return answer.status, answer.headers, answer.body

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

    def _current_account_id(self) -> str | None:
        """The account id of the credentials at hand (no await), else None.

        Expired credentials still name their account: the engine renews them before sending,
        and the same key or login names the same account.
        """
        auth = self.engine.authenticator
        cred = auth.current if auth is not None else None
        return cred.account_id if cred is not None else None

    # -- building requests -------------------------------------------------------------

    async def _target(
        self,
        op: Operation[Any],
        path_params: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
    ) -> tuple[str, str | None]:
        """:meth:`_target_now`, obtaining the credentials first when they name the account."""
        target = self._target_now(op, path_params, query)
        if target is None:  # the account id comes with the credentials: obtain them first
            await self.resolve_account_id()
            target = self._target_now(op, path_params, query)
            if target is None:
                raise AudianError("no account id: the credentials name no account")
        return target

    def _target_now(
        self,
        op: Operation[Any],
        path_params: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
    ) -> tuple[str, str | None] | None:
        """The URL and the rate-limit bucket it spends, or ``None`` when the URL needs an
        account id that is not known yet.

        Kazoo keeps one bucket per account named in the URL; a URL naming no account spends
        the bucket ``None``.
        """
        route = self._routes.get(op.path)
        if route is None:
            return self._build_target(op, path_params, query)
        own, url, rest, bucket = route
        if own is not None and (
            own != (self.account_id if self.account_id is not None else self._current_account_id())
            or (path_params and path_params.get("account_id") is not None)
        ):
            # The account is the caller's, or the credentials' changed or are not at hand.
            return self._build_target(op, path_params, query)
        for name, literal in rest:
            value = path_params.get(name) if path_params else None
            if value is None:
                raise ValidationError(name, "required", "a path parameter is required")
            url = url + encode_segment(value, name) + literal
        return _with_query(url, query), bucket

    def _build_target(
        self,
        op: Operation[Any],
        path_params: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
    ) -> tuple[str, str | None] | None:
        """:meth:`_target_now` from the path template; remembers the route for this view's
        own account (the URL up to the first caller-given parameter, and the rest)."""
        template = _TEMPLATES.get(op.path) or _compile_path(op.path)
        bucket = None
        own_account = None
        prefix: str | None = None
        pieces = [self.base_url, template[0]]
        for i in range(1, len(template), 2):
            name = template[i]
            value = path_params.get(name) if path_params else None
            if name == "account_id":
                if value is None:
                    value = (
                        self.account_id
                        if self.account_id is not None
                        else self._current_account_id()
                    )
                    if value is None:
                        return None
                    own_account = value
                bucket = value if type(value) is str else str(value)
            elif value is None:
                raise ValidationError(name, "required", "a path parameter is required")
            elif prefix is None:
                prefix = "".join(pieces)
                first_param = i
            pieces.append(encode_segment(value, name))
            pieces.append(template[i + 1])
        url = "".join(pieces)
        if template[0].startswith("/../"):  # a route beside the API's prefix (``/health``)
            url = _climb(url)
        if own_account is not None or "account_id" not in template[1::2]:
            if prefix is None:  # no caller-given parameter: the whole URL is fixed
                self._routes[op.path] = (own_account, url, (), bucket)
            elif "account_id" not in template[first_param::2]:
                names, literals = template[first_param::2], template[first_param + 1 :: 2]
                rest = tuple(zip(names, literals, strict=True))
                self._routes[op.path] = (own_account, prefix, rest, bucket)
        return _with_query(url, query), bucket

    def _body(self, op: Operation[Any], body: Any, options: RequestOptions | None) -> bytes | None:
        if body is None and (options is None or options.extra_body is None):
            return None
        kept = getattr(body, "kept", None)  # values a model kept as the server sent them
        data = prepare_body(body) if body is not None else {}
        if options is not None and options.extra_body:
            if not isinstance(data, dict):
                raise ValidationError("extra_body", "type", "extra_body needs a JSON object body")
            data = {**data, **prepare_body(options.extra_body)}
        if self.validating(options.validate if options is not None else None) and (
            op.body_schema is not None
        ):
            from ._validate import validate_body

            schema, registry = op.body_schema["schema"], op.body_schema["registry"]
            data = validate_body(data, schema, registry, partial=op.body_mode == "patch", kept=kept)
        if op.wrap_body:
            data = {"data": data}
            if options is not None and options.envelope:
                data.update(options.envelope)
        return _json_dumps(data)

    def validating(self, per_call: bool | None) -> bool:
        """Whether to check a request before sending: the call's choice, else the client's."""
        return self.shared.validate if per_call is None else per_call

    def _call(
        self,
        op: Operation[Any],
        url: str,
        headers: list[tuple[str, str]],
        content: bytes | None,
        options: RequestOptions | None,
        bucket: str | None = None,
    ) -> Call:
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
                content = self._body(op, body, options)
                content_type = "application/json"
        elif content_type is None:
            raise TypeError("content needs a content_type")
        url, bucket = self._target_now(op, path_params, query) or await self._target(
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
            call = self._call(op, url, headers, content, options, bucket)
        try:
            answer = await self.engine.send(call)
            return self._result(op, answer, raw=raw, structure=structure, call=call)
        except APIError as exc:  # name the request it was for (secrets masked)
            if exc.request is None:
                exc.request = self._request_info(call)
            raise

    def _result(
        self,
        op: Operation[Any],
        answer: Answer,
        *,
        raw: bool,
        structure: bool,
        call: Call | None = None,
    ) -> Any:
        """Classify a final answer: the typed result, or the error it stands for."""
        status = answer.status
        decoded = answer.body
        if status >= 400:
            raise self._status_error(op, answer, call)
        if status >= 300:
            raise self._invalid(op, answer, f"a redirect ({status}) where the API answers itself")
        if isinstance(decoded, _Undecodable):
            raise self._invalid(op, answer, decoded.reason)
        if op.error_in_body and _reports_failure(decoded):
            # Documented for Astradial call control: a failure answered with a 2xx status.
            request = self._request_info(call) if call is not None else None
            response = self._response_info(answer, request, call)
            raise build_status_error(
                status,
                scrub(decoded, self._secrets(call)),
                headers=response.headers,
                method=op.method,
                url=op.path,
                retries_taken=answer.retries,
                request=request,
                response=response,
                path=self._shown_path(call),
            )
        enveloped = op.envelope == "kazoo" and type(decoded) is dict and "data" in decoded
        data = decoded["data"] if enveloped else decoded
        result = data
        if structure and op.response is None:
            result = None
        elif op.response is not None:
            if data is None and op.empty_ok and (decoded is None or enveloped):
                result = None
            elif data is None:
                what = "an empty body" if decoded is None else "no data"
                raise self._invalid(
                    op, answer, f"{what} where {_type_name(op.response)} was promised"
                )
            elif structure:
                try:
                    result = (_structure or _load_structure())(data, op.response)
                except Exception as exc:  # cattrs / attrs / RecursionError: all one answer
                    raise self._invalid(
                        op, answer, f"could not read it as {_type_name(op.response)}: {exc}"
                    ) from exc
        if raw:
            from ._response import APIResponse

            envelope = (
                {k: v for k, v in decoded.items() if k not in ("data", "auth_token")}
                if enveloped
                else {}
            )
            return APIResponse(
                result,
                status,
                answer.headers,
                envelope,
                answer.raw,
                answer.retries,
                self.engine.clock.now() - answer.started,
                None if call is None else partial(self._request_info, call),
            )
        return result

    def _invalid(self, op: Operation[Any], answer: Answer, why: str) -> APIResponseValidationError:
        body = answer.body
        rid = body.get("request_id") if type(body) is dict else None
        request_id = rid if isinstance(rid, str) else answer.headers.get("x-request-id")
        return APIResponseValidationError(
            f"{op.id}: the answer ({answer.status}) cannot be the promised result: {why}"
            + (f" [request_id={request_id}]" if request_id else ""),
            status_code=answer.status,
            method=op.method,
            url=op.path,
            request_id=request_id,
        )

    def _status_error(
        self, op: Operation[Any], answer: Answer, call: Call | None
    ) -> APIStatusError:
        body = answer.body
        if isinstance(body, _Undecodable) or (body is None and answer.content):
            body = answer.content.decode("utf-8", "replace")
        secrets = self._secrets(call)
        if isinstance(body, Mapping | list | str):
            body = scrub(body, secrets)
        request = self._request_info(call) if call is not None else None
        response = self._response_info(answer, request, call)
        exc = build_status_error(
            answer.status,
            body,
            headers=response.headers,
            method=op.method,
            url=op.path,
            retries_taken=answer.retries,
            auth_failure=answer.status == 401 and answer.auth_used,
            request=request,
            response=response,
            now=self.engine.clock.wall(),
            path=self._shown_path(call),
        )
        if answer.status in (400, 422) and op.body_schema is not None:
            _name_spec_values(exc, op)
        return exc

    def _secrets(self, call: Call | None = None) -> tuple[str, ...]:
        """Every secret an error about ``call`` must not show (on the error path only).

        The client's own (API key, password), the live credentials (the token or JWT held
        now, the one ``call`` was sent with, those a 401 retired lately), and every secret
        value the request body carried (passwords, SIP secrets, PINs: the spec's ``x-secret``
        fields).
        """
        auth = self.engine.authenticator
        found: list[str] = []
        if auth is not None:
            found.extend(auth.strategy.secrets())
            if auth.current is not None:
                found.extend(_credential_values(auth.current.headers))
            for retired in self.engine.retired:
                found.extend(_credential_values(retired.headers))
        if call is not None:
            found.extend(_credential_values(call.headers))
            if call.content:
                found.extend(_body_secrets(call.content))
        return tuple(found)

    def _shown_path(self, call: Call | None) -> str | None:
        """The path ``call`` went to, with its ids (secrets scrubbed), for messages."""
        if call is None:
            return None
        path = shown_path(call)
        return scrub(path, self._secrets()) if self.engine.authenticator is not None else path

    def _request_info(self, call: Call) -> RequestInfo:
        """What an exception shows of ``call`` (credentials masked, known secrets scrubbed)."""
        return RequestInfo(call.method, call.url, call.headers, secrets=self._secrets(call))

    def _response_info(
        self, answer: Answer, request: RequestInfo | None, call: Call | None = None
    ) -> ResponseInfo:
        """What an exception shows of ``answer`` (credential headers masked)."""
        return ResponseInfo(
            answer.status, answer.headers, request=request, secrets=self._secrets(call)
        )

    # -- pagination and streaming ------------------------------------------------------

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
        """A lazy :class:`AsyncPaginator` over ``op``'s listing."""
        from ._pagination import AsyncPaginator

        q = {k: v for k, v in (query or {}).items() if v is not NOT_GIVEN}
        if filters:
            for key, value in filters.items():
                q[
                    key
                    if key in _QUERY_VERBS or key.startswith(_QUERY_PREFIXES)
                    else f"filter_{key}"
                ] = value
        if options is not None and options.extra_query:
            q.update(options.extra_query)
            options = options.without_query()
        size = None if isinstance(page_size, NotGiven) else page_size
        if size is not None and (not isinstance(size, int) or size < 1):
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
        op: Operation[Any],
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncIterator[StreamingResponse]:
        """Send a download request; the body is read incrementally inside the context.

        The request goes through the same engine as every call (deadline, credentials, rate
        limiting, retries, logging) until the response starts; once the body is handed out a
        failure is not retried.
        """
        if self.shared.closed:
            raise ClientClosedError("this client is closed")
        if options is not None and options.extra_query:
            query = {**(query or {}), **options.extra_query}
        url, bucket = await self._target(op, path_params, query)
        headers: list[tuple[str, str]] = [("Accept", "*/*"), *self.default_headers.items()]
        content = None
        if options is not None:
            if options.extra_body is not None:
                content = self._body(op, None, options)
                headers.append(("Content-Type", "application/json"))
            if options.extra_headers:
                headers.extend(options.extra_headers.items())
        call = self._call(op, url, headers, content, options, bucket)
        try:
            answer = await self.engine.open_stream(call)
        except APIError as exc:
            if exc.request is None:
                exc.request = self._request_info(call)
            raise
        if answer.status >= 400:  # its body was read and its connection closed
            self._result(op, answer, raw=False, structure=False, call=call)  # raises
        assert answer.stream is not None and answer.stream_cm is not None
        try:
            if answer.status >= 300:  # a redirect: its connection is closed below
                self._result(op, answer, raw=False, structure=False, call=call)  # raises
            yield self._bounded(answer.stream, call, answer.started)
        except TransportError as exc:  # the body broke off: not retried once handed out
            error = APITimeoutError if exc.timeout else APIConnectionError
            raise error(
                f"{op.method} {self._shown_path(call)}: {exc}",
                method=op.method,
                url=op.path,
                request=self._request_info(call),
            ) from exc
        finally:
            import anyio

            with anyio.CancelScope(shield=True):  # a cancelled caller still closes it
                await answer.stream_cm.__aexit__(None, None, None)

    def _bounded(self, stream: StreamingResponse, call: Call, started: float) -> StreamingResponse:
        """``stream`` with its body reads bounded by the call's deadline (on the client's
        clock, counted from when the call started, as the rest of the call)."""
        if call.deadline is None:
            return stream
        clock = self.engine.clock
        deadline = started + call.deadline
        chunks = stream.chunks

        async def bounded() -> AsyncIterator[bytes]:
            while True:
                try:
                    done, chunk = await run_until(clock, deadline, anext, chunks)
                except StopAsyncIteration:
                    return
                if not done:
                    raise APITimeoutError(
                        f"{call.method} {call.path}: deadline of {call.deadline}s exceeded "
                        "while reading the body",
                        method=call.method,
                        url=call.path,
                        request=self._request_info(call),
                    )
                yield chunk  # type: ignore[misc]

        return StreamingResponse(stream.status, stream.headers, bounded(), stream.raw)


# Request ids need to be unique, not secret: no system call per request.
_request_bits = random.Random().getrandbits


def _json_dumps(value: Any) -> bytes:
    return _json.dumps(value)


def _with_query(url: str, query: Mapping[str, Any] | None) -> str:
    """``url`` with ``query`` encoded after ``?`` (unchanged when there is nothing to add)."""
    if query:
        qs = _encode_query(query)
        if qs:
            return f"{url}?{qs}"
    return url


_INVALID_FIELD = re.compile(r"\binvalid\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _name_spec_values(exc: APIStatusError, op: Operation[Any]) -> None:
    """``Invalid routing_type`` with no values listed: name those the spec knows (the server
    judged the value; the SDK never refuses an open enum's other values itself)."""
    said = exc.server_message or exc.error or ""
    match = _INVALID_FIELD.search(said)
    if match is None or "valid values" in exc.message or op.body_schema is None:
        return
    from ._validate import spec_values

    values = spec_values(op.body_schema["schema"], op.body_schema["registry"], match.group(1))
    if values:
        add_hint(exc, f"valid values (spec): {', '.join(str(v) for v in values)}")


def _credential_values(headers: Any) -> list[str]:
    """The secret values of credential headers (a Bearer token without its scheme)."""
    found = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic"):
                found.append(token)
    return found


def _body_secrets(content: bytes) -> list[str]:
    """The secret values a JSON request body carried (none for any other body)."""
    if content[:1] not in (b"{", b"["):
        return []
    try:
        return secrets_in(_json.loads(content))
    except (ValueError, RecursionError):
        return []


def _type_name(tp: Any) -> str:
    return str(getattr(tp, "__name__", tp))


#: The keys of a bare error body (``{"error": ..., "message": ...}``).
_ERROR_KEYS = frozenset({"error", "message", "details"})


def _reports_failure(body: Any) -> bool:
    """A body that says the call failed: ``{"status": "error"}``, ``{"success": false}``, or a
    bare ``{"error": ...}`` (the open-source Astradial server answers some misses 200)."""
    return isinstance(body, Mapping) and (
        body.get("status") == "error"
        or body.get("success") is False
        or ("error" in body and body.keys() <= _ERROR_KEYS)
    )


# _convert (cattrs) is imported on the first typed result, not with the client.
_structure: Callable[[Any, Any], Any] | None = None


def _load_structure() -> Callable[[Any, Any], Any]:
    global _structure
    from ._convert import structure

    _structure = structure
    return structure
