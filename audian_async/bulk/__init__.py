"""Run one async operation over many inputs, with bounded, server-adaptive concurrency.

The bulk runner is for provisioning jobs: thousands of users, devices or numbers created
through the SDK. It pulls inputs lazily from any iterable or async iterable (at most about
``concurrency`` are held at once), runs the operation on each with a fixed pool of workers,
and ends every input it pulled as exactly one [`Success`][audian_async.bulk.Success] or [`Failure`][audian_async.bulk.Failure], or, if
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

Pacing: every SDK call goes through its client's rate limiter, shared by all workers (and
by every other task using that client), so the run follows the server's bucket: it sends at
the rate the bucket refills and never hammers it with 429s. The runner keeps ``concurrency``
workers busy and does not shrink them on errors. Pass ``client=`` (the client the operation
calls through) and the run waits on the client's clock and watches its rate limiters: the
progress display says when the job waits on the server's rate limit, and the summary how long
it did. A job across accounts also passes ``bucket=`` (the account an input spends: Kazoo
keeps a bucket per account): an input then starts only when its bucket is believed to have
room, so one account's empty bucket holds no worker while other accounts' inputs could go::

    summary = await run_bulk(
        lambda row: audian.for_account(row["account_id"]).users.create(**row["user"]),
        rows,
        key=lambda row: row["user"]["username"],
        client=audian,
        bucket=lambda row: row["account_id"],  # reads ahead at most ``read_ahead`` inputs
    )

How errors are handled (with the SDK's one retry policy: full-jitter backoff from
``backoff_base`` doubling up to ``backoff_max``, or the server's ``Retry-After``):

* ``RateLimitError`` (429: the client's own retries or the call's deadline ran out) and
  ``InternalServerError`` 503 (refused before acting), ``APIConnectionError`` (not
  outcome-unknown): the input is retried after its wait, up to ``max_attempts`` attempts. A
  ``Retry-After`` longer than 60 s fails the input instead of stalling its worker.
* ``InternalServerError`` 502/504: a gateway answer may hide an applied create, so the input
  is retried only after ``reconcile`` says it is not there; without ``reconcile`` it fails
  (the SDK itself already retried it if the operation was idempotent).
* ``APIOutcomeUnknownError`` (a create that may have been applied): ``reconcile(input)`` is
  called; a non-``None`` answer is the input's [`Success`][audian_async.bulk.Success] (``reconciled=True``), ``None``
  retries the operation. Without ``reconcile`` the input fails with that error: a create is
  never blindly retried. Errors raised by ``reconcile`` are retried a few times with backoff,
  then the input fails.
* Anything else (``BadRequestError``, ``ConflictError``, ``ValidationError``, non-SDK
  exceptions): [`Failure`][audian_async.bulk.Failure] at once, no retry.

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

import inspect
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._outcomes import BulkSummary, Failure, Outcome, Success
from ._runner import DEFAULT_READ_AHEAD, LimitStatus, Runner, _Emit

__all__ = [
    "DEFAULT_READ_AHEAD",
    "BulkStream",
    "LimitStatus",
    "BulkSummary",
    "Failure",
    "Outcome",
    "Success",
    "bulk_iter",
    "run_bulk",
]

T = TypeVar("T")
R = TypeVar("R")


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
    unit: str = "inputs",
    client: Any = None,
    bucket: Callable[[T], str] | None = None,
    read_ahead: int = DEFAULT_READ_AHEAD,
) -> BulkSummary[T]:
    """Run ``operation`` on every input, ``concurrency`` at a time at most; return the counts.

    Args:
        operation: the async call to make per input.
        inputs: an iterable or async iterable, pulled lazily (never materialised).
        concurrency: the most calls in flight (the client's rate limiter paces them to
            the server's bucket).
        key: a stable, unique string per input, used by the journal and in reports;
            default: the input's position (``"0"``, ``"1"`` ...), stable only if the source is.
        journal: path of an append-only JSON-lines journal. Inputs whose key already
            succeeded there are skipped (counted as ``skipped``); failed ones are retried.
        reconcile: async lookup called when an attempt's outcome is unknown (a create that may
            have been applied): its non-``None`` answer counts as the input's success.
        max_attempts: calls of ``operation`` per input for retryable errors.
        progress: ``None`` (default): a live bar when stderr is a terminal (with ``rich``,
            the ``progress`` extra), otherwise a plain stderr line every 10 seconds, and the
            final one-line summary if a progress line was printed or the run was
            interrupted (a short run in a log stays silent). ``True``: always report (a
            plain line every 2 seconds without terminal or ``rich``) and always print the
            final summary. ``False``: print nothing, not even on interruption.
        total: the expected number of inputs, for the ETA (default: ``len(inputs)`` if sized).
        on_outcome: called with each [`Success`][audian_async.bulk.Success] / [`Failure`][audian_async.bulk.Failure] as it finishes (may
            be async). An exception it raises stops the run and is re-raised.
        keep_failures: how many [`Failure`][audian_async.bulk.Failure] objects the summary keeps (the count of all
            failures is always exact).
        backoff_base: ceiling of the first retry's backoff in seconds (full jitter); it
            doubles per attempt of the same input.
        backoff_max: the longest backoff (an advised ``Retry-After`` may exceed it).
        unit: what the inputs are, for the summary line (``"users"``: "812.0 users/s").
        client: the SDK client (or view) the operation calls through. The run then waits on
            the client's clock, watches its rate limiters (progress says when the job waits on
            the server's rate limit and for how long it expects to; the summary says how long
            it waited), and can schedule by ``bucket``.
        bucket: the rate-limit bucket an input spends (with ``client``): for Audian (Kazoo),
            the account the input acts on, e.g. ``lambda row: row["account_id"]``. An input
            then starts only when the client believes its account's bucket has room, so the
            inputs of an empty bucket wait without holding a worker while those of other
            accounts go, each account at its own bucket's pace. Inputs of one bucket start in
            source order; an error raised by ``bucket`` is that input's failure.
        read_ahead: with ``bucket``, the most inputs pulled from the source and not started
            yet (default 10,000). The runner reads ahead only while every input it holds
            waits on an empty bucket; memory stays bounded by this many inputs.

    Returns:
        The [`BulkSummary`][audian_async.bulk.BulkSummary]. Cancellation (Ctrl-C included) propagates after the journal
        is flushed and, unless progress is ``False``, the summary line is printed with
        "interrupted"; an exception from the source or from
        ``on_outcome`` is re-raised after the in-flight inputs were cancelled.
    """
    engine = Runner(
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
        unit=unit,
        client=client,
        bucket=bucket,
        read_ahead=read_ahead,
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
    """The outcomes of a bulk run, as they finish; made by [`bulk_iter`][audian_async.bulk.bulk_iter].

    Enter it, then iterate::

        async with bulk_iter(op, inputs) as outcomes:
            async for outcome in outcomes:
                ...
        print(outcomes.summary)

    The run happens in a task group that lives as long as the ``async with`` block (so it is
    safe under structured concurrency: no work outlives the block). Leaving the block before the
    stream ends cancels the remaining work: inputs in flight are counted as cancelled.
    Outcomes already finished but not yet taken are counted in [`summary`][audian_async.bulk.BulkStream.summary] (and
    journaled) without being yielded.
    """

    def __init__(self, engine: Runner[T, R], buffer: int) -> None:
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
    unit: str = "inputs",
    client: Any = None,
    bucket: Callable[[T], str] | None = None,
    read_ahead: int = DEFAULT_READ_AHEAD,
) -> BulkStream[T, R]:
    """Like [`run_bulk`][audian_async.bulk.run_bulk], but stream the outcomes: ``async with bulk_iter(...) as s``.

    Arguments are those of [`run_bulk`][audian_async.bulk.run_bulk]. Iterate the entered stream for each
    [`Success`][audian_async.bulk.Success] / [`Failure`][audian_async.bulk.Failure] in finishing order; ``stream.summary`` has the counts.
    A slow consumer slows the run (a small buffer, then the workers wait), so memory stays
    bounded. An exception from the source is raised from the iteration.
    """
    engine = Runner(
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
        unit=unit,
        client=client,
        bucket=bucket,
        read_ahead=read_ahead,
    )
    return BulkStream(engine, buffer=concurrency)
