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
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sized,
)
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeAlias, TypeVar

import anyio
import anyio.lowlevel

from .._clock import Clock, LoopClock, wait_event
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

if TYPE_CHECKING:
    from .._limiter import RateLimiter

__all__ = ["DEFAULT_READ_AHEAD", "ErrorKind", "LimitStatus", "Runner", "classify", "retry_after_of"]

T = TypeVar("T")
R = TypeVar("R")

#: How many times ``reconcile`` is called for one unknown outcome before the input fails.
RECONCILE_ATTEMPTS = 3
#: The most inputs a run with ``bucket=`` holds pulled but not started (see :class:`Runner`).
DEFAULT_READ_AHEAD = 10_000
#: Seconds between two looks at the rate limiters (progress and the time spent waiting).
WATCH_INTERVAL = 0.1
#: The longest a worker with nothing to start waits before it looks at the buckets again.
_RESCAN = 0.1


class LimitStatus(NamedTuple):
    """What the rate limits do to a run now: ``waiting`` of the ``buckets`` that have work
    cannot send (their server bucket is believed empty, or a ``Retry-After`` holds them), and
    ``expected`` seconds is the best guess of when the first of them can again."""

    waiting: int
    buckets: int
    expected: float

    @property
    def all_waiting(self) -> bool:
        """Whether the whole run waits on the server's rate limit."""
        return self.waiting > 0 and self.waiting == self.buckets


class _Bucket:
    """The inputs of one rate-limit bucket: queued (pulled, not started) and pending."""

    __slots__ = ("key", "limiter", "pending", "queue")

    def __init__(self, key: str, limiter: RateLimiter) -> None:
        self.key = key
        self.limiter = limiter
        self.queue: deque[_Item[Any]] = deque()
        self.pending = 0  # started and not finished

    def room(self, now: float) -> int:
        """How many more of its inputs may start now without waiting on the bucket."""
        limiter = self.limiter
        if limiter.ready_in(now) != 0.0:
            return 0
        if limiter.empty:
            return 0 if self.pending else 1  # the probe (or those pending will be)
        level = limiter.level
        if level is None:
            if not limiter.answers:
                # Nothing known of this bucket yet: one input finds out its level first, so
                # that the workers do not all pile into an account whose bucket may be low.
                return 0 if self.pending else 1
            return 1 << 30  # the server does not report its level: the limiter paces alone
        if level < 1:
            return 0 if self.pending else 1
        unsent = max(0, self.pending - limiter.in_flight)
        return max(0, int(level) - unsent)


class _Item(Generic[T]):
    __slots__ = ("bucket", "index", "key", "key_error", "maybe_applied", "value")

    def __init__(self, value: T, key: str, index: int, maybe_applied: bool) -> None:
        self.value = value
        self.key = key
        self.index = index
        self.maybe_applied = maybe_applied
        self.key_error: Exception | None = None
        self.bucket: _Bucket | None = None


_Emit: TypeAlias = "Callable[[Success[T, R] | Failure[T]], Awaitable[Any]]"


