"""Small shared types: the NOT_GIVEN sentinel, timeouts, and the description of one operation.

The generated resource modules import from here (and only from here and ``_resource``), so this
module stays free of heavy imports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Generic, Literal, Self, TypeAlias, TypedDict, TypeVar, final

__all__ = ["NOT_GIVEN", "AsyncCloseable", "CallOptions", "NotGiven", "Operation", "Timeout"]

R = TypeVar("R")


@final
class NotGiven:
    """Sentinel for "argument not given" (distinct from ``None``, which sends JSON ``null``)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class AsyncCloseable:
    """``async with`` support for objects that release resources in ``aclose()``."""

    async def aclose(self) -> None:
        """Release resources (overridden)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


Headers: TypeAlias = Mapping[str, str]
Query: TypeAlias = Mapping[str, Any]


class Timeout:
    """Per-attempt timeouts in seconds, by phase (immutable).

    ``connect``: establishing a connection; ``read``: waiting for response bytes; ``write``:
    sending the request; ``pool``: waiting for a free connection from the pool. The overall
    budget of a call, retries and backoff included, is the client's ``deadline``.
    """

    __slots__ = ("connect", "longest", "pool", "read", "write")

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None
    longest: float
    """The longest phase timeout (``inf`` when a phase is unlimited)."""

    def __init__(
        self,
        connect: float | None = 5.0,
        read: float | None = 30.0,
        write: float | None = 30.0,
        pool: float | None = 30.0,
    ) -> None:
        _set = object.__setattr__
        _set(self, "connect", connect)
        _set(self, "read", read)
        _set(self, "write", write)
        _set(self, "pool", pool)
        phases = (connect, read, write, pool)
        _set(self, "longest", math.inf if None in phases else max(phases))  # type: ignore[type-var]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Timeout is immutable")

    def _key(self) -> tuple[float | None, ...]:
        return (self.connect, self.read, self.write, self.pool)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeout):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Timeout(connect={self.connect}, read={self.read}, write={self.write}, "
            f"pool={self.pool})"
        )

    @classmethod
    def coerce(cls, value: float | Timeout | Any) -> Timeout:
        """Accept a number (every phase), a [`Timeout`][audian_async._types.Timeout], or an ``httpx.Timeout``-like object."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None, None)
        if isinstance(value, int | float):
            v = float(value)
            return cls(v, v, v, v)
        try:
            return cls(value.connect, value.read, value.write, value.pool)
        except AttributeError:
            raise TypeError(
                f"timeout must be a number or a Timeout, not {type(value).__name__}"
            ) from None

    def capped(self, remaining: float | None) -> Timeout:
        """These timeouts, none longer than ``remaining`` seconds (the call's budget left)."""
        if remaining is None:
            return self

        def cap(v: float | None) -> float:
            return remaining if v is None else min(v, remaining)

        return Timeout(cap(self.connect), cap(self.read), cap(self.write), cap(self.pool))


class CallOptions(TypedDict, total=False):
    """Per-call options every generated method accepts as keyword arguments.

    Attributes:
        deadline: overall budget of this call in seconds, retries and backoff included
            (``None``: no budget); overrides the client's ``deadline``.
        timeout: per-attempt timeouts (seconds, or a :class:`Timeout`); overrides the
            client's ``timeout``.
        max_retries: retries after a transient failure for this call (0 disables them).
        extra_headers: more headers for this call (credential headers are masked wherever
            the SDK shows a request).
        extra_query: more query parameters for this call.
        extra_body: more JSON fields merged into the body (or form fields of an upload).
        validate: ``False`` skips client-side validation for this call (``None``: the
            client's setting).
    """

    deadline: float | NotGiven | None
    timeout: float | Timeout | NotGiven | None
    max_retries: int | NotGiven
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, Any] | None
    extra_body: Mapping[str, Any] | None
    validate: bool | None


#: The keyword ``with_raw_response`` adds to a call's options (not a public option).
RAW_OPTION: Final = "_raw"

