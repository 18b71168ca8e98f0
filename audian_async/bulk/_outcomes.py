"""What a bulk run reports: one [`Success`][audian_async.bulk.Success] or [`Failure`][audian_async.bulk.Failure] per input, and the
[`BulkSummary`][audian_async.bulk.BulkSummary] of the run."""

from __future__ import annotations

from typing import Generic, TypeAlias, TypeVar

import attrs

__all__ = ["BulkSummary", "Failure", "Outcome", "Success"]

T = TypeVar("T")
R = TypeVar("R")


@attrs.frozen
class Success(Generic[T, R]):
    """An input whose operation succeeded.

    Attributes:
        input: the input (left out of ``repr``: it may carry secrets).
        key: the input's key.
        result: what the operation (or ``reconcile``) returned.
        attempts: calls of the operation made for this input (0 if found by ``reconcile``
            before any call, on a resumed run).
        elapsed: seconds from when a worker took the input to its outcome, waits included.
        reconciled: ``True`` when the result came from ``reconcile`` after an unknown outcome.
    """

    input: T = attrs.field(repr=False)
    key: str
    result: R
    attempts: int
    elapsed: float
    reconciled: bool = False

    @property
    def ok(self) -> bool:
        """Always ``True``."""
        return True


@attrs.frozen
class Failure(Generic[T]):
    """An input whose operation failed for good.

    Attributes:
        input: the input (left out of ``repr``: it may carry secrets).
        key: the input's key.
        error: the last exception (an SDK error such as ``BadRequestError``, or any other).
        attempts: calls of the operation made for this input.
        elapsed: seconds from when a worker took the input to its outcome, waits included.
    """

    input: T = attrs.field(repr=False)
    key: str
    error: Exception
    attempts: int
    elapsed: float

    @property
    def ok(self) -> bool:
        """Always ``False``."""
        return False


#: One input's outcome.
Outcome: TypeAlias = Success[T, R] | Failure[T]


@attrs.frozen(eq=False)
class BulkSummary(Generic[T]):
    """Counts for one run; ``str(summary)`` is a short human-readable report.

    Attributes:
        succeeded: inputs that succeeded.
        failed: inputs that failed (all of them, however many ``failures`` kept).
        skipped: inputs skipped because the journal says they already succeeded.
        cancelled: inputs pulled but unfinished when the run was cancelled.
        total: inputs pulled from the source (``succeeded + failed + skipped + cancelled``).
        attempts: calls of the operation.
        seconds: wall time of the run.
        failures: the first failures (up to the run's ``keep_failures``), in finishing order.
        reconciled: successes established by ``reconcile`` after an unknown outcome.
        throttled: rate-limit errors (429) that reached the runner (the client's limiter
            absorbs most of them before they do).
        unit: what the inputs are, in the headline (``"users"``: "1000 users ... 812.0 users/s").
        rate_limited_seconds: how long the whole run waited on the server's rate limit (every
            bucket with work believed empty or held by ``Retry-After``); measured when the
            run was given its ``client``, else 0.
    """

    succeeded: int
    failed: int
    skipped: int
    cancelled: int
    total: int
    attempts: int
    seconds: float
    failures: tuple[Failure[T], ...] = attrs.field(repr=False)
    reconciled: int = 0
    throttled: int = 0
    unit: str = "inputs"
    rate_limited_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Inputs finished (succeeded or failed) per second over the run."""
        done = self.succeeded + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Whether every input pulled ended well (nothing failed, nothing cancelled)."""
        return self.failed == 0 and self.cancelled == 0

    @property
    def headline(self) -> str:
        """The one-line summary."""
        text = (
            f"bulk: {self.total} {self.unit} in {self.seconds:.1f}s: {self.succeeded} succeeded, "
            f"{self.failed} failed"
        )
        if self.skipped:
            text += f", {self.skipped} skipped"
        if self.cancelled:
            text += f", {self.cancelled} cancelled"
        text += f" ({self.per_second:.1f} {self.unit}/s); {self.attempts} attempts"
        if self.reconciled:
            text += f", {self.reconciled} reconciled"
        if self.rate_limited_seconds >= 0.05:
            text += f"; waited {self.rate_limited_seconds:.1f}s on rate limits"
        if self.throttled:
            text += f"; rate limited {self.throttled}x"
        return text

    def __str__(self) -> str:
        lines = [self.headline]
        shown = self.failures[:10]
        for failure in shown:
            err = failure.error
            lines.append(f"  failed {failure.key}: {type(err).__name__}: {str(err)[:200]}")
        if self.failed > len(shown):
            lines.append(f"  ... and {self.failed - len(shown)} more failures")
        return "\n".join(lines)
