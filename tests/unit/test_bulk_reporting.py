"""What the bulk runner tells a person: progress without a terminal, a summary on Ctrl-C."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from audian_async.bulk import _progress, run_bulk


def not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Make stderr a buffer that is not a terminal (a log file, CI); set inside the test, since
    pytest's own capture resets sys.stderr between a fixture's setup and the test."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    return buffer


def test_no_terminal_default_progress_prints_plain_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.virtual import run_virtual

    err = not_a_terminal(monkeypatch)

    async def op(n: int) -> int:
        if n == 0:  # the first input waits until a progress line has been printed
            while "done (" not in err.getvalue():
                await anyio.sleep(1)  # virtual time: the 10 s reporting interval passes at once
        return n

    summary = run_virtual(lambda: run_bulk(op, range(5), concurrency=2, unit="users"))
    assert summary.succeeded == 5
    lines = err.getvalue().splitlines()
    assert any(line.startswith("bulk: ") and "/5 done (" in line for line in lines)
    assert lines[-1] == summary.headline and "5 users in" in lines[-1]
    assert "users/s" in lines[-1]


def test_quiet_interval_is_ten_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_terminal(monkeypatch)
    reporter = _progress.make_reporter(None, 10)
    assert reporter is not None and reporter.interval == 10.0
    assert _progress.make_reporter(False, 10) is None


async def test_a_short_run_without_terminal_stays_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    err = not_a_terminal(monkeypatch)

    async def op(n: int) -> int:
        return n

    summary = await run_bulk(op, range(20), concurrency=4)
    assert summary.succeeded == 20
    assert err.getvalue() == ""


async def test_cancelled_run_prints_its_summary_and_flushes_the_journal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    err = not_a_terminal(monkeypatch)
    journal = tmp_path / "job.jsonl"
    done = 0
    stop = anyio.Event()

    async def op(n: int) -> int:
        nonlocal done
        if n >= 10:
            stop.set()
            await anyio.sleep_forever()
        done += 1
        return n

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_when_stuck() -> None:
                await stop.wait()
                scope.cancel()

            tg.start_soon(cancel_when_stuck)
            await run_bulk(op, range(100), concurrency=1, key=str, journal=journal)
    assert scope.cancelled_caught
    text = err.getvalue()
    assert "10 succeeded" in text and "1 cancelled" in text
    assert "interrupted (rerun with the same journal to resume)" in text
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(e["key"] for e in entries if e["status"] == "ok") == sorted(map(str, range(10)))


async def test_progress_false_prints_nothing_even_when_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = not_a_terminal(monkeypatch)

    async def op(n: int) -> int:
        await anyio.sleep_forever()
        return n

    with anyio.move_on_after(0.01):
        await run_bulk(op, range(3), progress=False)
    assert err.getvalue() == ""


SCRIPT = textwrap.dedent(
    """
    import asyncio, signal, sys
    from audian_async.bulk import run_bulk

    async def op(n):
        if n == 7:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of the job
            await asyncio.sleep(60)
        return n

    try:
        asyncio.run(run_bulk(op, range(1000), concurrency=1, journal=sys.argv[1], key=str))
    except KeyboardInterrupt:
        print("KeyboardInterrupt reached the script", file=sys.stderr)
        sys.exit(130)
    """
)


def test_ctrl_c_prints_the_summary_without_a_traceback(tmp_path: Path) -> None:
    journal = tmp_path / "job.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(journal)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert "7 succeeded" in result.stderr and "interrupted" in result.stderr
    assert result.stderr.rstrip().endswith("KeyboardInterrupt reached the script")
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [e["key"] for e in entries if e["status"] == "ok"] == [str(n) for n in range(7)]
    assert [e["key"] for e in entries if e["status"] == "interrupted"] == ["7"]
