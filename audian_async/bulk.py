"""Run one async operation over many inputs, with bounded, server-adaptive concurrency.

The bulk runner is for provisioning jobs: thousands of users, devices or numbers created
through the SDK. It pulls inputs lazily from any iterable or async iterable (at most about
``concurrency`` are held at once), runs the operation on each with a fixed pool of workers,
and ends every input it pulled as exactly one :class:`Success` or :class:`Failure`, or, if
the run is cancelled, counts it as cancelled.

Example::

    from audian_async.bulk import Failure, bulk_iter, run_bulk

    users = ...  # the account's users resource (an SDK ``UsersResource``)

    async def create_user(row):                         # may raise SDK errors
        return await users.create(**row)

    async def find_user(row):                           # "did my create land?"
        return await users.list(filters={"username": row["username"]}).first()

    summary = await run_bulk(
        create_user,
        rows,                                  # list, generator, or async iterator
        concurrency=32,
        key=lambda row: row["username"],       # stable per input: journal and reports
        journal="provision.jsonl",             # rerun to resume: done keys are skipped
        reconcile=find_user,
    )
    print(summary)                             # counts, rate, first failures
    for failure in summary.failures:
        print(failure.key, failure.error)

    # Streaming form: outcomes as they finish.
    async with bulk_iter(create_user, rows, key=lambda row: row["username"]) as outcomes:
        async for outcome in outcomes:
            if isinstance(outcome, Failure):
                print("failed:", outcome.key, outcome.error)
    print(outcomes.summary)

How errors are handled:

* ``RateLimitError`` (429) and ``InternalServerError`` 503: every worker pauses (a shared
  gate) for a backoff that grows with consecutive events (jittered; ``retry_after`` is honoured
  when the server gave one), and the allowed concurrency is halved (floor 1). Successes raise
  it again by about one slot per window of successes, back to ``concurrency``. The input is
  retried, up to ``max_attempts`` attempts.
* ``APIConnectionError`` (not outcome-unknown): the same pause and retry, without the
  concurrency cut (the request never reached the server).
* ``InternalServerError`` 502/504: a gateway answer may hide an applied create, so the input
  is retried only after ``reconcile`` says it is not there; without ``reconcile`` it fails
  (the SDK itself already retried it if the operation was idempotent).
* ``APIOutcomeUnknownError`` (a create that may have been applied): ``reconcile(input)`` is
  called; a non-``None`` answer is the input's :class:`Success` (``reconciled=True``), ``None``
  retries the operation. Without ``reconcile`` the input fails with that error: a create is
  never blindly retried. Errors raised by ``reconcile`` are retried a few times with backoff,
  then the input fails.
* Anything else (``BadRequestError``, ``ConflictError``, ``ValidationError``, non-SDK
  exceptions): :class:`Failure` at once, no retry.

Tip: let the runner own retries. A client whose own retry budget for 429s is large makes the
runner see congestion late; a small one (or none) lets the shared gate and the AIMD limit react.

Cancellation (a cancelled enclosing scope, or Ctrl-C cancelling the main task) stops the run:
inputs in flight are counted as ``cancelled``, never reported as failures and never journaled
as done, so a rerun does them. An input whose create was in flight is journaled as
``interrupted``; the rerun then asks ``reconcile`` before creating it again.

The journal is JSON lines, one per finished input: ``{"key", "status": "ok" | "failed",
"attempts", "ts"}`` plus ``result_id`` (the result's ``id``) or ``error`` / ``message``; and
``"interrupted"`` lines for cancelled in-flight creates. Input payloads are never written.
Writes happen off the event loop and are flushed per batch; a truncated last line (a crash
mid-write) is ignored on resume.

``bulk_iter`` is an async context manager rather than a bare async generator so that its
worker tasks live in a task group bounded by the ``async with`` block (an async generator
cannot safely hold a task group across ``yield`` under trio or anyio).

Sources are pulled on the event loop: a plain iterator should be cheap (a list, a CSV reader);
use an async iterator for anything that waits on I/O.
"""

from __future__ import annotations

import contextlib
import inspect
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
from types import TracebackType
from typing import Any, Generic, TypeAlias, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._bulk_control import AdaptiveLimiter, ErrorKind, classify, retry_after_of
from ._bulk_journal import Journal, error_fields, result_id_of
from ._bulk_progress import Reporter, make_reporter

