"""The command line against the same job in Python: ``python -m bench.cli [--n 10000]``.

Target (issue 27): ``audian-async apply users.csv`` of N rows within 1.2x the wall time of the
same job written with ``run_bulk`` in Python (the CLI adds reading, validating and planning,
not waiting), against the simulator in its own process with the rate limit off. Both jobs
run as fresh processes (interpreter start and imports included), each into a new empty
sub-account of a fresh simulator, with the same concurrency, transport and a journal; batch
pairs alternate which goes first and the ratio is the median of the pairs. Also: ``audian-async --help`` start-up
beside ``python -c pass`` (best of ``--repeat`` fresh processes, interleaved).

Prints one JSON line; ``--markdown`` also writes bench/RESULTS-cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def write_rows(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["username", "first_name", "last_name", "email", "password", "enabled"])
        for i in range(n):
            w.writerow(
                [f"bench.{i}", "Bench", f"User {i}", f"b{i}@example.com", f"pw-{i}-x", "true"]
            )


def read_rows(csv_path: str) -> list[dict[str, Any]]:
    """The CSV's rows, typed as the spec wants them (what a user's script would do)."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        return [{**r, "enabled": r["enabled"] == "true"} for r in csv.DictReader(f)]


async def python_job(
    rows: list[dict[str, Any]], account: str, concurrency: int, transport: str, journal: str
) -> int:
    """The same job as the CLI's, written as a user would with ``run_bulk``."""
    from audian_async import AsyncAudian
    from audian_async.bulk import run_bulk

    async with AsyncAudian(transport=transport) as audian:
        users = audian.for_account(account).users

        async def create(row: dict[str, Any]) -> Any:
            return await users.create(**row)

        async def find(row: dict[str, Any]) -> Any:
            return await users.list(filters={"username": row["username"]}).first()

        summary = await run_bulk(
            create,
            rows,
            concurrency=concurrency,
            key=lambda row: row["username"],
            journal=journal,
            reconcile=find,
            progress=False,
        )
    return summary.succeeded


