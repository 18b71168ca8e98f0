"""Bulk jobs at Kazoo's real limits, on virtual time (issue 25).

A job must progress at the server's rate whatever the bucket's refill model, and a job over
many accounts must run each account at its own bucket's pace.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from audian_async import AsyncAudian
from audian_async._clock import LoopClock
from audian_async.bulk import BulkSummary, run_bulk
from tests.helpers import API_KEY
from tests.virtual import EPOCH, FakeKazoo, run_virtual

BASE = "https://kazoo.test/v2"


def _client(clock: LoopClock, server: FakeKazoo) -> AsyncAudian:
    return AsyncAudian(api_key=API_KEY, base_url=BASE, transport=server.transport(), clock=clock)


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("block", True),
        ("token", True),
        ("drain", True),
        # Without `tokens` in the envelope the limiter learns the bucket from 429s alone.
        ("block", False),
        # One token a refill: everyone let through after each refill met the empty bucket
        # again, and an input failed after its attempts (249 of 250).
        ("token", False),
        ("drain", False),
    ],
)
def test_a_job_progresses_at_the_servers_rate_whatever_its_refill_model(
    model: str, tokens: bool
) -> None:
    """250 creates at concurrency 64, bucket 100 refilled at 10/s: the ideal is 15 s. The
    bucket that empties on every refusal ("drain") starved the job before (100 of 250 created,
    the rest failed after the deadline)."""
    n = 250

    async def main() -> tuple[BulkSummary[Any], float, FakeKazoo]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(
            clock, bucket=100, refill=10, model=model, latency=0.003, report_tokens=tokens
        )
        async with _client(clock, server) as audian:
            await audian.authenticate()
            users = audian.users

            async def create(row: dict[str, str]) -> Any:
                return await users.create(**row)

            rows = [{"first_name": "B", "last_name": str(i), "username": f"u{i}"} for i in range(n)]
            started = clock.now()
            summary = await run_bulk(
                create, rows, concurrency=64, key=lambda r: r["username"], progress=False
            )
            return summary, clock.now() - started, server

    summary, seconds, server = run_virtual(main)
    assert (summary.succeeded, summary.failed, summary.cancelled) == (n, 0, 0)
    created = sorted(u["username"] for u in server.users.values())
    assert created == sorted(f"u{i}" for i in range(n))  # every input once
    ideal = (n - 100) / 10
    assert seconds <= 1.3 * ideal, f"{seconds:.1f}s for an ideal of {ideal:.0f}s"


ACCOUNTS = [f"{i:02d}" + "c" * 30 for i in range(20)]
PER_ACCOUNT = 150


def _many_accounts(order: str) -> tuple[BulkSummary[Any], float, FakeKazoo, dict[str, int]]:
    async def main() -> tuple[BulkSummary[Any], float, FakeKazoo, dict[str, int]]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(clock, bucket=100, refill=10, per_account=True, latency=0.003)
        async with _client(clock, server) as audian:
            await audian.authenticate()

            async def create(row: dict[str, str]) -> Any:
                view = audian.for_account(row["account_id"])
                return await view.users.create(
                    first_name="B", last_name="M", username=row["username"]
                )

            rows = [
                {"account_id": a, "username": f"{a[:2]}.{j}"}
                for a in ACCOUNTS
                for j in range(PER_ACCOUNT)
            ]
            if order == "shuffled":
                random.Random(3).shuffle(rows)
            results: dict[str, int] = {}

            def seen(outcome: Any) -> None:
                results[outcome.key] = results.get(outcome.key, 0) + 1

            started = clock.now()
            summary = await run_bulk(
                create,
                rows,
                concurrency=64,
                key=lambda r: r["username"],
                client=audian,
                bucket=lambda r: r["account_id"],
                progress=False,
                on_outcome=seen,
            )
            return summary, clock.now() - started, server, results

    return run_virtual(main)


def test_many_accounts_each_run_at_their_own_buckets_pace() -> None:
    """20 accounts x 150 users in account order (35 s before: the workers waited on the first
    accounts' empty buckets): within 1.5x the slowest account's ideal
    (50 creates past a full bucket at 10/s: 5 s), nothing lost, duplicated or misreported;
    shuffled inputs within 10% of that."""
    total = len(ACCOUNTS) * PER_ACCOUNT
    ordered, seconds, server, results = _many_accounts("ordered")
    assert (ordered.succeeded, ordered.failed, ordered.cancelled) == (total, 0, 0)
    assert len(results) == total and set(results.values()) == {1}
    assert len(server.users) == total  # nothing created twice
    assert server.created_by_account == dict.fromkeys(ACCOUNTS, PER_ACCOUNT)
    ideal = (PER_ACCOUNT - 100) / 10
    assert seconds <= 1.5 * ideal, f"{seconds:.1f}s for an ideal of {ideal:.0f}s"
    shuffled, shuffled_seconds, server, _ = _many_accounts("shuffled")
    assert shuffled.succeeded == total and len(server.users) == total
    assert shuffled_seconds <= 1.1 * seconds


def test_a_bucket_not_heard_from_yet_gets_one_input_first() -> None:
    """100 accounts x 40 users, each bucket 10 + 10/s (ideal 3 s). Every worker piled into the
    next account whose level was still unknown, 30 of 40 met its empty bucket and waited a
    refill inside the client: 7.8 s. One input per unknown bucket finds its level first."""

    async def main() -> tuple[BulkSummary[Any], float, FakeKazoo]:
        clock = LoopClock(epoch=EPOCH)
        server = FakeKazoo(clock, bucket=10, refill=10, per_account=True, latency=0.003)
        async with _client(clock, server) as audian:
            await audian.authenticate()

            async def create(row: tuple[str, str]) -> Any:
                view = audian.for_account(row[0])
                return await view.users.create(first_name="F", last_name="L", username=row[1])

            rows = [(f"{a:032x}", f"{a}.{j}") for a in range(100) for j in range(40)]
            started = clock.now()
            summary = await run_bulk(
                create,
                rows,
                concurrency=64,
                key=lambda r: r[1],
                client=audian,
                bucket=lambda r: r[0],
                progress=False,
            )
            return summary, clock.now() - started, server

    summary, seconds, server = run_virtual(main)
    assert summary.succeeded == 4000 and len(server.users) == 4000
    assert seconds <= 1.3 * 3.0, f"{seconds:.1f}s for an ideal of 3s"