__all__ = [
    "BulkStream",
    "BulkSummary",
    "Failure",
    "Outcome",
    "Success",
    "bulk_iter",
    "run_bulk",
]

T = TypeVar("T")
R = TypeVar("R")

#: How many times ``reconcile`` is called for one unknown outcome before the input fails.
RECONCILE_ATTEMPTS = 3


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
        throttled: congestion answers (429, 503) seen.
        min_concurrency: the lowest concurrency limit the run was cut to.
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
    min_concurrency: int = 0

    @property
    def requests_per_second(self) -> float:
        """Operation calls per second over the run."""
        return self.attempts / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Whether every input pulled ended well (nothing failed, nothing cancelled)."""
        return self.failed == 0 and self.cancelled == 0

    @property
    def headline(self) -> str:
        """The one-line summary."""
        text = (
            f"bulk: {self.total} inputs in {self.seconds:.1f}s: {self.succeeded} succeeded, "
            f"{self.failed} failed"
        )
        if self.skipped:
            text += f", {self.skipped} skipped"
        if self.cancelled:
            text += f", {self.cancelled} cancelled"
        text += f"; {self.attempts} attempts ({self.requests_per_second:.1f}/s)"
        if self.throttled:
            text += f"; throttled {self.throttled}x (concurrency down to {self.min_concurrency})"
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


class _Item(Generic[T]):
    __slots__ = ("index", "key", "key_error", "maybe_applied", "value")

    def __init__(self, value: T, key: str, index: int, maybe_applied: bool) -> None:
        self.value = value
        self.key = key
        self.index = index
        self.maybe_applied = maybe_applied
        self.key_error: Exception | None = None


_Emit: TypeAlias = "Callable[[Success[T, R] | Failure[T]], Awaitable[Any]]"


class _Engine(Generic[T, R]):
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
        self._keep_failures = keep_failures
        if total is None and isinstance(inputs, Sized):
            total = len(inputs)
        self._total = total
        self._limiter = AdaptiveLimiter(
            concurrency, backoff_base=backoff_base, backoff_max=backoff_max
        )
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
            seconds = (self._t1 if self._t1 is not None else time.monotonic()) - self._t0
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
            throttled=self._limiter.throttled,
            min_concurrency=self._limiter.min_cap,
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
        try:
            if self._journal_path is not None:
                journal = self._journal = await Journal.open(self._journal_path)
            reporter = make_reporter(self._progress, self._total)
            self._t0 = time.monotonic()
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
                    self._t1 = time.monotonic()
                    if journal is not None:
                        journal.close()
                    report_scope.cancel()
        finally:
            if self._t1 is None:
                self._t1 = time.monotonic()
            if journal is not None:
                await journal.aclose()  # no-op unless the writer never ran
            if reporter is not None:
                with contextlib.suppress(Exception):
                    reporter.finish(self.snapshot(with_failures=False).headline)
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
        t0 = time.monotonic()
        if item.key_error is not None:
            return Failure(item.value, item.key, item.key_error, 0, 0.0)
        limiter = self._limiter
        operation = self._operation
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
                    return Failure(item.value, item.key, error, attempts, time.monotonic() - t0)
                if found is not None:
                    item.maybe_applied = False
                    return Success(
                        item.value, item.key, found, attempts, time.monotonic() - t0, True
                    )
                item.maybe_applied = False
                need_reconcile = False
                if attempts >= self._max_attempts and last_error is not None:
                    return Failure(
                        item.value, item.key, last_error, attempts, time.monotonic() - t0
                    )
            started = await limiter.acquire()
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
                limiter.on_success(started)
                item.maybe_applied = False
                return Success(item.value, item.key, result, attempts, time.monotonic() - t0)
            finally:
                limiter.release()
            kind = classify(error)
            if kind is ErrorKind.UNKNOWN:
                if self._reconcile is None:
                    item.maybe_applied = False
                    return Failure(item.value, item.key, error, attempts, time.monotonic() - t0)
                last_error, need_reconcile = error, True
                continue
            if kind is ErrorKind.FATAL:
                item.maybe_applied = False
                return Failure(item.value, item.key, error, attempts, time.monotonic() - t0)
            limiter.on_retryable(
                started, cut=kind is ErrorKind.CONGESTION, retry_after=retry_after_of(error)
            )
            last_error = error
            if kind is ErrorKind.GATEWAY:
                if self._reconcile is None:
                    # A 502/504 may hide an applied create: without a lookup, never re-send.
                    item.maybe_applied = False
                    return Failure(item.value, item.key, error, attempts, time.monotonic() - t0)
                need_reconcile = True  # look first, then retry only if it is not there
                continue
            item.maybe_applied = False
            if attempts >= self._max_attempts:
                return Failure(item.value, item.key, error, attempts, time.monotonic() - t0)

    async def _run_reconcile(self, item: _Item[T]) -> tuple[R | None, Exception | None]:
        """Ask ``reconcile`` whether the input exists: ``(found or None, None)`` or ``(None, error)``."""
        assert self._reconcile is not None
        limiter = self._limiter
        error: Exception | None = None
        for n in range(1, RECONCILE_ATTEMPTS + 1):
            started = await limiter.acquire()
            try:
                found = await self._reconcile(item.value)
            except Exception as exc:
                error = exc
            else:
                error = None
            finally:
                limiter.release()
            if error is None:
                limiter.on_success(started)
                return found, None
            kind = classify(error)
            if kind in (ErrorKind.CONGESTION, ErrorKind.TRANSIENT, ErrorKind.GATEWAY):
                limiter.on_retryable(
                    started, cut=kind is ErrorKind.CONGESTION, retry_after=retry_after_of(error)
                )
            elif n < RECONCILE_ATTEMPTS:
                await anyio.sleep(limiter.backoff(n))
        return None, error


# --------------------------------------------------------------------------- public API


async def run_bulk(
    operation: Callable[[T], Awaitable[R]],
    inputs: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int = 64,
    key: Callable[[T], str] | None = None,
    journal: str | os.PathLike[str] | None = None,
    reconcile: Callable[[T], Awaitable[R | None]] | None = None,
    max_attempts: int = 5,
    progress: bool | None = None,
    total: int | None = None,
    on_outcome: Callable[[Success[T, R] | Failure[T]], object] | None = None,
    keep_failures: int = 1000,
    backoff_base: float = 0.5,
    backoff_max: float = 30.0,
) -> BulkSummary[T]:
    """Run ``operation`` on every input, ``concurrency`` at a time at most; return the counts.

    Args:
        operation: the async call to make per input.
        inputs: an iterable or async iterable, pulled lazily (never materialised).
        concurrency: the most calls in flight; the runner lowers it while the server pushes
            back (429 / 503) and raises it again on success.
        key: a stable, unique string per input, used by the journal and in reports;
            default: the input's position (``"0"``, ``"1"`` ...), stable only if the source is.
        journal: path of an append-only JSON-lines journal. Inputs whose key already
            succeeded there are skipped (counted as ``skipped``); failed ones are retried.
        reconcile: async lookup called when an attempt's outcome is unknown (a create that may
            have been applied): its non-``None`` answer counts as the input's success.
        max_attempts: calls of ``operation`` per input for retryable errors.
        progress: ``None`` shows a live bar only when stderr is a terminal (needs ``rich``,
            the ``progress`` extra); ``True`` always reports (a periodic stderr line without
            terminal or ``rich``); ``False`` never. A final one-line summary is printed
            whenever progress is on.
        total: the expected number of inputs, for the ETA (default: ``len(inputs)`` if sized).
        on_outcome: called with each :class:`Success` / :class:`Failure` as it finishes (may
            be async). An exception it raises stops the run and is re-raised.
        keep_failures: how many :class:`Failure` objects the summary keeps (the count of all
            failures is always exact).
        backoff_base: first pause in seconds after a 429 / transient error; it doubles per
            consecutive event.
        backoff_max: the longest pause (an advised ``Retry-After`` may exceed it).

    Returns:
        The :class:`BulkSummary`. Cancellation propagates (after the journal is flushed and,
        if progress is on, the summary line printed); an exception from the source or from
        ``on_outcome`` is re-raised after the in-flight inputs were cancelled.
    """
    engine = _Engine(
        operation,
        inputs,
        concurrency=concurrency,
        key=key,
        journal=journal,
        reconcile=reconcile,
        max_attempts=max_attempts,
        progress=progress,
        total=total,
        keep_failures=keep_failures,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
    )
    emit: _Emit[T, R] | None = None
    if on_outcome is not None:
        callback = on_outcome

        async def emit(outcome: Success[T, R] | Failure[T]) -> None:
            ret = callback(outcome)
            if inspect.isawaitable(ret):
                await ret

    return await engine.run(emit)


class BulkStream(Generic[T, R]):
    """The outcomes of a bulk run, as they finish; made by :func:`bulk_iter`.

    Enter it, then iterate::

        async with bulk_iter(op, inputs) as outcomes:
            async for outcome in outcomes:
                ...
        print(outcomes.summary)

    The run happens in a task group that lives as long as the ``async with`` block (so it is
    safe under structured concurrency: no work outlives the block). Leaving the block before the
    stream ends cancels the remaining work: inputs in flight are counted as cancelled.
    Outcomes already finished but not yet taken are counted in :attr:`summary` (and
    journaled) without being yielded.
    """

    def __init__(self, engine: _Engine[T, R], buffer: int) -> None:
        self._engine = engine
        self._buffer = buffer
        self._tg: anyio.abc.TaskGroup | None = None
        self._recv: MemoryObjectReceiveStream[Success[T, R] | Failure[T]] | None = None
        self._entered = False
        self._done = False
        self._error: BaseException | None = None
        self._error_raised = False

    @property
    def summary(self) -> BulkSummary[T]:
        """The counts so far (final after the block exits)."""
        return self._engine.snapshot()

    async def __aenter__(self) -> BulkStream[T, R]:
        if self._entered:
            raise RuntimeError("a BulkStream can be entered only once")
        self._entered = True
        send, self._recv = anyio.create_memory_object_stream[Success[T, R] | Failure[T]](
            self._buffer
        )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        tg.start_soon(self._drive, send)
        return self

    async def _drive(self, send: MemoryObjectSendStream[Success[T, R] | Failure[T]]) -> None:
        async with send:
            try:
                await self._engine.run(send.send)
            except Exception as exc:
                self._error = exc
            finally:
                self._done = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        tg = self._tg
        assert tg is not None and self._recv is not None
        try:
            if not self._done:
                tg.cancel_scope.cancel()
            if exc is not None and isinstance(exc, anyio.get_cancelled_exc_class()):
                # Let the task group see the cancellation it may have to absorb.
                return bool(await tg.__aexit__(exc_type, exc, tb))
            await tg.__aexit__(None, None, None)
        finally:
            self._recv.close()
        if exc is None and self._error is not None and not self._error_raised:
            self._error_raised = True
            raise self._error
        return False

    def __aiter__(self) -> BulkStream[T, R]:
        if self._recv is None:
            raise TypeError(
                "enter the stream first: `async with bulk_iter(...) as outcomes: "
                "async for outcome in outcomes: ...`"
            )
        return self

    async def __anext__(self) -> Success[T, R] | Failure[T]:
        if self._recv is None:
            raise TypeError("enter the stream with `async with` before iterating")
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self._error is not None and not self._error_raised:
                self._error_raised = True
                raise self._error from None
            raise StopAsyncIteration from None


def bulk_iter(
    operation: Callable[[T], Awaitable[R]],
    inputs: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int = 64,
    key: Callable[[T], str] | None = None,
    journal: str | os.PathLike[str] | None = None,
    reconcile: Callable[[T], Awaitable[R | None]] | None = None,
    max_attempts: int = 5,
    progress: bool | None = None,
    total: int | None = None,
    keep_failures: int = 1000,
    backoff_base: float = 0.5,
    backoff_max: float = 30.0,
) -> BulkStream[T, R]:
    """Like :func:`run_bulk`, but stream the outcomes: ``async with bulk_iter(...) as s``.

    Arguments are those of :func:`run_bulk`. Iterate the entered stream for each
    :class:`Success` / :class:`Failure` in finishing order; ``stream.summary`` has the counts.
    A slow consumer slows the run (a small buffer, then the workers wait), so memory stays
    bounded. An exception from the source is raised from the iteration.
    """
    engine = _Engine(
        operation,
        inputs,
        concurrency=concurrency,
        key=key,
        journal=journal,
        reconcile=reconcile,
        max_attempts=max_attempts,
        progress=progress,
        total=total,
        keep_failures=keep_failures,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
    )
    return BulkStream(engine, buffer=concurrency)
