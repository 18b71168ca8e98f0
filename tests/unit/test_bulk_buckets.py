"""The bulk runner with ``client=`` and ``bucket=``: scheduling by bucket, a bounded read-ahead,
waits on the client's clock, and progress that says when the job waits on rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from audian_async import APIConnectionError, AsyncAudian
from audian_async._clock import LoopClock
from audian_async.bulk import BulkSummary, run_bulk
from audian_async.bulk._progress import limit_text
from audian_async.bulk._runner import LimitStatus
from tests.helpers import API_KEY
from tests.virtual import EPOCH, FakeKazoo, run_virtual

BASE = "https://kazoo.test/v2"
A, B = "a" * 32, "b" * 32


def _client(clock: LoopClock, server: FakeKazoo) -> AsyncAudian:
    return AsyncAudian(api_key=API_KEY, base_url=BASE, transport=server.transport(), clock=clock)


def test_bucket_needs_the_client_and_read_ahead_must_be_positive() -> None:
    async def op(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="bucket= needs client="):
        anyio.run(lambda: run_bulk(op, [1], bucket=str))
    with pytest.raises(ValueError, match="read_ahead must be an integer >= 1"):
        anyio.run(lambda: run_bulk(op, [1], read_ahead=0))
    with pytest.raises(TypeError, match="client must be the SDK client"):
        anyio.run(lambda: run_bulk(op, [1], client=object()))


def test_an_error_from_bucket_is_that_inputs_failure() -> None:
    async def main() -> BulkSummary[Any]:
        clock = LoopClock(epoch=EPOCH)
        async with _client(clock, FakeKazoo(clock)) as audian:

            async def op(row: dict[str, str]) -> str:
                return row["account"]

            def bucket(row: dict[str, str]) -> str:
                return row["account"]  # KeyError for the second input

            return await run_bulk(
                op,
                [{"account": A}, {}, {"account": B}],
                client=audian,
                bucket=bucket,
                progress=False,
            )

    summary = run_virtual(main)
    assert (summary.succeeded, summary.failed) == (2, 1)
    assert summary.failures[0].key == "1" and isinstance(summary.failures[0].error, KeyError)


def test_read_ahead_is_bounded_and_a_blocked_account_holds_no_worker() -> None:
    """Account A's bucket is tiny and slow; B's inputs come after 300 of A's. With a read-ahead
    of 50, the runner never holds more than 50 inputs pulled and not started, and B's inputs go
    as soon as they are in reach, not after A's."""
    pulled = 0
    started = 0
    most_ahead = 0
    finished_at: dict[str, float] = {}

    async def main() -> BulkSummary[Any]:
        nonlocal started
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(clock, bucket=5, refill=1, per_account=True, latency=0.003)
        async with _client(clock, server) as audian:
            await audian.authenticate()

            def rows() -> Iterator[dict[str, str]]:
                nonlocal pulled, most_ahead
                for account, n in ((A, 40), (B, 30)):
                    for j in range(n):
                        pulled += 1
                        most_ahead = max(most_ahead, pulled - started)
                        yield {"account": account, "username": f"{account[0]}{j}"}

            async def create(row: dict[str, str]) -> Any:
                nonlocal started
                started += 1
                view = audian.for_account(row["account"])
                user = await view.users.create(
                    first_name="F", last_name="L", username=row["username"]
                )
                finished_at[row["username"]] = clock.now()
                return user

            return await run_bulk(
                create,
                rows(),
                concurrency=4,
                key=lambda r: r["username"],
                client=audian,
                bucket=lambda r: r["account"],
                read_ahead=50,
                progress=False,
            )

    summary = run_virtual(main)
    assert summary.succeeded == 70 and summary.failed == 0
    assert most_ahead <= 50 + 1
    # A: 5 at once, then one a second: 35 s. B fits in its bucket's 5 plus 25 s of refill; it
    # started long before A finished (the workers did not all wait on A's empty bucket).
    assert max(finished_at[f"b{j}"] for j in range(5)) < 1.0
    assert max(finished_at.values()) < 40


def test_backoffs_wait_on_the_clients_clock() -> None:
    """The runner slept its backoffs with anyio.sleep; on a client with a clock of its own
    they now go through that clock."""

    class StepClock:
        def __init__(self) -> None:
            self.t = 0.0
            self.slept: list[float] = []

        def now(self) -> float:
            return self.t

        def wall(self) -> float:
            return 1_800_000_000.0 + self.t

        async def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)
            self.t += seconds
            await anyio.lowlevel.checkpoint()

    clock = StepClock()
    calls = 0

    async def flaky(x: int) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise APIConnectionError("connection reset", method="PUT", url="/users")
        return x

    async def main() -> BulkSummary[Any]:
        async with AsyncAudian(api_key=API_KEY, base_url=BASE, clock=clock) as audian:
            with anyio.fail_after(5):
                return await run_bulk(
                    flaky, [1], client=audian, progress=False, backoff_base=30, backoff_max=30
                )

    summary = anyio.run(main)
    assert summary.succeeded == 1 and summary.attempts == 3
    backoffs = [s for s in clock.slept if s != pytest.approx(0.1)]  # the watcher's looks
    assert len(backoffs) == 2 and summary.seconds == pytest.approx(clock.t)


def test_progress_and_summary_say_when_and_how_long_the_job_waited_on_rate_limits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> tuple[BulkSummary[Any], float]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(clock, bucket=100, refill=10, latency=0.003)
        async with _client(clock, server) as audian:
            await audian.authenticate()
            users = audian.users

            async def create(i: int) -> Any:
                return await users.create(first_name="F", last_name="L", username=f"u{i}")

            t0 = clock.now()
            summary = await run_bulk(create, range(200), client=audian, progress=True)
            return summary, clock.now() - t0

    summary, seconds = run_virtual(main)
    err = capsys.readouterr().err
    assert summary.succeeded == 200
    # 100 at once, then 10 a second: the job waits on the bucket most of its 10 s.
    assert 7.0 < summary.rate_limited_seconds < seconds
    assert f"waited {summary.rate_limited_seconds:.1f}s on rate limits" in summary.headline
    assert summary.headline in err
    lines = [line for line in err.splitlines() if "waiting on the server's rate limit" in line]
    assert lines and "next in ~" in lines[0]


def test_without_rate_limits_nothing_is_said_about_them() -> None:
    async def main() -> BulkSummary[Any]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(clock, latency=0.003)
        async with _client(clock, server) as audian:
            users = audian.users

            async def create(i: int) -> Any:
                return await users.create(first_name="F", last_name="L", username=f"u{i}")

            return await run_bulk(create, range(300), client=audian, progress=False)

    summary = run_virtual(main)
    assert summary.succeeded == 300 and summary.rate_limited_seconds == 0.0
    assert "rate limits" not in summary.headline


def test_limit_text() -> None:
    assert limit_text(None) == "" and limit_text(LimitStatus(0, 3, 0.0)) == ""
    assert limit_text(LimitStatus(1, 1, 0.42)) == (
        "waiting on the server's rate limit, next in ~0.4s"
    )
    assert limit_text(LimitStatus(20, 20, 0.9)) == (
        "all 20 buckets waiting on the rate limit, next in ~0.9s"
    )
    assert limit_text(LimitStatus(12, 20, 0.3)) == (
        "rate limit: 12/20 buckets waiting, next in ~0.3s"
    )
