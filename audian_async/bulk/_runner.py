"""The bulk runner's engine: a fixed pool of workers over a lazily pulled source.

Rate limiting is not the runner's job: every SDK call already passes the client's shared
:class:`~audian_async._limiter.RateLimiter`, which paces all workers together on the server's
bucket. The runner decides, with the SDK's one :class:`~audian_async._policy.RetryPolicy`, what
to do with an input whose attempt failed (see :func:`classify`), and keeps every input's
outcome exactly once, also when the run is cancelled.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sized,
)
from typing import Any, Generic, TypeAlias, TypeVar

import anyio
import anyio.lowlevel

from .._errors import (
    APIConnectionError,
    APIOutcomeUnknownError,
    APIStatusError,
    InternalServerError,
    RateLimitError,
)
from .._policy import RetryPolicy, parse_retry_after
from ._journal import Journal, error_fields, result_id_of
from ._outcomes import BulkSummary, Failure, Success
from ._progress import Reporter, make_reporter

__all__ = ["ErrorKind", "Runner", "classify", "retry_after_of"]

T = TypeVar("T")
R = TypeVar("R")

#: How many times ``reconcile`` is called for one unknown outcome before the input fails.
RECONCILE_ATTEMPTS = 3


class _Item(Generic[T]):
    __slots__ = ("index", "key", "key_error", "maybe_applied", "value")

    def __init__(self, value: T, key: str, index: int, maybe_applied: bool) -> None:
        self.value = value
        self.key = key
        self.index = index
        self.maybe_applied = maybe_applied
        self.key_error: Exception | None = None


_Emit: TypeAlias = "Callable[[Success[T, R] | Failure[T]], Awaitable[Any]]"


class Runner(Generic[T, R]):
    """One run: a fixed pool of workers pulling from a shared source."""

    def __init__(
        self,
        operation: Callable[[T], Awaitable[R]],
        inputs: Iterable[T] | AsyncIterable[T],
        *,
        concurrency: int,
        key: Callable[[T], str] | None,
        journal: str | os.PathLike[str] | None,
        reconcile: Callable[[T], Awaitable[R | None]] | None,
        max_attempts: int,
        progress: bool | None,
        total: int | None,
        keep_failures: int,
        backoff_base: float,
        backoff_max: float,
        unit: str = "inputs",
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        if keep_failures < 0:
            raise ValueError("keep_failures must be >= 0")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")
        self._operation = operation
        self._inputs = inputs
        self._concurrency = concurrency
        self._key = key
        self._journal_path = journal
        self._reconcile = reconcile
        self._max_attempts = max_attempts
        self._progress = progress
        self._unit = unit
        self._keep_failures = keep_failures
        if total is None and isinstance(inputs, Sized):
            total = len(inputs)
        self._total = total
        self._policy = RetryPolicy(
            max_retries=max_attempts - 1, backoff_base=backoff_base, backoff_max=backoff_max
        )
        self._throttled = 0
        self._journal: Journal | None = None
        self._sync_it: Iterator[T] | None = None
        self._async_it: AsyncIterator[T] | None = None
        self._source_lock: anyio.Lock | None = None
        self._exhausted = False
        self._workers_scope: anyio.CancelScope | None = None
        self._error: BaseException | None = None
        self._started = False
        self._t0: float | None = None
        self._t1: float | None = None
        # counters
        self._pulled = 0
        self._succeeded = 0
        self._failed = 0
        self._skipped = 0
        self._cancelled = 0
        self._attempts = 0
        self._reconciled = 0
        self._failures: list[Failure[T]] = []

    # ----------------------------------------------------------------- summary

    def snapshot(self, with_failures: bool = True) -> BulkSummary[T]:
        """The counters now (final once the run has ended)."""
        if self._t0 is None:
            seconds = 0.0
        else:
            seconds = (self._t1 if self._t1 is not None else anyio.current_time()) - self._t0
        return BulkSummary(
            succeeded=self._succeeded,
            failed=self._failed,
            skipped=self._skipped,
            cancelled=self._cancelled,
            total=self._pulled,
            attempts=self._attempts,
            seconds=seconds,
            failures=tuple(self._failures) if with_failures else (),
            reconciled=self._reconciled,
            throttled=self._throttled,
            unit=self._unit,
        )

    # ----------------------------------------------------------------- running

    async def run(self, emit: _Emit[T, R] | None) -> BulkSummary[T]:
        if self._started:
            raise RuntimeError("a bulk run can be started only once")
        self._started = True
        if isinstance(self._inputs, AsyncIterable):
            self._async_it = aiter(self._inputs)
            self._source_lock = anyio.Lock()
        else:
            self._sync_it = iter(self._inputs)
        workers = self._concurrency
        if isinstance(self._inputs, Sized):
            workers = max(1, min(workers, len(self._inputs)))
        reporter: Reporter | None = None
        journal: Journal | None = None
        interrupted = False
        try:
            if self._journal_path is not None:
                journal = self._journal = await Journal.open(self._journal_path)
            reporter = make_reporter(self._progress, self._total)
            self._t0 = anyio.current_time()
            async with anyio.create_task_group() as outer:
                if journal is not None:
                    outer.start_soon(journal.run_writer, self._fail)
                report_scope = anyio.CancelScope()
                if reporter is not None:
                    outer.start_soon(self._report, reporter, report_scope)
                try:
                    async with anyio.create_task_group() as pool:
                        self._workers_scope = pool.cancel_scope
                        for _ in range(workers):
                            pool.start_soon(self._worker, emit)
                finally:
                    self._t1 = anyio.current_time()
                    if journal is not None:
                        journal.close()
                    report_scope.cancel()
        except BaseException as exc:
            # Ctrl-C (KeyboardInterrupt, or the task cancelled by asyncio.run's SIGINT handler)
            # or a cancelled scope: the summary is still printed below, the journal flushed.
            interrupted = self._error is None and isinstance(
                exc, (KeyboardInterrupt, anyio.get_cancelled_exc_class())
            )
            raise
        finally:
            if self._t1 is None:
                self._t1 = anyio.current_time()
            if journal is not None:
                await journal.aclose()  # no-op unless the writer never ran
            headline = self.snapshot(with_failures=False).headline
            if interrupted:
                headline += "; interrupted" + (
                    " (rerun with the same journal to resume)" if journal is not None else ""
                )
            if reporter is not None:
                with contextlib.suppress(Exception):
                    reporter.finish(headline, force=interrupted)
        if self._error is not None:
            raise self._error
        return self.snapshot()

    def _fail(self, exc: BaseException) -> None:
        """A fatal error (source, callback, journal): stop the run and raise it afterwards."""
        if self._error is None:
            self._error = exc
        if self._workers_scope is not None:
            self._workers_scope.cancel()

    async def _report(self, reporter: Reporter, scope: anyio.CancelScope) -> None:
        with scope:
            while True:
                await anyio.sleep(reporter.interval)
                s = self.snapshot(with_failures=False)
                try:
                    reporter.update(s.succeeded, s.failed, s.skipped, s.seconds)
                except Exception:
                    return  # a broken display must not stop the job

    async def _next_item(self) -> _Item[T] | None:
        """Pull the next input to work on (skipping journaled ones), or ``None`` at the end."""
        while True:
            if self._exhausted:
                return None
            if self._sync_it is not None:
                try:
                    value = next(self._sync_it)
                except StopIteration:
                    self._exhausted = True
                    return None
            else:
                assert self._async_it is not None and self._source_lock is not None
                async with self._source_lock:
                    if self._exhausted:
                        return None
                    try:
                        value = await anext(self._async_it)
                    except StopAsyncIteration:
                        self._exhausted = True
                        return None
            index = self._pulled
            self._pulled += 1
            key_error: Exception | None = None
            if self._key is None:
                key = str(index)
            else:
                try:
                    key = self._key(value)
                    if not isinstance(key, str):
                        key = str(key)
                except Exception as exc:
                    key, key_error = str(index), exc
            journal = self._journal
            if journal is not None and key_error is None and key in journal.state.done:
                self._skipped += 1
                if not self._skipped % 1024:
                    await anyio.lowlevel.checkpoint()  # a long run of skips must not hog the loop
                continue
            item = _Item(
                value,
                key,
                index,
                maybe_applied=journal is not None and key in journal.state.interrupted,
            )
            item.key_error = key_error
            return item

    async def _worker(self, emit: _Emit[T, R] | None) -> None:
        checkpoint = anyio.lowlevel.checkpoint
        while True:
            try:
                item = await self._next_item()
            except Exception as exc:  # the source itself failed
                self._fail(exc)
                return
            if item is None:
                return
            try:
                outcome = await self._process(item)
            except BaseException:
                self._record_cancelled(item)
                raise
            self._record(outcome)  # synchronous: nothing can interrupt between outcome and record
            if emit is not None:
                try:
                    await emit(outcome)
                except Exception as exc:
                    self._fail(exc)
                    return
            await checkpoint()

    def _record(self, outcome: Success[T, R] | Failure[T]) -> None:
        journal = self._journal
        if isinstance(outcome, Success):
            self._succeeded += 1
            if outcome.reconciled:
                self._reconciled += 1
            if journal is not None:
                entry: dict[str, Any] = {
                    "key": outcome.key,
                    "status": "ok",
                    "attempts": outcome.attempts,
                    "ts": time.time(),
                }
                rid = result_id_of(outcome.result)
                if rid is not None:
                    entry["result_id"] = rid
                if outcome.reconciled:
                    entry["reconciled"] = True
                journal.record(entry)
        else:
            self._failed += 1
            if len(self._failures) < self._keep_failures:
                self._failures.append(outcome)
            if journal is not None:
                journal.record(
                    {
                        "key": outcome.key,
                        "status": "failed",
                        "attempts": outcome.attempts,
                        "ts": time.time(),
                        **error_fields(outcome.error),
                    }
                )

    def _record_cancelled(self, item: _Item[T]) -> None:
        self._cancelled += 1
        if self._journal is not None and item.maybe_applied:
            self._journal.record({"key": item.key, "status": "interrupted", "ts": time.time()})

    # ------------------------------------------------------------ one input

    async def _process(self, item: _Item[T]) -> Success[T, R] | Failure[T]:
        t0 = anyio.current_time()
        if item.key_error is not None:
            return Failure(item.value, item.key, item.key_error, 0, 0.0)
        operation = self._operation
        policy = self._policy
        attempts = 0
        last_error: Exception | None = None
        # Resumed after an interrupted create: look it up before creating it again.
        need_reconcile = item.maybe_applied and self._reconcile is not None
        while True:
            if need_reconcile:
                found, rec_error = await self._run_reconcile(item)
                if rec_error is not None:
                    error = rec_error if last_error is None else last_error
                    if error is not rec_error:
                        error.add_note(
                            f"reconcile failed {RECONCILE_ATTEMPTS} times: "
                            f"{type(rec_error).__name__}: {rec_error}"
                        )
                    return Failure(item.value, item.key, error, attempts, self._since(t0))
                if found is not None:
                    item.maybe_applied = False
                    return Success(item.value, item.key, found, attempts, self._since(t0), True)
                item.maybe_applied = False
                need_reconcile = False
                if attempts >= self._max_attempts and last_error is not None:
                    return Failure(item.value, item.key, last_error, attempts, self._since(t0))
            attempts += 1
            self._attempts += 1
            # Until the attempt answers, the create may have gone out: if the run is cancelled
            # now, the input is journaled as interrupted (the rerun reconciles it first).
            item.maybe_applied = True
            try:
                result = await operation(item.value)
            except Exception as exc:
                error = exc
            else:
                item.maybe_applied = False
                return Success(item.value, item.key, result, attempts, self._since(t0))
            kind = classify(error)
            if kind is ErrorKind.UNKNOWN:
                if self._reconcile is None:
                    item.maybe_applied = False
                    return Failure(item.value, item.key, error, attempts, self._since(t0))
                last_error, need_reconcile = error, True
                continue
            if kind is ErrorKind.FATAL:
                item.maybe_applied = False
                return Failure(item.value, item.key, error, attempts, self._since(t0))
            if kind is ErrorKind.RATE_LIMITED:
                self._throttled += 1
            last_error = error
            wait = retry_after_of(error)
            if wait is None:
                wait = policy.backoff(attempts - 1)
            elif wait > policy.max_retry_after:
                item.maybe_applied = False  # the server wants a longer pause than a run waits
                return Failure(item.value, item.key, error, attempts, self._since(t0))
            if kind is ErrorKind.GATEWAY:
                if self._reconcile is None:
                    # A 502/504 may hide an applied create: without a lookup, never re-send.
                    item.maybe_applied = False
                    return Failure(item.value, item.key, error, attempts, self._since(t0))
                await anyio.sleep(wait)
                need_reconcile = True  # look first, then retry only if it is not there
                continue
            item.maybe_applied = False
            if attempts >= self._max_attempts:
                return Failure(item.value, item.key, error, attempts, self._since(t0))
            await anyio.sleep(wait)

    @staticmethod
    def _since(t0: float) -> float:
        return anyio.current_time() - t0

    async def _run_reconcile(self, item: _Item[T]) -> tuple[R | None, Exception | None]:
        """Ask ``reconcile`` whether the input exists: ``(found or None, None)`` or ``(None, error)``."""
        assert self._reconcile is not None
        error: Exception | None = None
        for n in range(RECONCILE_ATTEMPTS):
            try:
                found = await self._reconcile(item.value)
            except Exception as exc:
                error = exc
            else:
                return found, None
            if n + 1 < RECONCILE_ATTEMPTS:
                wait = retry_after_of(error)
                if wait is None or wait > self._policy.max_retry_after:
                    wait = self._policy.backoff(n)
                await anyio.sleep(wait)
        return None, error


class ErrorKind(enum.Enum):
    """How the bulk runner treats an exception raised by one attempt."""

    FATAL = "fatal"  # report a Failure at once
    UNKNOWN = "unknown"  # a create may have been applied: reconcile, never blind-retry
    RATE_LIMITED = "rate_limited"  # 429 that reached the runner: retry after its wait
    TRANSIENT = "transient"  # connection error, 503 (refused before acting): retry
    GATEWAY = "gateway"  # 502 / 504: may hide an applied create: reconcile, then retry


def classify(exc: BaseException) -> ErrorKind:
    """Classify an attempt's exception."""
    if isinstance(exc, APIOutcomeUnknownError):
        return ErrorKind.UNKNOWN
    if isinstance(exc, RateLimitError):
        return ErrorKind.RATE_LIMITED
    if isinstance(exc, InternalServerError):
        if exc.status_code == 503:
            return ErrorKind.TRANSIENT
        if exc.status_code in (502, 504):
            return ErrorKind.GATEWAY
        return ErrorKind.FATAL
    if isinstance(exc, APIConnectionError):
        return ErrorKind.TRANSIENT
    return ErrorKind.FATAL


def retry_after_of(exc: BaseException) -> float | None:
    """The wait the server advised with ``exc`` (``retry_after``, or its ``Retry-After``)."""
    value = getattr(exc, "retry_after", None)
    if value is None and isinstance(exc, APIStatusError) and exc.headers:
        value = parse_retry_after(exc.headers)
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None
