"""The one retry policy: what may be retried, how long to wait, and ``Retry-After``.

The rule is outcome certainty, not exception type: an idempotent operation is retried after
any transient failure; a create only when the server cannot have acted on it (the connection
was never established, or it answered 429 / 503, which refuse before processing). The request
engine, the credential exchange, downloads and the bulk runner all decide with this module.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

__all__ = ["REFUSED_STATUSES", "RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that mean "refused before processing": safe to retry even for a create.
REFUSED_STATUSES = frozenset({429, 503})


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's advised wait in seconds, from ``retry-after-ms`` or ``retry-after``.

    ``Retry-After`` may be delta-seconds or an HTTP date (compared with ``now``, Unix time,
    default the system clock). Negative, non-finite or malformed values give ``None``.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = -1.0
        if 0 <= value < math.inf:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


class RetryPolicy:
    """Retry limits and backoff (immutable).

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        backoff_base: first backoff ceiling in seconds; it doubles per retry.
        backoff_max: ceiling of any single backoff.
        max_retry_after: the longest ``Retry-After`` the SDK will wait for; a longer advised
            wait raises :class:`~audian_async.RateLimitError` at once (its ``retry_after``
            tells the caller how long).
    """

    __slots__ = ("backoff_base", "backoff_max", "max_retries", "max_retry_after")

    max_retries: int
    backoff_base: float
    backoff_max: float
    max_retry_after: float

    def __init__(
        self,
        max_retries: int = 2,
        backoff_base: float = 0.25,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
    ) -> None:
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise TypeError(
                f"max_retries must be a whole number >= 0 (0 disables retries); got {max_retries!r}"
            )
        for name, value in (
            ("backoff_base", backoff_base),
            ("backoff_max", backoff_max),
            ("max_retry_after", max_retry_after),
        ):
            if not isinstance(value, int | float) or value < 0 or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        object.__setattr__(self, "max_retries", max_retries)
        object.__setattr__(self, "backoff_base", float(backoff_base))
        object.__setattr__(self, "backoff_max", float(backoff_max))
        object.__setattr__(self, "max_retry_after", float(max_retry_after))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("RetryPolicy is immutable: make a new one with replace()")

    def replace(self, **changes: float) -> RetryPolicy:
        """A copy with some settings changed."""
        values: dict[str, float] = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return RetryPolicy(
            int(values["max_retries"]),
            values["backoff_base"],
            values["backoff_max"],
            values["max_retry_after"],
        )

    def backoff(self, retry_index: int, rng: random.Random | None = None) -> float:
        """Full-jitter backoff before the ``retry_index``-th retry (0-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** min(retry_index, 62)))
        return (rng or _rng).uniform(0.0, ceiling)

    @staticmethod
    def status_retryable(status: int, *, retry_safe: bool) -> bool:
        """Whether an error status may be retried for this kind of operation."""
        if retry_safe:
            return status in RETRYABLE_STATUSES
        return status in REFUSED_STATUSES

    @staticmethod
    def failure_retryable(*, sent: bool, retry_safe: bool) -> bool:
        """Whether a request that got no answer may be repeated."""
        return retry_safe or not sent

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryPolicy):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self.__slots__))

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries}, backoff_base={self.backoff_base}, "
            f"backoff_max={self.backoff_max}, max_retry_after={self.max_retry_after})"
        )


_rng = random.Random()
