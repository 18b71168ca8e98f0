"""Bulk jobs at Kazoo's real limits, on virtual time (issue 25).

A job must progress at the server's rate whatever the bucket's refill model, and a job over
many accounts must run each account at its own bucket's pace.
"""

from __future__ import annotations

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
