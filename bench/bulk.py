"""The bulk runner creating users: ``python -m bench.bulk --port P --n N --transport T``.

``run_bulk(users.create, rows, concurrency=C)`` against the benchmark server; prints one JSON
line with the wall time, creates per second, client CPU per create, and the number of
creates the server received (it must equal ``N``: nothing lost, nothing sent twice).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from .clients import _stats


async def bulk(port: int, n: int, transport: str, concurrency: int) -> dict[str, Any]:
    from audian_async import AsyncAudian
    from audian_async.bulk import run_bulk

    async with AsyncAudian(
        api_key="bench-key", base_url=f"http://127.0.0.1:{port}/v2", transport=transport
    ) as audian:
        await audian.authenticate()
        users = audian.users

        async def create(row: dict[str, str]) -> Any:
            return await users.create(**row)

        rows = (
            {"first_name": "Bulk", "last_name": f"User {i}", "username": f"bulk.user.{i}"}
            for i in range(n)
        )
        before = await _stats(port)
        cpu0 = time.process_time()
        started = time.perf_counter()
        summary = await run_bulk(
            create,
            rows,
            concurrency=concurrency,
            key=lambda row: row["username"],
            progress=False,
            total=n,
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        after = await _stats(port)
    return {
        "transport": transport,
        "n": n,
        "concurrency": concurrency,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "server_creates": after["created"] - before["created"],
        "seconds": wall,
        "rps": n / wall,
        "cpu_us": cpu / n * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--transport", default="aiohttp")
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bulk(args.port, args.n, args.transport, args.concurrency))))


if __name__ == "__main__":
    main()
