"""The description of one API operation, as the generated code builds it for the core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeAlias, TypeVar, final

__all__ = ["Operation", "Unwrap"]

R = TypeVar("R")

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


@final
class Unwrap:
    """A response type that some servers wrap in an object (spec ``x-unwrap``).

    ``Unwrap(list[LiveCall], ("calls",))`` structures either a bare list, or the list found
    under the first of ``keys`` present in an object (``{"count": 2, "calls": [...]}``).
    """

    __slots__ = ("inner", "keys")

    def __init__(self, inner: Any, keys: tuple[str, ...]) -> None:
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "keys", keys)

    inner: Any
    keys: tuple[str, ...]

    @property
    def __name__(self) -> str:  # named like the type it wraps in error messages
        return str(getattr(self.inner, "__name__", self.inner))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Unwrap is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unwrap) and (self.inner, self.keys) == (other.inner, other.keys)

    def __hash__(self) -> int:
        return hash((Unwrap, self.inner, self.keys))

    def __repr__(self) -> str:
        return f"Unwrap(inner={self.inner!r}, keys={self.keys!r})"
