"""The quality bar of `audian-async` on Astradial too (users, over loopback against the
simulator): 2,000 rows with 20 bad ones, an interrupted and resumed apply, a plan whose rows
change on the server before apply, and a failed-rows file (JSON lines) fed back in."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from audian_async.testing import Simulator, delay, status

from .conftest import run_json, start, write_csv

HEADER = ["extension", "email", "full_name", "role", "password"]
BAD = [
    ("extension", "pattern", lambda r: r.__setitem__(0, f"{r[0][:3]}x")),
    ("email", "format", lambda r: r.__setitem__(1, "no-at-sign")),
    ("email", "required", lambda r: r.__setitem__(1, "")),
    ("extension", "required", lambda r: r.__setitem__(0, "")),
]


def agent(i: int) -> list[Any]:
    return [str(20000 + i), f"agent{i}@example.com", f"Agent {i}", "agent", f"a-long-password-{i}"]


def agents_file(path: Path, n: int, bad_every: int = 0) -> tuple[Path, list[tuple[int, str, str]]]:
    rows, bad = [], []
    for i in range(n):
        row = agent(i)
        if bad_every and i % bad_every == 37:
            field, rule, spoil = BAD[len(bad) % len(BAD)]
            spoil(row)
            bad.append((i + 2, field, rule))
        rows.append(row)
    return write_csv(path, HEADER, rows), bad


def extensions(sim: Simulator) -> list[str]:
    return (
        [u["extension"] for u in sim.astradial_users()] if hasattr(sim, "astradial_users") else []
    )


def created_posts(sim: Simulator) -> int:
    return sum(1 for r in sim.requests.matching("POST", "/api/v1/users") if r.status == 201)


def test_astradial_2000_rows_with_20_bad_ones(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, bad = agents_file(tmp_path / "agents.csv", 2000, bad_every=100)
    code, summary, _ = run_json(["plan", str(path), "-r", "astradial-users"], env)
    assert code == 1
    assert summary["summary"] == {"create": 1980, "update": 0, "unchanged": 0, "invalid": 20}
    assert [
        (r["line"], r["errors"][0]["field"], r["errors"][0]["rule"]) for r in summary["invalid"]
    ] == bad
    code, report, _ = run_json(["apply", str(path), "-r", "astradial-users"], env)
    assert (code, report["created"], report["invalid"], report["failed"]) == (1, 1980, 20, 0)
    assert len(sim.requests.matching("POST", "/api/v1/users")) == 1980  # bad rows never sent
    code, report, _ = run_json(["apply", str(path), "-r", "astradial-users"], env)
    assert (report["created"], report["unchanged"]) == (0, 1980)


def test_astradial_interrupted_apply_resumes_without_duplicates(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = agents_file(tmp_path / "agents.csv", 1000)
    concurrency = 4
    sim.faults.script("POST", "/api/v1/users", times=300, kind=delay(0))
    held = sim.faults.script("POST", "/api/v1/users", times=None, kind=delay(5))
    args = [
        "apply",
        str(path),
        "-r",
        "astradial-users",
        "--concurrency",
        str(concurrency),
        "--output",
        "json",
        "--no-progress",
    ]
    child = start(args, env)
    deadline = time.monotonic() + 120
    while held.hits < concurrency:
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    first = json.loads(out.strip().splitlines()[-1])
    assert (first["created"], first["not_done"], first["interrupted"]) == (300, 700, True)
    sim.faults.clear()
    while created_posts(sim) < 300 + concurrency:  # the held creates land after all
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code, second, _ = run_json(
        ["apply", str(path), "-r", "astradial-users", "--concurrency", str(concurrency)], env
    )
    assert code == 0
    assert (second["created"], second["unchanged"], second["failed"]) == (
        700 - concurrency,
        300 + concurrency,
        0,
    )
    assert created_posts(sim) == 1000  # every user created once


def test_astradial_conflict_and_failed_json_lines_fed_back(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    rows = [dict(zip(HEADER, agent(i), strict=True)) for i in range(5)]
    path = tmp_path / "agents.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    sim.faults.script("POST", "/api/v1/users", times=1, kind=status(409))
    code, report, _ = run_json(
        ["apply", str(path), "-r", "astradial-users", "--concurrency", "1"], env
    )
    assert (code, report["created"], report["failed"]) == (1, 4, 1)
    failed = [json.loads(x) for x in Path(report["failed_path"]).read_text().splitlines()]
    assert report["failed_path"].endswith("agents.failed.jsonl")
    assert failed[0]["extension"] == "20000" and failed[0]["password"] == "a-long-password-0"
    assert failed[0]["_error"]["status"] == 409 and failed[0]["_error"]["message"].startswith(
        "ConflictError"
    )
    code, again, _ = run_json(["apply", report["failed_path"], "-r", "astradial-users"], env)
    assert (code, again["created"]) == (0, 1)

    # A plan, then an edit on the server to a row the plan updates: a conflict, not overwritten.
    for r in rows:
        r["full_name"] += " (renamed)"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, summary, _ = run_json(["plan", str(path), "-r", "astradial-users"], env)
    assert (code, summary["summary"]["update"]) == (3, 5)
    edited = _astradial_rename(env, "20002", "Someone Else")
    code, report, _ = run_json(["apply", "--plan", str(tmp_path / "agents.plan.json")], env)
    assert (code, report["updated"], report["conflicts"]) == (1, 4, 1)
    assert _astradial_name(env, edited) == "Someone Else"


def _astradial_rename(env: dict[str, str], extension: str, name: str) -> str:
    import asyncio

    from audian_async import AsyncAstradial

    async def go() -> str:
        async with AsyncAstradial(
            api_key=env["ASTRADIAL_API_KEY"], base_url=env["ASTRADIAL_BASE_URL"]
        ) as a:
            found = [u async for u in a.users.list() if u.extension == extension]
            await a.users.update(found[0].id, full_name=name)
            return str(found[0].id)

    return asyncio.run(go())


def _astradial_name(env: dict[str, str], user_id: str) -> str:
    import asyncio

    from audian_async import AsyncAstradial

    async def go() -> str:
        async with AsyncAstradial(
            api_key=env["ASTRADIAL_API_KEY"], base_url=env["ASTRADIAL_BASE_URL"]
        ) as a:
            return str((await a.users.get(user_id)).full_name)

    return asyncio.run(go())
