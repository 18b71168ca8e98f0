"""Small shared types: the NOT_GIVEN sentinel, timeouts and the per-call options.

The generated resource modules import from here, so this module stays free of heavy imports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeAlias, TypedDict, final

__all__ = ["NOT_GIVEN", "RAW_OPTION", "AsyncCloseable", "CallOptions", "NotGiven", "Timeout"]


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
