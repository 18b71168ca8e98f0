"""Fixtures for the command line's tests: a fresh simulator per test over loopback HTTP, and
helpers that run `audian-async` in-process (click's runner) or as a subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audian_async.cli._app import cli
from audian_async.testing import RunningServer, Simulator, SimulatorConfig, create_app, serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    app = create_app(SimulatorConfig(seed=11, bucket_size=None, strict_requests=True))
    yield app
    app.faults.clear()
    assert app.contract_violations == []
    assert app.request_violations == []


@pytest.fixture
def server(sim: Simulator) -> Iterator[RunningServer]:
    with serve(sim) as running:
        yield running


@pytest.fixture
def env(sim: Simulator, server: RunningServer) -> dict[str, str]:
    """The environment the command reads its credentials from (both APIs)."""
    return {
        "AUDIAN_API_KEY": sim.default_api_key,
        "AUDIAN_BASE_URL": f"{server.base_url}/v2",
        "ASTRADIAL_BASE_URL": server.base_url,
        "ASTRADIAL_API_KEY": sim.astradial_api_key,
        "ASTRADIAL_EMAIL": "",
        "ASTRADIAL_PASSWORD": "",
        "ASTRADIAL_API_SECRET": "",
    }


def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """`audian-async ARGS` in this process (click's runner)."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def run_json(args: Sequence[str], env: dict[str, str]) -> tuple[int, dict[str, Any], Result]:
    """Run with `--output json`; the exit code and the summary object."""
    extra = ["--output", "json", "--no-progress"] if args[0] == "apply" else ["--output", "json"]
    result = run([*args, *extra], env)
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1]), result


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra``, with the package importable."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("AUDIAN_", "ASTRADIAL_"))}
    out.update(extra)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    return out


def start(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """`python -m audian_async ARGS` as a child process (stdout and stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "audian_async", *args],
        env=subprocess_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """Write a CSV file (UTF-8, comma-separated)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
