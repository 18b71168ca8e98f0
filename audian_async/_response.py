"""Response metadata kept beside a typed result (``with_raw_response``, pagination pages)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from ._request_info import RequestInfo

__all__ = ["APIResponse"]

T = TypeVar("T")

_META_KEYS = (
    "request_id",
    "revision",
    "page_size",
    "start_key",
    "next_start_key",
    "tokens",
    "status",
    "version",
    "node",
    "timestamp",
)


@attrs.define(slots=True, repr=False)
class APIResponse(Generic[T]):
    """A typed result together with what the server said around it.

    Attributes:
        parsed: the typed result (what the plain method returns).
        status_code: the HTTP status.
        headers: response headers (lower-cased names).
        envelope: the Kazoo envelope without ``data`` and without the echoed ``auth_token``
            (empty for APIs that do not wrap responses).
        http_response: the transport's own response object (``httpx.Response`` by default).
        retries_taken: retries made before this response.
        elapsed: seconds spent on the call, retries included.
        request: the request this answers (credentials masked), when the SDK sent it.
    """

    parsed: T
    status_code: int
    headers: Mapping[str, str]
    envelope: Mapping[str, Any]
    http_response: Any = attrs.field(default=None)
    retries_taken: int = 0
    elapsed: float = 0.0
    # Builds `request` on first use: masking costs more than most calls ever need.
    _describe_request: Callable[[], RequestInfo] | None = attrs.field(
        default=None, eq=False, alias="describe_request"
    )

    @property
    def request(self) -> RequestInfo | None:
        """The request this answers (method, full URL, headers; credentials masked)."""
        return self._describe_request() if self._describe_request is not None else None

    @property
    def request_id(self) -> str | None:
        """The server's request id (envelope ``request_id`` or the ``X-Request-ID`` header)."""
        rid = self.envelope.get("request_id")
        return rid if isinstance(rid, str) else self.headers.get("x-request-id")

    @property
    def revision(self) -> str | None:
        """The document revision (Kazoo ``revision``)."""
        rev = self.envelope.get("revision")
        return rev if isinstance(rev, str) else None

    @property
    def page_size(self) -> int | None:
        """Items in this page, for listings (Kazoo ``page_size``; chunked responses send a string)."""
        size = self.envelope.get("page_size")
        if isinstance(size, str) and size.isdigit():
            return int(size)
        return size if isinstance(size, int) else None

    @property
    def tokens(self) -> Mapping[str, Any] | None:
        """The rate-limit bucket state ``{"consumed", "remaining"}``, when the server sends it."""
        tokens = self.envelope.get("tokens")
        return tokens if isinstance(tokens, Mapping) else None

    def parse(self) -> T:
        """The typed result."""
        return self.parsed

    def __repr__(self) -> str:
        meta = {k: self.envelope[k] for k in _META_KEYS if k in self.envelope}
        return f"APIResponse(status_code={self.status_code}, parsed={self.parsed!r}, envelope={meta!r})"
