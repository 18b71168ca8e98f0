"""The bulk runner: exactly-once outcomes, laziness, cancellation, AIMD, reconcile, journal."""

from __future__ import annotations

import contextlib
import json
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from audian_async._errors import (
    APIConnectionError,
    APIOutcomeUnknownError,
    APIOutcomeUnknownTimeoutError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from audian_async.bulk import BulkSummary, Failure, Success, bulk_iter, run_bulk
from audian_async.bulk._runner import ErrorKind, classify, retry_after_of

FAST: dict[str, Any] = {"backoff_base": 0.001, "backoff_max": 0.004}


def rate_limited(retry_after: float | None = None) -> RateLimitError:
    exc = RateLimitError("429", status_code=429)
    exc.retry_after = retry_after
    return exc


def server_error(status: int) -> InternalServerError:
    return InternalServerError(str(status), status_code=status)


class Source:
    """A lazy generator source that counts how far it has been pulled."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(self.n):
            self.pulled += 1
            yield {"username": f"u{i}", "password": f"secret-{i}", "i": i}

    async def aiter(self) -> AsyncIterator[dict[str, Any]]:
        for i in range(self.n):
            await anyio.lowlevel.checkpoint()
            self.pulled += 1
            yield {"username": f"u{i}", "password": f"secret-{i}", "i": i}


class Store:
    """A fake user store: counts creations, answers lookups."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}
        self.creations = Counter[str]()
        self.in_flight = 0
        self.in_flight_seen: list[int] = []

    async def create(self, row: dict[str, Any]) -> dict[str, str]:
        self.in_flight += 1
        self.in_flight_seen.append(self.in_flight)
        try:
            await anyio.lowlevel.checkpoint()
            name = row["username"]
            if name in self.users:
                raise ConflictError("409 exists", status_code=409)
            self.creations[name] += 1
            self.users[name] = f"id-{name}"
            await anyio.lowlevel.checkpoint()
            return {"id": self.users[name]}
        finally:
            self.in_flight -= 1

    async def find(self, row: dict[str, Any]) -> dict[str, str] | None:
        await anyio.lowlevel.checkpoint()
        uid = self.users.get(row["username"])
        return {"id": uid} if uid else None


def by_name(row: dict[str, Any]) -> str:
    return str(row["username"])


def read_journal(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


# ----------------------------------------------------------------------------- exactly once


async def test_exactly_once_outcomes_with_random_failures() -> None:
    rng = random.Random(7)
    plan = {
        f"u{i}": rng.choice(["ok"] * 6 + ["bad", "conflict", "boom", "429", "conn", "503"])
        for i in range(1000)
    }
    calls = Counter[str]()

    async def op(row: dict[str, Any]) -> str:
        name = row["username"]
        calls[name] += 1
        await anyio.lowlevel.checkpoint()
        kind = plan[name]
        first = calls[name] == 1
        if kind == "bad":
            raise BadRequestError("400 validation error", status_code=400)
        if kind == "conflict":
            raise ConflictError("409", status_code=409)
        if kind == "boom":
            raise RuntimeError("not an SDK error")
        if kind == "429" and first:
            raise rate_limited()
        if kind == "conn" and first:
            raise APIConnectionError("reset")
        if kind == "503" and first:
            raise server_error(503)
        return f"id-{name}"

    seen: list[Success[Any, str] | Failure[Any]] = []
    summary = await run_bulk(
        op, Source(1000), concurrency=32, key=by_name, on_outcome=seen.append, **FAST
    )
    keys = Counter(o.key for o in seen)
    assert len(keys) == 1000 and set(keys.values()) == {1}
    assert summary.total == 1000
    assert summary.succeeded + summary.failed == 1000
    assert summary.cancelled == 0 and summary.skipped == 0
    fatal = {k for k, v in plan.items() if v in ("bad", "conflict", "boom")}
    assert {o.key for o in seen if isinstance(o, Failure)} == fatal
    assert summary.failed == len(fatal) == len(summary.failures)
    for o in seen:
        if isinstance(o, Success):
            assert o.result == f"id-{o.key}"
            assert o.attempts == (2 if plan[o.key] in ("429", "conn", "503") else 1)
        else:
            assert o.attempts == 1  # non-retryable: no retry
            assert calls[o.key] == 1
    assert summary.attempts == sum(calls.values())
    assert summary.throttled == sum(1 for v in plan.values() if v == "429")
    assert "succeeded" in str(summary)


async def test_failures_cap_and_summary_text() -> None:
    async def op(i: int) -> int:
        raise BadRequestError(f"400 nope {i}", status_code=400)

    summary = await run_bulk(op, range(50), concurrency=4, keep_failures=5)
    assert summary.failed == 50 and len(summary.failures) == 5
    text = str(summary)
    assert "50 failed" in text and "and 45 more failures" in text
    assert not summary.ok


async def test_retry_budget_exhausted_is_a_failure() -> None:
    calls = Counter[int]()

    async def op(i: int) -> int:
        calls[i] += 1
        raise rate_limited()

    summary = await run_bulk(op, range(3), concurrency=3, max_attempts=3, **FAST)
    assert summary.failed == 3
    assert all(isinstance(f.error, RateLimitError) and f.attempts == 3 for f in summary.failures)
    assert set(calls.values()) == {3}


async def test_key_function_error_is_that_inputs_failure() -> None:
    def key(row: dict[str, Any]) -> str:
        return str(row["username"])

    async def op(row: dict[str, Any]) -> None:
        await anyio.sleep(0)

    rows: list[dict[str, Any]] = [{"username": "a"}, {"nope": 1}, {"username": "c"}]
    summary = await run_bulk(op, rows, key=key, concurrency=2)
    assert summary.succeeded == 2 and summary.failed == 1
    assert isinstance(summary.failures[0].error, KeyError)
    assert summary.failures[0].key == "1"


def test_classification() -> None:
    assert classify(APIOutcomeUnknownError("x")) is ErrorKind.UNKNOWN
    assert classify(APIOutcomeUnknownTimeoutError("x")) is ErrorKind.UNKNOWN
    assert classify(rate_limited()) is ErrorKind.RATE_LIMITED
    assert classify(server_error(503)) is ErrorKind.TRANSIENT  # a fault, not a rate limit
    assert classify(server_error(502)) is ErrorKind.GATEWAY
    assert classify(server_error(504)) is ErrorKind.GATEWAY
    assert classify(server_error(500)) is ErrorKind.FATAL
    assert classify(APITimeoutError("t")) is ErrorKind.TRANSIENT
    assert classify(APIConnectionError("c")) is ErrorKind.TRANSIENT
    assert classify(ValidationError("name", "required", "missing")) is ErrorKind.FATAL
    assert classify(NotFoundError("404", status_code=404)) is ErrorKind.FATAL
    assert classify(ValueError()) is ErrorKind.FATAL
    assert retry_after_of(rate_limited(2.5)) == 2.5
    assert retry_after_of(rate_limited()) is None
    e503 = InternalServerError("503", status_code=503, headers={"retry-after": "3"})
    assert retry_after_of(e503) == 3.0


# ----------------------------------------------------------------------------- laziness


@pytest.mark.parametrize("use_async", [False, True])
async def test_source_is_pulled_lazily(use_async: bool) -> None:
    src = Source(2000)
    finished = 0
    worst = 0
    concurrency = 8

    async def op(row: dict[str, Any]) -> None:
        nonlocal finished, worst
        worst = max(worst, src.pulled - finished)
        await anyio.lowlevel.checkpoint()
        finished += 1

    inputs = src.aiter() if use_async else iter(src)
    summary = await run_bulk(op, inputs, concurrency=concurrency)
    assert summary.succeeded == 2000 and src.pulled == 2000
    assert worst <= concurrency + 1


async def test_slow_consumer_backpressures_the_source() -> None:
    src = Source(500)
    async with bulk_iter(lambda r: anyio.sleep(0), iter(src), concurrency=4) as outcomes:
        n = 0
        async for _ in outcomes:
            n += 1
            # buffer (= concurrency) + one per worker + the one just taken
            assert src.pulled - n <= 4 + 4 + 1
            await anyio.sleep(0)
    assert n == 500 and outcomes.summary.succeeded == 500


# ----------------------------------------------------------------------------- cancellation


async def test_cancellation_mid_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    store = Store()
    src = Source(1000)
    seen: list[str] = []
    scope = anyio.CancelScope()

    def on_outcome(o: Success[Any, Any] | Failure[Any]) -> None:
        seen.append(o.key)
        if len(seen) == 300:
            scope.cancel()

    with scope:
        await run_bulk(
            store.create,
            iter(src),
            concurrency=16,
            key=by_name,
            journal=journal,
            on_outcome=on_outcome,
        )
    assert scope.cancelled_caught
    assert len(seen) == len(set(seen))
    lines = read_journal(journal)
    done = [e["key"] for e in lines if e["status"] in ("ok", "failed")]
    assert len(done) == len(set(done)) == len(seen)  # every recorded outcome journaled once
    interrupted = {e["key"] for e in lines if e["status"] == "interrupted"}
    assert not interrupted & set(done)
    assert len(store.users) == len(seen) + len(interrupted & set(store.users))
    assert src.pulled - len(seen) <= 16  # the rest were in flight: cancelled

    # Resume: every input ends created exactly once, nothing is lost.
    summary = await run_bulk(
        store.create,
        iter(Source(1000)),
        concurrency=16,
        key=by_name,
        journal=journal,
        reconcile=store.find,
    )
    assert summary.skipped == len(seen)
    assert summary.succeeded + summary.skipped == 1000 and summary.failed == 0
    assert len(store.users) == 1000
    assert set(store.creations.values()) == {1}


async def test_stream_cancelled_from_outside_counts_every_pulled_input() -> None:
    src = Source(10_000)
    taken: list[str] = []

    async def op(row: dict[str, Any]) -> int:
        await anyio.sleep(0)
        await anyio.sleep(0)
        return int(row["i"])

    with anyio.CancelScope() as scope:
        async with bulk_iter(op, iter(src), concurrency=32, key=by_name) as outcomes:
            async for o in outcomes:
                taken.append(o.key)
                if len(taken) == 500:
                    scope.cancel()
    s = outcomes.summary
    assert s.cancelled > 0
    assert s.succeeded + s.failed + s.cancelled + s.skipped == s.total == src.pulled
    assert len(taken) == len(set(taken)) and len(taken) <= s.succeeded


async def test_stream_early_break_cancels_the_rest() -> None:
    src = Source(10_000)
    async with bulk_iter(lambda r: anyio.sleep(0), iter(src), concurrency=8) as outcomes:
        async for o in outcomes:
            if o.key == "100":
                break
    s = outcomes.summary
    assert s.total == src.pulled < 10_000
    assert s.succeeded + s.cancelled == s.total


async def test_stream_must_be_entered() -> None:
    stream = bulk_iter(lambda r: anyio.sleep(0), range(3))
    with pytest.raises(TypeError, match="async with"):
        async for _ in stream:
            pass


async def test_stream_body_error_propagates_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with bulk_iter(lambda r: anyio.sleep(0), range(100), concurrency=4) as outcomes:
            async for _ in outcomes:
                raise KeyError("mine")


def test_source_error_is_reraised_and_in_flight_cancelled() -> None:
    from tests.virtual import run_virtual

    def rows() -> Iterator[int]:
        yield from range(50)
        raise OSError("disk gone")

    finished: list[int] = []

    async def op(i: int) -> int:
        # Inputs 45-49 are still running (for a virtual minute) when the source fails.
        await anyio.sleep(60 if i >= 45 else 0)
        finished.append(i)
        return i

    outcomes: list[Any] = []

    async def main() -> BulkSummary[int]:
        with pytest.raises(OSError, match="disk gone"):
            await run_bulk(op, rows(), concurrency=8, on_outcome=outcomes.append)
        with pytest.raises(OSError, match="disk gone"):
            async with bulk_iter(op, rows(), concurrency=8) as stream:
                async for _ in stream:
                    pass
        return stream.summary

    s = run_virtual(main)
    assert sorted(o.input for o in outcomes) == list(range(45))
    assert sorted(finished) == sorted([*range(45), *range(45)])  # in-flight ones cancelled
    assert s.total == 50 and s.succeeded == 45 and s.cancelled == 5


async def test_callback_error_stops_the_run() -> None:
    def on_outcome(o: Any) -> None:
        if o.key == "10":
            raise ValueError("callback bug")

    with pytest.raises(ValueError, match="callback bug"):
        await run_bulk(lambda r: anyio.sleep(0), range(1000), on_outcome=on_outcome)


# ----------------------------------------------------------------------------- AIMD


async def test_429_and_503_storms_retry_each_input_and_keep_every_worker() -> None:
    # Pacing is the client's rate limiter's job: the runner retries the inputs that got an
    # error and never shrinks the pool (a 503 is a datastore fault, not a rate limit).
    store = Store()
    storm = {"left": 60}

    async def create(row: dict[str, Any]) -> dict[str, str]:
        left = storm["left"]
        if left > 0:
            storm["left"] = left - 1
            await anyio.lowlevel.checkpoint()
            raise rate_limited() if left % 2 else server_error(503)
        return await store.create(row)

    summary = await run_bulk(
        create, Source(1500), concurrency=16, key=by_name, max_attempts=30, **FAST
    )
    assert summary.succeeded == 1500 and summary.failed == 0
    assert len(store.users) == 1500 and set(store.creations.values()) == {1}
    assert summary.throttled == 30


def test_retry_after_of_reads_seconds_and_http_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    import email.utils
    import math
    import time

    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)  # the date is read at a known moment
    assert retry_after_of(rate_limited(2.5)) == 2.5
    dated = InternalServerError(
        "503",
        status_code=503,
        headers={"retry-after": email.utils.formatdate(now + 30, usegmt=True)},
    )
    # HTTP dates have whole seconds: the date names the second 30 s ahead, truncated.
    assert retry_after_of(dated) == pytest.approx(math.floor(now + 30) - now, abs=1e-6)
    assert retry_after_of(server_error(503)) is None


def test_a_retry_after_delays_only_its_own_input() -> None:
    from tests.virtual import run_virtual

    async def main() -> tuple[dict[int, list[float]], BulkSummary[int]]:
        starts: dict[int, list[float]] = {}

        async def op(i: int) -> int:
            starts.setdefault(i, []).append(anyio.current_time())
            if i == 0 and len(starts[0]) == 1:
                raise rate_limited(retry_after=0.2)
            await anyio.sleep(0.01)
            return i

        summary = await run_bulk(op, range(40), concurrency=4, **FAST)
        return starts, summary

    starts, summary = run_virtual(main)
    assert summary.succeeded == 40
    t0 = starts[0][0]
    assert starts[0][1] - t0 == pytest.approx(0.2)  # input 0 waited the advised 0.2 s
    others = sorted(t[0] - t0 for i, t in starts.items() if i)
    assert others[-1] < 0.2  # the other 39 went on meanwhile on the 3 free workers


def test_a_retry_after_beyond_a_minute_fails_the_input_instead_of_stalling() -> None:
    from tests.virtual import run_virtual

    async def main() -> BulkSummary[int]:
        async def op(i: int) -> int:
            if i == 3:
                raise rate_limited(retry_after=3600)
            return i

        return await run_bulk(op, range(10), concurrency=2, **FAST)

    summary = run_virtual(main)
    assert summary.succeeded == 9 and summary.failed == 1
    assert summary.failures[0].key == "3" and summary.seconds < 1


# ----------------------------------------------------------------------------- reconcile


async def test_reconcile_on_unknown_outcome_prevents_duplicate_create() -> None:
    store = Store()
    lost_answer = {f"u{i}" for i in range(0, 200, 7)}  # applied, answer lost
    never_sent = {f"u{i}" for i in range(3, 200, 11)}  # not applied

    async def create(row: dict[str, Any]) -> dict[str, str]:
        name = row["username"]
        if name in lost_answer and name not in store.users:
            await store.create(row)
            raise APIOutcomeUnknownTimeoutError("read timeout after send")
        if name in never_sent and store.creations[name] == 0 and name not in tried:
            tried.add(name)
            raise APIOutcomeUnknownError("connection dropped")
        return await store.create(row)

    tried: set[str] = set()
    outcomes: list[Any] = []
    summary = await run_bulk(
        create,
        Source(200),
        key=by_name,
        reconcile=store.find,
        concurrency=16,
        on_outcome=outcomes.append,
        **FAST,
    )
    assert summary.succeeded == 200 and summary.failed == 0
    assert set(store.creations.values()) == {1}  # no duplicates
    reconciled = {o.key for o in outcomes if o.reconciled}
    assert reconciled == lost_answer and summary.reconciled == len(lost_answer)
    for o in outcomes:
        if o.key in lost_answer:
            assert o.attempts == 1 and o.result == {"id": f"id-{o.key}"}
        elif o.key in never_sent:
            assert o.attempts == 2 and not o.reconciled


async def test_unknown_outcome_without_reconcile_is_a_failure_not_a_retry() -> None:
    calls = Counter[int]()

    async def create(i: int) -> int:
        calls[i] += 1
        raise APIOutcomeUnknownError("maybe created")

    summary = await run_bulk(create, range(10), concurrency=4, **FAST)
    assert summary.failed == 10
    assert set(calls.values()) == {1}
    assert all(isinstance(f.error, APIOutcomeUnknownError) for f in summary.failures)


async def test_gateway_error_reconciles_before_retrying() -> None:
    store = Store()

    async def create(row: dict[str, Any]) -> dict[str, str]:
        if row["username"] not in store.users:
            await store.create(row)
            raise server_error(504)  # the proxy gave up, the create landed
        raise AssertionError("must not create twice")

    summary = await run_bulk(
        create, Source(20), key=by_name, reconcile=store.find, concurrency=4, **FAST
    )
    assert summary.succeeded == 20 and summary.reconciled == 20
    assert set(store.creations.values()) == {1}


async def test_gateway_error_without_reconcile_fails_instead_of_resending() -> None:
    store = Store()

    async def create(row: dict[str, Any]) -> dict[str, str]:
        await store.create(row)
        raise server_error(502)  # the create landed, the gateway answered 502

    summary = await run_bulk(create, Source(10), key=by_name, concurrency=4, **FAST)
    assert summary.failed == 10 and summary.succeeded == 0
    assert set(store.creations.values()) == {1}


async def test_reconcile_errors_are_retried_then_reported() -> None:
    lookups = Counter[int]()

    async def create(i: int) -> int:
        raise APIOutcomeUnknownError("maybe")

    async def find(i: int) -> int | None:
        lookups[i] += 1
        if i == 0:
            raise RuntimeError("lookup broken")
        if lookups[i] == 1:
            raise APIConnectionError("blip")
        return 100 + i

    outcomes: list[Any] = []
    summary = await run_bulk(create, range(3), reconcile=find, on_outcome=outcomes.append, **FAST)
    assert summary.succeeded == 2 and summary.failed == 1
    (failure,) = summary.failures
    assert failure.key == "0" and isinstance(failure.error, APIOutcomeUnknownError)
    assert any("reconcile failed" in n for n in failure.error.__notes__)
    assert lookups[0] == 3 and lookups[1] == 2
    assert sorted(o.result for o in outcomes if isinstance(o, Success)) == [101, 102]


# ----------------------------------------------------------------------------- journal


async def test_journal_resume_skips_done_and_survives_truncated_line(tmp_path: Path) -> None:
    journal = tmp_path / "provision.jsonl"
    store = Store()
    flaky = {"u3", "u8"}

    async def create(row: dict[str, Any]) -> dict[str, str]:
        if row["username"] in flaky:
            raise BadRequestError("400 validation error", status_code=400)
        return await store.create(row)

    first = await run_bulk(create, Source(10), key=by_name, journal=journal, concurrency=3)
    assert first.succeeded == 8 and first.failed == 2
    text = journal.read_text()
    assert "secret-" not in text and "password" not in text  # never the payload
    entries = read_journal(journal)
    assert len(entries) == 10
    ok = [e for e in entries if e["status"] == "ok"]
    assert all(e["result_id"] == f"id-{e['key']}" and e["attempts"] == 1 for e in ok)
    bad = [e for e in entries if e["status"] == "failed"]
    assert {e["key"] for e in bad} == flaky
    assert all(e["error"] == "BadRequestError" and "400" in e["message"] for e in bad)
    assert all("ts" in e for e in entries)

    # A crash mid-write leaves half a line.
    with journal.open("a") as f:
        f.write('{"key":"u9","status":"o')
    flaky.clear()
    second = await run_bulk(create, Source(12), key=by_name, journal=journal, concurrency=3)
    assert second.skipped == 8
    assert second.succeeded == 4 and second.failed == 0  # u3, u8 retried; u10, u11 new
    assert set(store.creations.values()) == {1} and len(store.users) == 12
    lines = journal.read_text().splitlines()
    assert lines[10] == '{"key":"u9","status":"o'  # the fragment stays on its own line
    assert [json.loads(line)["status"] for line in lines[11:]] == ["ok"] * 4

    third = await run_bulk(create, Source(12), key=by_name, journal=journal)
    assert third.skipped == 12 and third.attempts == 0


async def test_interrupted_create_is_reconciled_on_resume(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    journal.write_text(
        '{"key":"u0","status":"interrupted","ts":"x"}\n'
        '{"key":"u1","status":"interrupted","ts":"x"}\n'
    )
    store = Store()
    store.users["u0"] = "id-u0"  # u0's create had landed; u1's had not
    summary = await run_bulk(
        store.create, Source(3), key=by_name, journal=journal, reconcile=store.find
    )
    assert summary.succeeded == 3 and summary.reconciled == 1
    assert store.creations == Counter({"u1": 1, "u2": 1})


# ----------------------------------------------------------------------------- progress


async def test_progress_forced_prints_final_line(capsys: pytest.CaptureFixture[str]) -> None:
    await run_bulk(lambda r: anyio.sleep(0), range(10), progress=True)
    err = capsys.readouterr().err
    assert "bulk: 10 inputs" in err and "10 succeeded" in err


async def test_progress_auto_is_silent_without_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = await run_bulk(lambda r: anyio.sleep(0), range(10))
    assert summary.succeeded == 10
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


async def test_summary_of_empty_input() -> None:
    empty: list[int] = []
    summary = await run_bulk(lambda r: anyio.sleep(0), empty)
    assert isinstance(summary, BulkSummary)
    assert summary.total == 0 and summary.ok and summary.per_second == 0.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        bulk_iter(lambda r: anyio.sleep(0), [], concurrency=0)
    with pytest.raises(ValueError, match="max_attempts"):
        bulk_iter(lambda r: anyio.sleep(0), [], max_attempts=0)


def test_outcome_repr_hides_input() -> None:
    s = Success({"password": "hunter2"}, "k", 1, 1, 0.1)
    f = Failure({"password": "hunter2"}, "k", ValueError("x"), 1, 0.1)
    assert "hunter2" not in repr(s) and "hunter2" not in repr(f)
    assert s.ok and not f.ok


# ----------------------------------------------------------------------------- trio


# pytest-asyncio's auto mode claims every ``async def`` test, ``@pytest.mark.anyio`` ones
# included (they would silently run on asyncio), so trio runs are driven explicitly.


def test_runs_under_trio(tmp_path: Path) -> None:
    anyio.run(_trio_scenario, tmp_path, backend="trio")


async def _trio_scenario(tmp_path: Path) -> None:
    import sniffio

    assert sniffio.current_async_library() == "trio"
    store = Store()
    storm = {"left": 20}
    unknown = {f"u{i}" for i in range(0, 300, 13)}

    async def create(row: dict[str, Any]) -> dict[str, str]:
        name = row["username"]
        if storm["left"] > 0:
            storm["left"] -= 1
            raise rate_limited()
        if name == "u5":
            raise BadRequestError("400", status_code=400)
        if name in unknown and name not in store.users:
            await store.create(row)
            raise APIOutcomeUnknownError("lost answer")
        return await store.create(row)

    journal = tmp_path / "j.jsonl"
    summary = await run_bulk(
        create,
        Source(300).aiter(),
        key=by_name,
        journal=journal,
        reconcile=store.find,
        concurrency=16,
        max_attempts=20,
        **FAST,
    )
    assert summary.succeeded == 299 and summary.failed == 1
    assert summary.reconciled == len(unknown) and summary.throttled == 20
    assert set(store.creations.values()) == {1}
    assert len(read_journal(journal)) == 300

    # cancellation on trio
    src = Source(5000)
    with anyio.CancelScope() as scope:
        async with bulk_iter(Store().create, iter(src), key=by_name, concurrency=8) as s:
            async for o in s:
                if o.key == "u200":
                    scope.cancel()
    sm = s.summary
    assert sm.cancelled > 0 and sm.succeeded + sm.cancelled == sm.total == src.pulled


def test_reporter_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from audian_async.bulk import _progress as bp

    assert bp.make_reporter(False, 10) is None
    quiet = bp.make_reporter(None, 10)  # not a terminal: a plain line every 10 s
    assert isinstance(quiet, bp._LineReporter) and quiet.interval == bp.QUIET_INTERVAL == 10.0
    assert isinstance(bp.make_reporter(True, 10), bp._LineReporter)
    monkeypatch.setattr(bp, "_isatty", lambda stream: True)
    pytest.importorskip("rich")
    rich_reporter = bp.make_reporter(None, None)
    assert isinstance(rich_reporter, bp._RichReporter)
    rich_reporter.update(3, 1, 0, 1.0, None)
    rich_reporter.finish("done")
    monkeypatch.setitem(sys.modules, "rich.console", None)  # rich missing
    assert isinstance(bp.make_reporter(None, 10), bp._LineReporter)
    assert isinstance(bp.make_reporter(True, 10), bp._LineReporter)


async def test_long_runs_of_journaled_skips(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    journal.write_text("".join(f'{{"key":"{i}","status":"ok"}}\n' for i in range(5000)))
    summary = await run_bulk(lambda r: anyio.sleep(0), range(5003), journal=journal)
    assert summary.skipped == 5000 and summary.succeeded == 3