PaginationStyle: TypeAlias = Literal["none", "start_key", "offset"]
BodyMode: TypeAlias = Literal["create", "replace", "patch", "action"]


class Operation(Generic[R]):
    """Everything the core needs to know about one API operation (built by generated code).

    ``Operation[R]``: a call of it returns ``R`` (the generated module annotates each one).

    Attributes:
        id: the spec's operationId (``users.create``).
        method: HTTP method.
        path: path template relative to the API base URL (``/accounts/{account_id}/users``).
        retry_safe: whether repeating the request cannot duplicate work (GET, DELETE, PATCH,
            updates). Creates are not, and are retried only when the server cannot have acted.
        envelope: ``"kazoo"`` when responses are ``{"data": ..., "request_id": ...}`` envelopes
            whose ``data`` is the result, ``"plain"`` when the body is the result.
        wrap_body: wrap the request body as ``{"data": body}`` (Kazoo requests).
        response: the type the result is structured into (a model class, ``list[Model]``,
            ``dict[str, Model]``, a builtin), or ``None`` for no content.
        body_schema: JSON schema the request body is validated against before sending.
        body_mode: how strictly to validate: ``create``/``replace`` enforce required fields,
            ``patch`` allows partial bodies and nulls.
        pagination: ``start_key`` (Kazoo cursor), ``offset`` (limit/offset) or ``none``.
        item_key: for listings whose ``data`` is an object keyed by id (phone numbers), the
            field of each item that receives its key.
        auth: whether the operation needs credentials.
        path_params: names of the path parameters the caller supplies.
        stream: the response body is streamed (downloads), not decoded.
        error_in_body: a 2xx answer may still report a failure in its body
            (``{"status": "error", ...}`` or ``{"success": false, ...}``): raise it.
        empty_ok: an answer without a document (``204``) is documented: the result is
            ``None``. Elsewhere an empty answer raises ``APIResponseValidationError``.
    """

    __slots__ = (
        "auth",
        "body_mode",
        "body_schema",
        "empty_ok",
        "envelope",
        "error_in_body",
        "id",
        "item_key",
        "method",
        "pagination",
        "path",
        "path_params",
        "response",
        "retry_safe",
        "stream",
        "wrap_body",
    )

    id: str
    method: str
    path: str
    retry_safe: bool
    envelope: Literal["kazoo", "plain"]
    wrap_body: bool
    response: Any
    body_schema: Mapping[str, Any] | None
    body_mode: BodyMode
    pagination: PaginationStyle
    item_key: str | None
    auth: bool
    path_params: Sequence[str]
    stream: bool
    error_in_body: bool
    empty_ok: bool

    def __init__(
        self,
        id: str,
        method: str,
        path: str,
        retry_safe: bool,
        envelope: Literal["kazoo", "plain"],
        *,
        wrap_body: bool = False,
        response: Any = None,
        body_schema: Mapping[str, Any] | None = None,
        body_mode: BodyMode = "action",
        pagination: PaginationStyle = "none",
        item_key: str | None = None,
        auth: bool = True,
        path_params: Sequence[str] = (),
        stream: bool = False,
        error_in_body: bool = False,
        empty_ok: bool = False,
    ) -> None:
        _set = object.__setattr__
        _set(self, "id", id)
        _set(self, "method", method)
        _set(self, "path", path)
        _set(self, "retry_safe", retry_safe)
        _set(self, "envelope", envelope)
        _set(self, "wrap_body", wrap_body)
        _set(self, "response", response)
        _set(self, "body_schema", body_schema)
        _set(self, "body_mode", body_mode)
        _set(self, "pagination", pagination)
        _set(self, "item_key", item_key)
        _set(self, "auth", auth)
        _set(self, "path_params", path_params)
        _set(self, "stream", stream)
        _set(self, "error_in_body", error_in_body)
        _set(self, "empty_ok", empty_ok)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Operation is immutable")

    def __repr__(self) -> str:
        return f"Operation(id={self.id!r}, method={self.method!r}, path={self.path!r})"
