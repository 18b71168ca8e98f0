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
* ``bucket-model --model block|token|drain``: 250 creates through ``run_bulk`` at concurrency
  64 in the README's bulk configuration, bucket 100 refilled at 10/s by that model; the ideal
  is 15 s whatever the model.
* ``many-accounts [--shuffle]``: a reseller's job, 20 accounts x 150 users in one ``run_bulk``
  (concurrency 64, ``bucket=`` the account), each account's bucket 100 + 10/s: the ideal is the
  slowest account's, 5 s.
* ``ceiling --accounts A``: A accounts x 40 users, each bucket 10 + 10/s (3 s of refill each):
  the creates per second one process sustains, over the 10 a second each account allows, is
  how many accounts at Kazoo's rate one process can drive; the same job against the same
  server without a rate limit says how much of that is the server's own ceiling.
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


def _judge(
    rows: list[dict[str, str]], summary: Any, stats: dict[str, Any], seen: dict[str, int]
) -> dict[str, int]:
    """Each input's reported outcome against the server's own records."""
    created = stats["creates_by_username"]
    failed = {f.key for f in summary.failures}
    return {
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "lost": sum(1 for r in rows if r["username"] not in seen),
        "reported_twice": sum(1 for n in seen.values() if n > 1),
        "duplicated": sum(1 for count in created.values() if count > 1),
        "misreported": sum(
            1 for r in rows if (r["username"] not in failed) != (created.get(r["username"], 0) == 1)
        ),
    }


async def _bulk_job(
    server: KazooProcess, rows: list[dict[str, str]], transport: str, by_account: bool
) -> dict[str, Any]:
    from audian_async.bulk import run_bulk

    seen: dict[str, int] = {}
    async with AsyncAudian(
        api_key="bench-key", base_url=server.base_url, transport=transport
    ) as audian:
        await audian.authenticate()

        async def create(row: dict[str, str]) -> Any:
            view = audian.for_account(row["account_id"]) if by_account else audian
            return await view.users.create(
                first_name=row["first_name"], last_name=row["last_name"], username=row["username"]
            )

        def count(outcome: Any) -> None:
            seen[outcome.key] = seen.get(outcome.key, 0) + 1

        started = time.perf_counter()
        summary = await run_bulk(
            create,
            rows,
            concurrency=64,
            key=lambda row: row["username"],
            client=audian,
            bucket=(lambda row: row["account_id"]) if by_account else None,
            progress=False,
            on_outcome=count,
        )
        seconds = time.perf_counter() - started
    stats = server.stats()
    return {
        "seconds": seconds,
        "rate_limited_seconds": summary.rate_limited_seconds,
        **_judge(rows, summary, stats, seen),
        "server": {k: v for k, v in stats.items() if k != "creates_by_username"},
    }


async def bucket_model(model: str, transport: str) -> dict[str, Any]:
    n, bucket, refill = 250, 100, 10
    rows = [{**row, "account_id": ""} for row in _rows(n)]
    with KazooProcess("--bucket", str(bucket), "--refill", str(refill), "--model", model) as server:
        run = await _bulk_job(server, rows, transport, by_account=False)
    ideal = (n - bucket) / refill
    return {
        "scenario": f"bucket-{model}",
        "transport": transport,
        "n": n,
        "ideal_seconds": ideal,
        "ratio": run["seconds"] / ideal,
        **run,
    }


def _account_rows(accounts: int, per_account: int) -> list[dict[str, str]]:
    return [
        {
            "account_id": f"{a:032x}",
            "first_name": "Reseller",
            "last_name": f"User {j}",
            "username": f"acct{a}.user{j}",
        }
        for a in range(accounts)
        for j in range(per_account)
    ]


async def many_accounts(shuffle: bool, transport: str) -> dict[str, Any]:
    import random

    accounts, per_account, bucket, refill = 20, 150, 100, 10
    rows = _account_rows(accounts, per_account)
    if shuffle:
        random.Random(5).shuffle(rows)
    with KazooProcess("--bucket", str(bucket), "--refill", str(refill), "--per-account") as server:
        run = await _bulk_job(server, rows, transport, by_account=True)
    ideal = (per_account - bucket) / refill
    return {
        "scenario": "many-accounts" + ("-shuffled" if shuffle else ""),
        "transport": transport,
        "n": len(rows),
        "accounts": accounts,
        "ideal_seconds": ideal,
        "ratio": run["seconds"] / ideal,
        **run,
    }


async def ceiling(accounts: int, transport: str) -> dict[str, Any]:
    per_account, bucket, refill = 40, 10, 10
    rows = _account_rows(accounts, per_account)
    with KazooProcess("--bucket", str(bucket), "--refill", str(refill), "--per-account") as server:
        run = await _bulk_job(server, rows, transport, by_account=True)
    with KazooProcess("--per-account") as server:  # the same job, no rate limit: the pipeline
        unlimited = await _bulk_job(server, rows, transport, by_account=True)
    ideal = (per_account - bucket) / refill
    per_second = len(rows) / run["seconds"]
    return {
        "scenario": "ceiling",
        "unlimited_creates_per_s": len(rows) / unlimited["seconds"],
        "transport": transport,
        "n": len(rows),
        "accounts": accounts,
        "ideal_seconds": ideal,
        "ratio": run["seconds"] / ideal,
        "creates_per_s": per_second,
        "accounts_at_rate": per_second / refill,
        **run,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pushback")
    parser.add_argument(
        "scenario",
        choices=[
            "token-expiry",
            "chaos-client",
            "chaos-bulk",
            "bucket-model",
            "many-accounts",
            "ceiling",
        ],
    )
    parser.add_argument("--model", choices=["block", "token", "drain"], default="block")
    parser.add_argument("--shuffle", action="store_true", help="inputs in random order")
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--transport", default="httpx")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--no-tokens", action="store_true", help="the server reports no level")
    args = parser.parse_args()
    if args.scenario == "token-expiry":
        result = asyncio.run(token_expiry(args.transport))
    elif args.scenario == "bucket-model":
        result = asyncio.run(bucket_model(args.model, args.transport))
    elif args.scenario == "many-accounts":
        result = asyncio.run(many_accounts(args.shuffle, args.transport))
    elif args.scenario == "ceiling":
        result = asyncio.run(ceiling(args.accounts, args.transport))
    else:
        extra = ("--no-tokens",) if args.no_tokens else ()
        result = asyncio.run(chaos(args.scenario[6:], args.n, args.transport, extra))
        result["server_reports_tokens"] = not args.no_tokens
    print(json.dumps(result))


if __name__ == "__main__":
    main()