def _env(server: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIAN_")}
    env["AUDIAN_API_KEY"] = server.default_api_key
    env["AUDIAN_BASE_URL"] = f"{server.base_url}/v2"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of a child process, and its stdout."""
    cpu0 = os.times()
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    cpu1 = os.times()
    if out.returncode not in (0,):
        raise RuntimeError(f"{' '.join(argv[:4])} exited {out.returncode}: {out.stderr[-2000:]}")
    cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    return wall, cpu, out.stdout


async def _new_account(server: Any, name: str) -> str:
    from audian_async import AsyncAudian

    async with AsyncAudian(api_key=server.default_api_key, base_url=f"{server.base_url}/v2") as a:
        account = await a.accounts.create_sub_account(name=name)
        return str(account.id)


def run_pairs(n: int, pairs: int, concurrency: int, transport: str) -> dict[str, Any]:
    from audian_async.testing import SimulatorConfig, serve_in_process

    config = SimulatorConfig(bucket_size=None, check_contract=False, check_requests=False)
    cli_runs: list[dict[str, float]] = []
    py_runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "users.csv"
        write_rows(rows, n)
        for p in range(pairs):
            order = ("cli", "python") if p % 2 == 0 else ("python", "cli")
            for job in order:
                # A fresh simulator per job: a store that grows from job to job would slow
                # whichever job runs later.
                with serve_in_process(config) as server:
                    env = _env(server)
                    account = asyncio.run(_new_account(server, f"bench {job} {p}"))
                    journal = str(Path(tmp) / f"{job}-{p}.journal.jsonl")
                    if job == "cli":
                        argv = [
                            sys.executable, "-m", "audian_async", "apply", str(rows), "-r",
                            "users", "--account", account, "--concurrency", str(concurrency),
                            "--transport", transport, "--journal", journal, "--no-progress",
                            "--output", "json",
                        ]  # fmt: skip
                        wall, cpu, out = _timed(argv, env)
                        done = json.loads(out.strip().splitlines()[-1])["created"]
                        cli_runs.append({"seconds": wall, "cpu": cpu, "created": done})
                    else:
                        argv = [
                            sys.executable, "-m", "bench.cli", "--python-job", str(rows),
                            account, "--concurrency", str(concurrency), "--transport",
                            transport, "--journal", journal,
                        ]  # fmt: skip
                        wall, cpu, out = _timed(argv, env)
                        py_runs.append({"seconds": wall, "cpu": cpu, "created": int(out.strip())})
                print(f"  pair {p + 1}/{pairs} {job}: {wall:.1f} s", file=sys.stderr, flush=True)
    ratios = [c["seconds"] / py["seconds"] for c, py in zip(cli_runs, py_runs, strict=True)]
    cpu_ratios = [c["cpu"] / py["cpu"] for c, py in zip(cli_runs, py_runs, strict=True)]
    return {
        "n": n,
        "concurrency": concurrency,
        "transport": transport,
        "cli": cli_runs,
        "python": py_runs,
        "ratios": ratios,
        "ratio": statistics.median(ratios),
        "cpu_ratio": statistics.median(cpu_ratios),
        "all_created": all(r["created"] == n for r in cli_runs + py_runs),
    }


def startup(repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` wall time of ``audian-async --help`` and of ``python -c pass``.

    Everything is byte-compiled first, as an installed package is (see ``bench.run``).
    """
    import sysconfig

    purelib = sysconfig.get_paths()["purelib"]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "audian_async"), purelib],
        capture_output=True,
        check=False,
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "audian-async --help": [sys.executable, "-m", "audian_async", "--help"],
    }
    best = {name: float("inf") for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True, cwd=ROOT)
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def markdown(result: dict[str, Any], start: dict[str, float]) -> str:
    lines = [
        "# Command line benchmark",
        "",
        f"Generated by `python -m bench.cli --markdown` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (shared, noisy machine: read the "
        "ratios, taken within this run).",
        "",
        "| target | measured | limit | result |",
        "|---|---|---|---|",
        f"| `audian-async apply` of {result['n']:,} users vs the same job with `run_bulk` in "
        f"Python (wall time, median of {len(result['ratios'])} pairs: "
        f"{', '.join(f'{r:.2f}' for r in result['ratios'])}) | {result['ratio']:.2f}x | 1.2x | "
        f"{'met' if result['ratio'] <= 1.2 else 'MISSED'} |",
        "",
        f"CPU of the whole process, CLI vs Python: {result['cpu_ratio']:.2f}x. Every run created "
        f"all {result['n']:,} users: {result['all_created']}. Concurrency {result['concurrency']}, "
        f"transport {result['transport']}, a journal in both jobs.",
        "",
        "| start-up (fresh process, best of the runs) | seconds |",
        "|---|---|",
        *(f"| `{name}` | {seconds:.3f} |" for name, seconds in start.items()),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli", description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--transport", default="httpx", choices=["httpx", "aiohttp"])
    parser.add_argument("--repeat", type=int, default=7, help="start-up runs of each command")
    parser.add_argument("--markdown", action="store_true", help="write bench/RESULTS-cli.md")
    parser.add_argument("--python-job", nargs=2, metavar=("CSV", "ACCOUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.python_job:
        csv_path, account = args.python_job
        rows = read_rows(csv_path)
        created = asyncio.run(
            python_job(rows, account, args.concurrency, args.transport, args.journal)
        )
        print(created)
        return 0
    result = run_pairs(args.n, args.pairs, args.concurrency, args.transport)
    start = startup(args.repeat)
    print(json.dumps({**result, "startup": start}))
    if args.markdown:
        (HERE / "RESULTS-cli.md").write_text(markdown(result, start), encoding="utf-8")
    return 0 if result["ratio"] <= 1.2 and result["all_created"] else 1


if __name__ == "__main__":
    sys.exit(main())
