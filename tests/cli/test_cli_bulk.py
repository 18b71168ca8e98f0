"""`audian-async` end to end against the simulator (rate limit off): a big file with bad rows,
an interrupted and resumed apply, a plan whose rows change on the server before apply, and a
failed-rows file fed back in."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

from audian_async.testing import RunningServer, Simulator, delay, drop_after, status

from .conftest import read_csv, run, run_json, start, write_csv

HEADER = [
    "username",
    "first_name",
    "last_name",
    "email",
    "password",
    "enabled",
    "caller_id.external.number",
]
# Four kinds of bad row, each caught by the spec's rules before anything is sent.
BAD = [
    ("email", "format", lambda r: r.__setitem__(3, "not-an-email")),
    ("last_name", "required", lambda r: r.__setitem__(2, "")),
    ("enabled", "type", lambda r: r.__setitem__(5, "maybe")),
    ("username", "pattern", lambda r: r.__setitem__(0, f"bad name {r[1]}!")),
]


def user_row(i: int) -> list[Any]:
    return [
        f"u{i:04d}",
        f"First{i}",
        f"Last{i}",
        f"u{i}@example.com",
        f"pw-{i}-secret",
        "true",
        f"+1415555{i:04d}",
    ]


def users_file(path: Path, n: int, bad_every: int = 0) -> tuple[Path, list[tuple[int, str, str]]]:
    """``n`` user rows; with ``bad_every``, row i is bad when i % bad_every == 37."""
    rows, bad = [], []
    for i in range(n):
        row = user_row(i)
        if bad_every and i % bad_every == 37:
            field, rule, spoil = BAD[len(bad) % len(BAD)]
            spoil(row)
            bad.append((i + 2, field, rule))  # line numbers: the header is line 1
        rows.append(row)
    return write_csv(path, HEADER, rows), bad


def usernames(sim: Simulator) -> list[str]:
    return [d.data.get("username") for d in sim.state.docs("user")]


def test_2000_rows_with_20_bad_ones_reported_and_never_sent(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, bad = users_file(tmp_path / "users.csv", 2000, bad_every=100)
    assert len(bad) == 20
    before = len(usernames(sim))

    code, summary, _ = run_json(["plan", str(path), "-r", "users"], env)
    assert code == 1  # invalid rows
    assert summary["summary"] == {"create": 1980, "update": 0, "unchanged": 0, "invalid": 20}
    reported = [
        (r["line"], r["errors"][0]["field"], r["errors"][0]["rule"]) for r in summary["invalid"]
    ]
    assert reported == bad
    assert sim.requests.matching("PUT", "/users") == []  # plan changes nothing

    code, report, _ = run_json(["apply", str(path), "-r", "users"], env)
    assert code == 1
    assert (report["created"], report["invalid"], report["failed"]) == (1980, 20, 0)
    assert len(sim.requests.matching("PUT", "/users")) == 1980  # bad rows never sent
    names = usernames(sim)
    assert len(names) - before == 1980 and len(set(names)) == len(names)
    failed = read_csv(Path(report["failed_path"]))
    assert [r["_status"] for r in failed] == ["invalid"] * 20
    assert json.loads(failed[0]["_fields"]) == {
        "email": {"format": "must be a valid email address"}
    }

    # Rerun: everything valid is there already.
    code, report, _ = run_json(["apply", str(path), "-r", "users"], env)
    assert (report["created"], report["unchanged"], report["invalid"]) == (0, 1980, 20)
    assert len(sim.requests.matching("PUT", "/users")) == 1980


def test_interrupted_apply_resumes_with_exact_counts_and_no_duplicate(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 2000)
    before = len(usernames(sim))
    concurrency = 4
    # The first 600 creates go through; every later one is held 5 s before the server acts.
    sim.faults.script("PUT", "/users", times=600, kind=delay(0))
    held = sim.faults.script("PUT", "/users", times=None, kind=delay(5))
    args = [
        "apply",
        str(path),
        "-r",
        "users",
        "--concurrency",
        str(concurrency),
        "--output",
        "json",
        "--no-progress",
    ]
    child = start(args, env)
    deadline = time.monotonic() + 120
    while held.hits < concurrency:  # every worker waits on a held create: a fixed point
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.02)
    assert len(usernames(sim)) - before == 600
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    first = json.loads(out.strip().splitlines()[-1])
    assert first["interrupted"] is True
    assert (first["created"], first["failed"], first["not_done"]) == (600, 0, 1400)
    assert "Traceback" not in err
    journal = [json.loads(x) for x in Path(first["journal_path"]).read_text().splitlines()]
    assert sum(e["status"] == "ok" for e in journal) == 600
    assert sum(e["status"] == "interrupted" for e in journal) == concurrency

    # The held creates land after the client gave up on them.
    sim.faults.clear()
    while len(usernames(sim)) - before < 600 + concurrency:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    code, second, _ = run_json(
        ["apply", str(path), "-r", "users", "--concurrency", str(concurrency)], env
    )
    assert code == 0
    assert (second["created"], second["unchanged"], second["failed"]) == (
        1400 - concurrency,
        600 + concurrency,
        0,
    )
    names = usernames(sim)
    assert len(names) - before == 2000 and len(set(names)) == len(names)


def test_plan_then_apply_reports_rows_changed_on_the_server_since(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 6)
    assert run_json(["apply", str(path), "-r", "users"], env)[0] == 0
    # The file now changes three existing users' email and adds two users.
    rows = [user_row(i) for i in range(8)]
    for i in (0, 1, 2):
        rows[i][3] = f"new{i}@example.com"
    write_csv(path, HEADER, rows)
    plan_file = tmp_path / "users.plan.json"
    code, summary, _ = run_json(["plan", str(path), "-r", "users", "--out", str(plan_file)], env)
    assert code == 3  # changes to apply
    assert summary["summary"] == {"create": 2, "update": 3, "unchanged": 3, "invalid": 0}
    plan = json.loads(plan_file.read_text())
    assert plan["rows"][0]["changes"] == {
        "email": {"from": "u0@example.com", "to": "new0@example.com"}
    }
    assert plan["rows"][6]["fields"]["password"] == "***"
    assert "pw-6-secret" not in plan_file.read_text()

    # Meanwhile someone edits u0001 on the server and creates u0007.
    user = next(d for d in sim.state.docs("user") if d.data.get("username") == "u0001")
    edited = run_sdk_patch(env, user.id, {"email": "someone-else@example.com"})
    assert edited == "someone-else@example.com"
    run_json(["apply", str(_one_row_file(tmp_path, 7)), "-r", "users"], env)

    code, report, _ = run_json(["apply", "--plan", str(plan_file)], env)
    assert code == 1
    assert (report["updated"], report["created"], report["conflicts"]) == (2, 1, 2)
    assert sim.state.get("user", user.id)["email"] == "someone-else@example.com"  # not overwritten
    failed = read_csv(Path(report["failed_path"]))
    assert sorted(r["username"] for r in failed) == ["u0001", "u0007"]
    assert {r["_status"] for r in failed} == {"conflict"}


def _one_row_file(tmp_path: Path, i: int) -> Path:
    return write_csv(tmp_path / "other.csv", HEADER, [user_row(i)])


def run_sdk_patch(env: dict[str, str], user_id: str, changes: dict[str, Any]) -> str:
    import asyncio

    from audian_async import AsyncAudian

    async def patch() -> str:
        async with AsyncAudian(api_key=env["AUDIAN_API_KEY"], base_url=env["AUDIAN_BASE_URL"]) as c:
            user = await c.users.patch(user_id, body=changes)
            return str(user.email)

    return asyncio.run(patch())


def test_failed_rows_file_fixed_and_fed_back_in(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 140, bad_every=50)  # lines 39, 89, 139
    sim.faults.script("PUT", "/users", times=1, kind=status(409))  # one refusal by the server
    code, report, _ = run_json(["apply", str(path), "-r", "users", "--concurrency", "1"], env)
    assert code == 1
    assert (report["created"], report["invalid"], report["failed"]) == (136, 3, 1)
    failed_path = Path(report["failed_path"])
    assert stat.S_IMODE(os.stat(failed_path).st_mode) == 0o600
    rows = read_csv(failed_path)
    assert len(rows) == 4
    refused = next(r for r in rows if r["_status"] == "409")
    assert refused["username"] == "u0000" and refused["_request_id"]
    assert refused["password"] == "pw-0-secret"  # the original row, to send again
    # Fix the bad cells in the failed file itself and apply it as the input.
    for r in rows:
        i = int(r["first_name"][len("First") :])
        r["username"], r["last_name"], r["email"], r["enabled"] = (
            f"u{i:04d}",
            f"Last{i}",
            f"u{i}@example.com",
            "true",
        )
    write_csv(failed_path, list(rows[0]), [list(r.values()) for r in rows])
    code, report, _ = run_json(["apply", str(failed_path), "-r", "users"], env)
    assert code == 0, report
    assert (report["created"], report["failed"], report["invalid"]) == (4, 0, 0)
    assert report["failed_path"] is None
    assert sorted(usernames(sim))[-140:] == [f"u{i:04d}" for i in range(140)]


def test_plan_journal_and_failed_files_are_owner_only(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 40, bad_every=38)
    assert run(["plan", str(path), "-r", "users"], env).exit_code == 1
    result = run(["apply", str(path), "-r", "users", "--no-progress"], env)
    assert result.exit_code == 1
    for name in ("users.plan.json", "users.journal.jsonl", "users.failed.csv"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    assert "pw-" not in (tmp_path / "users.journal.jsonl").read_text()
    assert "pw-" not in (tmp_path / "users.plan.json").read_text()
    assert "pw-" not in result.output


def test_server_refusing_the_credentials_is_a_setup_failure(
    server: RunningServer, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 2)
    wrong = "f" * 64
    result = run(["apply", str(path), "-r", "users"], {**env, "AUDIAN_API_KEY": wrong})
    assert result.exit_code == 4
    assert "refused the credentials" in result.stderr
    assert wrong not in result.output


def test_unreachable_server_and_missing_credentials_are_setup_failures(tmp_path: Path) -> None:
    path, _ = users_file(tmp_path / "users.csv", 2)
    result = run(["plan", str(path), "-r", "users"], {"AUDIAN_API_KEY": "", "AUDIAN_BASE_URL": ""})
    assert result.exit_code == 4 and "AUDIAN_API_KEY" in result.stderr
    closed = {"AUDIAN_API_KEY": "k" * 64, "AUDIAN_BASE_URL": "http://127.0.0.1:9/v2"}
    result = run(["plan", str(path), "-r", "users"], closed)
    assert result.exit_code == 4 and "cannot reach the server" in result.stderr
    assert "k" * 64 not in result.output


def test_a_plan_runs_only_against_the_server_it_was_made_for(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 3)
    rehearsal = run(["plan", str(path), "-r", "users", "--simulator"], env)
    assert rehearsal.exit_code == 3
    result = run(["apply", "--plan", str(tmp_path / "users.plan.json"), "--no-progress"], env)
    assert result.exit_code == 2
    assert "the plan was made against http://simulator/v2" in result.stderr
    assert sim.requests.matching("PUT", "/users") == []
    # An input file edited after the plan is refused too.
    assert run(["plan", str(path), "-r", "users"], env).exit_code == 3
    path.write_text(path.read_text().replace("First1", "Changed"))
    result = run(["apply", "--plan", str(tmp_path / "users.plan.json")], env)
    assert result.exit_code == 2 and "changed (or is missing) since the plan" in result.stderr


def test_a_few_rows_are_looked_up_by_filter_many_by_one_listing(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    many, _ = users_file(tmp_path / "many.csv", 30)
    assert run_json(["apply", str(many), "-r", "users"], env)[0] == 0
    listings = [r for r in sim.requests.matching("GET") if r.path.endswith("/users")]
    assert listings and all("filter_" not in r.query for r in listings)  # 30 rows: one listing
    sim.requests.clear()
    few = write_csv(tmp_path / "few.csv", HEADER, [user_row(3), user_row(99)])
    code, summary, _ = run_json(["plan", str(few), "-r", "users"], env)
    assert (code, summary["summary"]["create"], summary["summary"]["unchanged"]) == (3, 1, 1)
    lookups = sorted(r.query for r in sim.requests.matching("GET") if r.path.endswith("/users"))
    assert lookups == ["filter_username=u0003", "filter_username=u0099"]


def test_a_create_whose_answer_was_lost_is_found_not_sent_twice(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    rows = [user_row(i) for i in range(5)]
    for row in rows:
        row[3] = f"Mixed.Case{row[1]}@Example.com"  # the key below, as written (filters match case)
    path = write_csv(tmp_path / "users.csv", HEADER, rows)
    before = len(usernames(sim))
    sim.faults.script("PUT", "/users", times=1, kind=drop_after)  # created, then no answer
    code, report, _ = run_json(["apply", str(path), "-r", "users", "--key", "email"], env)
    assert code == 0, report
    assert (report["created"], report["reconciled"], report["failed"]) == (5, 1, 0)
    assert len(usernames(sim)) - before == 5
    assert len(sim.requests.matching("PUT", "/users")) == 5  # the lost one was not sent again


def test_a_server_error_while_reading_what_exists_is_one_line_not_a_traceback(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 30)
    sim.faults.script("GET", "/users", times=None, kind=status(500))
    result = run(["plan", str(path), "-r", "users"], env)
    assert result.exit_code == 4
    assert result.stderr.startswith(
        "Error: cannot read what exists on the server: InternalServerError"
    )
    assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1
    sim.faults.clear()
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    result = run(["plan", str(path), "-r", "users", "--out", str(not_a_dir / "p.json")], env)
    assert result.exit_code == 4 and "cannot write" in result.stderr and "a-file" in result.stderr
    result = run(["apply", str(path), "-r", "users", "--journal", str(not_a_dir / "j")], env)
    assert result.exit_code == 4 and "cannot write" in result.stderr
    assert "Traceback" not in result.output
    assert sim.requests.matching("PUT", "/users") == []


def test_ctrl_c_while_planning_says_nothing_was_changed(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path, _ = users_file(tmp_path / "users.csv", 40)
    held = sim.faults.script("GET", "/users", times=None, kind=delay(5))  # the listing waits
    child = start(["apply", str(path), "-r", "users"], env)
    deadline = time.monotonic() + 60
    while held.hits < 1:
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert out.strip() == "users: interrupted while planning: nothing was changed"
    assert "Traceback" not in err
    assert sim.requests.matching("PUT", "/users") == []
