"""Scenarios of a server that pushes back: ``python -m bench.pushback SCENARIO [options]``.

Each run starts ``bench.kazoo`` in its own process, drives the SDK against it over loopback
and prints one JSON line. Scenarios:

* ``token-expiry``: tokens live 1 s (``exp`` in whole seconds, no ``iat``), 100 callers make
  600 ``users.get`` over about 3 s. Counts failures and token exchanges against the token
  lifetimes the run crossed.
* ``chaos-client`` / ``chaos-bulk``: 2,000 creates at concurrency 64 against a Kazoo bucket
  (200 tokens, +100 a second as one block), 5% of requests answered 503 before acting and 2%
  of creates dropped after acting. ``chaos-client`` is the client alone (a semaphore around
  ``users.create``; an unknown outcome is looked up, then retried if absent, as a careful
  user would); ``chaos-bulk`` is ``run_bulk`` in the README's bulk configuration. Reports each
  input's outcome against the server's own records (lost, duplicated, misreported) and the
  time against the bucket's ideal ``(N - B) / R``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

from audian_async import APIOutcomeUnknownError, AsyncAudian


class KazooProcess:
    """``bench.kazoo`` in a child process, stopped when the block ends."""

    def __init__(self, *options: str) -> None:
        self.options = options
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> KazooProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.kazoo", *self.options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"bench.kazoo did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__stats", timeout=10) as r:
            return dict(json.loads(r.read()))

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def token_expiry(transport: str) -> dict[str, Any]:
    callers, per_caller, spacing = 100, 6, 0.5
    with KazooProcess("--token-lifetime", "1") as server:
        failures: list[str] = []
        async with AsyncAudian(
            api_key="bench-key", base_url=server.base_url, transport=transport
        ) as audian:
            started_wall = time.time()

            async def caller(n: int) -> None:
                await asyncio.sleep(n * spacing / callers)  # spread: calls always in flight
                for i in range(per_caller):
                    try:
                        await audian.users.get(f"u{n}x{i}")
                    except Exception as exc:
                        failures.append(type(exc).__name__)
                    await asyncio.sleep(spacing)

            await asyncio.gather(*(caller(n) for n in range(callers)))
            ended_wall = time.time()
        stats = server.stats()
    crossed = int(ended_wall) - int(started_wall)
    return {
        "scenario": "token-expiry",
        "transport": transport,
        "calls": callers * per_caller,
        "failures": len(failures),
        "failure_types": sorted(set(failures)),
        "exchanges": stats.get("exchanges", 0),
        "lifetimes_crossed": crossed,
        "rejected_401": stats.get("rejected_401", 0),
        "seconds": ended_wall - started_wall,
    }


CHAOS = ("--bucket", "200", "--refill", "100", "--fail-503", "0.05", "--drop-after", "0.02")


def _rows(n: int) -> list[dict[str, str]]:
    return [
        {"first_name": "Chaos", "last_name": f"User {i}", "username": f"chaos.{i:05d}"}
        for i in range(n)
    ]


async def chaos(mode: str, n: int, transport: str, extra: tuple[str, ...]) -> dict[str, Any]:
    bucket, refill = 200, 100
    rows = _rows(n)
    reported: dict[str, str] = {}  # username -> "ok" | "failed: <error>"
    with KazooProcess(*CHAOS, *extra) as server:
        async with AsyncAudian(
            api_key="bench-key", base_url=server.base_url, transport=transport
        ) as audian:
            await audian.authenticate()
            users = audian.users

            async def find(row: dict[str, str]) -> Any:
                return await users.list(
                    filters={"username": row["username"]}, paginate=False
                ).first()

            started = time.perf_counter()
            if mode == "client":
                limit = asyncio.Semaphore(64)

                async def one(row: dict[str, str]) -> None:
                    async with limit:
                        for _ in range(5):
                            try:
                                await users.create(**row)
                                reported[row["username"]] = "ok"
                                return
                            except APIOutcomeUnknownError:
                                try:  # did the create land? then it is done
                                    if await find(row) is not None:
                                        reported[row["username"]] = "ok"
                                        return
                                except Exception as exc:
                                    reported[row["username"]] = f"failed: {type(exc).__name__}"
                                    return
                            except Exception as exc:
                                reported[row["username"]] = f"failed: {type(exc).__name__}"
                                return
                        reported[row["username"]] = "failed: gave up"

                await asyncio.gather(*(one(row) for row in rows))
            else:
                from audian_async.bulk import run_bulk

                async def create(row: dict[str, str]) -> Any:
                    return await users.create(**row)

                summary = await run_bulk(
                    create,
                    rows,
                    concurrency=64,
                    key=lambda row: row["username"],
                    reconcile=find,
                    progress=False,
                )
                for row in rows:
                    reported.setdefault(row["username"], "ok")
                for failure in summary.failures:
                    reported[failure.key] = f"failed: {type(failure.error).__name__}"
            seconds = time.perf_counter() - started
        stats = server.stats()
    created = stats["creates_by_username"]
    lost = sum(1 for r in rows if r["username"] not in reported)
    duplicated = sum(1 for count in created.values() if count > 1)
    misreported = sum(
        1
        for r in rows
        if (reported.get(r["username"]) == "ok") != (created.get(r["username"], 0) == 1)
    )
    ideal = (n - bucket) / refill
    return {
        "scenario": f"chaos-{mode}",
        "transport": transport,
        "n": n,
        "seconds": seconds,
        "ideal_seconds": ideal,
        "ratio": seconds / ideal,
        "succeeded": sum(1 for v in reported.values() if v == "ok"),
        "failed": sum(1 for v in reported.values() if v != "ok"),
        "lost": lost,
        "duplicated": duplicated,
        "misreported": misreported,
        "server": {k: v for k, v in stats.items() if k != "creates_by_username"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pushback")
    parser.add_argument("scenario", choices=["token-expiry", "chaos-client", "chaos-bulk"])
    parser.add_argument("--transport", default="httpx")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--no-tokens", action="store_true", help="the server reports no level")
    args = parser.parse_args()
    if args.scenario == "token-expiry":
        result = asyncio.run(token_expiry(args.transport))
    else:
        extra = ("--no-tokens",) if args.no_tokens else ()
        result = asyncio.run(chaos(args.scenario[6:], args.n, args.transport, extra))
        result["server_reports_tokens"] = not args.no_tokens
    print(json.dumps(result))


if __name__ == "__main__":
    main()
