"""What may be retried, how long to wait, and ``Retry-After`` parsing.

The rule is outcome certainty, not exception type: an idempotent operation is retried after
any transient failure; a create only when the server cannot have acted on it (the connection
was never established, or it answered 429 / 503, which refuse before processing).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that mean "refused before processing": safe to retry even for a create.
REFUSED_STATUSES = frozenset({429, 503})


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's advised wait in seconds, from ``retry-after-ms`` or ``retry-after``.

    ``Retry-After`` may be delta-seconds or an HTTP date. Negative, non-finite or malformed
    values give ``None``.
    """
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = -1.0
        if 0 <= value < float("inf"):
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
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return None
    return seconds


@attrs.frozen(slots=True)
class RetryPolicy:
    """Retry limits and backoff.

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        backoff_base: first backoff ceiling in seconds; it doubles per retry.
        backoff_max: ceiling of any single backoff.
        max_retry_after: the longest ``Retry-After`` the SDK will sleep for; a longer advised
            wait raises at once (``RateLimitError.retry_after`` tells the caller how long).
    """

    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise TypeError(
                "max_retries must be a whole number >= 0 (0 disables retries); "
                f"got {self.max_retries!r}"
            )

    def backoff(self, retry_index: int, rng: random.Random | None = None) -> float:
        """Full-jitter backoff for the ``retry_index``-th retry (0-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**retry_index))
        return (rng or _rng).uniform(0.0, ceiling)

    @staticmethod
    def status_retryable(status: int, *, retry_safe: bool) -> bool:
        """Whether an error status may be retried for this kind of operation."""
        if retry_safe:
            return status in RETRYABLE_STATUSES
        return status in REFUSED_STATUSES


_rng = random.Random()