class Runner(Generic[T, R]):
    """One run: a fixed pool of workers pulling from a shared source.

    With ``client``, every wait of the run (backoffs, progress, the run's own clock) goes
    through the client's clock, and the run watches the client's rate limiters: how long the
    whole run waited on the server's rate limit is in the summary, and progress says when it
    waits. With ``bucket`` too, inputs are scheduled by bucket: a worker starts an input only
    when its bucket is believed to have room (the client's limiter of that bucket: the level
    the server reported, no probe pending, no ``Retry-After`` hold), and reads further ahead
    in the source while every input it holds waits on an empty bucket, at most ``read_ahead``
    inputs pulled and not started. Inputs of one bucket start in source order.
    """

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
        client: Any = None,
        bucket: Callable[[T], str] | None = None,
        read_ahead: int = DEFAULT_READ_AHEAD,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        if keep_failures < 0:
            raise ValueError("keep_failures must be >= 0")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")
        if not isinstance(read_ahead, int) or read_ahead < 1:
            raise ValueError(f"read_ahead must be an integer >= 1, got {read_ahead!r}")
        if client is not None and not hasattr(client, "rate_limiter"):
            raise TypeError(
                "client must be the SDK client (or view) the operation calls through, "
                f"not {type(client).__name__}"
            )
        if bucket is not None and client is None:
            raise ValueError(
                "bucket= needs client=: the runner schedules by the client's knowledge of each "
                "bucket (run_bulk(..., client=audian, bucket=lambda row: row['account_id']))"
            )
        self._client = client
        self._clock: Clock = client._core.engine.clock if client is not None else LoopClock()
        self._bucket_of = bucket
        self._read_ahead = read_ahead
        self._buckets: dict[str, _Bucket] = {}
        self._queued: dict[str, _Bucket] = {}  # buckets with inputs pulled and not started
        self._buffered = 0
        self._active = 0  # inputs started and not finished
        self._waiters: deque[anyio.Event] = deque()  # idle workers, first come first woken
        self._timed_waiter = False  # an idle worker wakes on the buckets' timing
        self._limit_waited = 0.0
        self._limit_status: LimitStatus | None = None
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
            seconds = (self._t1 if self._t1 is not None else self._clock.now()) - self._t0
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
            rate_limited_seconds=self._limit_waited,
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
            self._t0 = self._clock.now()
            async with anyio.create_task_group() as outer:
                if journal is not None:
                    outer.start_soon(journal.run_writer, self._fail)
                report_scope = anyio.CancelScope()
                if reporter is not None:
                    outer.start_soon(self._report, reporter, report_scope)
                watch_scope = anyio.CancelScope()
                if self._client is not None:
                    outer.start_soon(self._watch_limits, watch_scope)
                try:
                    async with anyio.create_task_group() as pool:
                        self._workers_scope = pool.cancel_scope
                        for _ in range(workers):
                            pool.start_soon(self._worker, emit)
                finally:
                    self._t1 = self._clock.now()
                    if journal is not None:
                        journal.close()
                    report_scope.cancel()
                    watch_scope.cancel()
        except BaseException as exc:
            # Ctrl-C (KeyboardInterrupt, or the task cancelled by asyncio.run's SIGINT handler)
            # or a cancelled scope: the summary is still printed below, the journal flushed.
            interrupted = self._error is None and isinstance(
                exc, (KeyboardInterrupt, anyio.get_cancelled_exc_class())
            )
            raise
        finally:
            if self._t1 is None:
                self._t1 = self._clock.now()
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
                await self._clock.sleep(reporter.interval)
                s = self.snapshot(with_failures=False)
                try:
                    reporter.update(s.succeeded, s.failed, s.skipped, s.seconds, self._limit_status)
                except Exception:
                    return  # a broken display must not stop the job

    # ------------------------------------------------------------ rate limits

    @property
    def limit_status(self) -> LimitStatus | None:
        """The rate limits' hold on the run at the last look (``None`` without ``client``)."""
        return self._limit_status

    async def _watch_limits(self, scope: anyio.CancelScope) -> None:
        """Every :data:`WATCH_INTERVAL`, look at the limiters of the buckets with work; add
        the time the whole run waited on them."""
        clock = self._clock
        with scope:
            last = clock.now()
            while True:
                await clock.sleep(WATCH_INTERVAL)
                now = clock.now()
                status = self._limit_status = self._look_at_limits()
                if status is not None and status.all_waiting:
                    self._limit_waited += now - last
                last = now

    def _look_at_limits(self) -> LimitStatus | None:
        if self._bucket_of is None:
            if not self._active:
                return LimitStatus(0, 0, 0.0)
            limiters: list[RateLimiter] = [self._client.rate_limiter]
        else:
            limiters = [b.limiter for b in self._buckets.values() if b.pending or b.queue]
        waiting = 0
        expected = math.inf
        for limiter in limiters:
            if limiter.ready_in() != 0.0:
                waiting += 1
                expected = min(expected, limiter.expected_wait())
        return LimitStatus(waiting, len(limiters), expected if waiting else 0.0)

    async def _next_item(self) -> _Item[T] | None:
        """The next input to work on, or ``None`` at the end."""
        if self._bucket_of is None:
            return await self._pull()
        while True:
            item = self._pick()
            if item is not None:
                self._wake_one()  # there may be room for more
                return item
            if not self._exhausted and self._buffered < self._read_ahead:
                item = await self._pull()
                if item is None:
                    continue
                bucket = self._bucket_for(item) if item.key_error is None else None
                if bucket is None:
                    return item  # fails at once, holds no bucket
                item.bucket = bucket
                bucket.queue.append(item)
                self._buffered += 1
                self._queued.setdefault(bucket.key, bucket)
                continue
            if self._exhausted and not self._buffered:
                while self._waiters:  # the end: no idle worker waits for more
                    self._wake_one()
                return None
            await self._wait_for_room()

    def _bucket_for(self, item: _Item[T]) -> _Bucket | None:
        """The input's bucket; ``None`` (and ``item.key_error`` set) if ``bucket`` failed."""
        assert self._bucket_of is not None
        try:
            name = self._bucket_of(item.value)
            if not isinstance(name, str):
                name = str(name)
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = _Bucket(name, self._limiter_of(name))
        except Exception as exc:
            item.key_error = exc
            return None
        return bucket

    def _limiter_of(self, name: str) -> RateLimiter:
        client = self._client
        for_account = getattr(client, "for_account", None)
        view = for_account(name) if for_account is not None else client
        limiter: RateLimiter = view.rate_limiter
        return limiter

    def _pick(self) -> _Item[T] | None:
        """An input whose bucket has room, taking the buckets in turn."""
        queued = self._queued
        if not queued:
            return None
        now = self._clock.now()
        for name, bucket in queued.items():
            if bucket.room(now) > 0:
                item: _Item[T] = bucket.queue.popleft()
                self._buffered -= 1
                bucket.pending += 1
                del queued[name]
                if bucket.queue:
                    queued[name] = bucket  # to the back of the turn
                return item
        return None

    async def _wait_for_room(self) -> None:
        """Wait for an input to finish (or start). One idle worker at a time also wakes at the
        first queued bucket's expected opening, and looks again at least every 0.1 s."""
        timeout: float | None = None
        if not self._timed_waiter:
            timeout = _RESCAN
            now = self._clock.now()
            for bucket in self._queued.values():
                wait = bucket.limiter.ready_in(now)
                if wait is not None and wait < timeout:
                    timeout = wait
            self._timed_waiter = True
        event = anyio.Event()
        self._waiters.append(event)
        try:
            if timeout is None:
                await event.wait()
            else:
                await wait_event(self._clock, event, max(timeout, 0.001))
        finally:
            if not event.is_set():
                self._waiters.remove(event)
            if timeout is not None:
                self._timed_waiter = False
                self._wake_one()  # another idle worker takes over the timing

    def _wake_one(self) -> None:
        """Let one idle worker look at the buckets again (it wakes the next if it starts one)."""
        if self._waiters:
            self._waiters.popleft().set()

    def _finished(self, item: _Item[T]) -> None:
        self._active -= 1
        bucket = item.bucket
        if bucket is not None:
            bucket.pending -= 1
            self._wake_one()

    async def _pull(self) -> _Item[T] | None:
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
            self._active += 1
            try:
                outcome = await self._process(item)
            except BaseException:
                self._finished(item)
                self._record_cancelled(item)
                raise
            self._finished(item)
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
        t0 = self._clock.now()
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
                await self._clock.sleep(wait)
                need_reconcile = True  # look first, then retry only if it is not there
                continue
            item.maybe_applied = False
            if attempts >= self._max_attempts:
                return Failure(item.value, item.key, error, attempts, self._since(t0))
            await self._clock.sleep(wait)

    def _since(self, t0: float) -> float:
        return self._clock.now() - t0

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
                await self._clock.sleep(wait)
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
