"""Peak memory while iterating a long listing: ``python -m bench.memory --port P --mode M``.

Iterates ``--users`` users through ``AsyncAudian().users.list(page_size=...)`` (Kazoo
``start_key`` pagination against the benchmark server) and prints one JSON line.

Modes:

* ``tracemalloc``: the peak of Python allocations traced during the iteration (started after
  the client authenticated, so imports and the client itself are not counted).
* ``rss``: the growth of the process's peak resident set size (``ru_maxrss``) over the
  iteration, without tracemalloc's overhead (includes allocator slack and freed-but-kept
  memory, so it reads higher).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
import tracemalloc


async def iterate(
    port: int, users: int, page_size: int, mode: str, transport: str
) -> dict[str, float]:
    from audian_async import AsyncAudian

    async with AsyncAudian(
        api_key="bench-key", base_url=f"http://127.0.0.1:{port}/v2", transport=transport
    ) as audian:
        await audian.authenticate()
        first = await audian.users.list(page_size=page_size, max_items=1).first()  # warm the path
        assert first is not None
        if mode == "tracemalloc":
            tracemalloc.start()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        count = 0
        async for user in audian.users.list(page_size=page_size):
            count += 1
            assert user.id
        elapsed = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else 0
        if mode == "tracemalloc":
            tracemalloc.stop()
    if count != users:
        raise SystemExit(f"iterated {count} users, expected {users}")
    return {
        "mode": mode,
        "users": count,
        "page_size": page_size,
        "seconds": elapsed,
        "items_per_s": count / elapsed,
        "tracemalloc_peak_mb": peak / 1e6,
        "rss_growth_mb": (rss_after - rss_before) / 1024,  # ru_maxrss is in KiB on Linux
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--mode", choices=["tracemalloc", "rss"], default="tracemalloc")
    parser.add_argument("--transport", default="httpx")
    args = parser.parse_args()
    result = asyncio.run(iterate(args.port, args.users, args.page_size, args.mode, args.transport))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
