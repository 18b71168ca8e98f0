"""README examples run as written, against the simulator; every other snippet compiles."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest

from audian_async.testing import RunningServer, Simulator, SimulatorConfig, create_app, serve

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"(?:<!-- readme-example: (?P<name>[\w-]+) -->\n)?```python\n(?P<code>.*?)```", re.S
)


def blocks() -> list[tuple[str | None, str]]:
    return [(m.group("name"), m.group("code")) for m in BLOCK.finditer(README.read_text())]


def example(name: str) -> str:
    for found, code in blocks():
        if found == name:
            return code
    raise AssertionError(f"README has no example named {name!r}")


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return create_app(SimulatorConfig(seed=3, bucket_size=None, strict_requests=True))


@pytest.fixture(scope="module")
def server(sim: Simulator) -> Iterator[RunningServer]:
    with serve(sim) as running:
        yield running


def run_example(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_python_snippet_compiles() -> None:
    found = blocks()
    assert len(found) >= 5
    for name, code in found:
        compile(code, f"README:{name or 'snippet'}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_audian_quickstart_example_runs_twice(sim: Simulator, server: RunningServer) -> None:
    """Twice against the same simulator: the second run finds what the first created (no 409)."""
    env = {"AUDIAN_API_KEY": sim.default_api_key, "AUDIAN_BASE_URL": f"{server.base_url}/v2"}
    first, second = run_example(example("audian"), env), run_example(example("audian"), env)
    for out in (first, second):
        assert f"Authenticated. Account ID: {sim.master_account_id}" in out
        assert "User: " in out and "Device: " in out
        assert out.count("descendant: West Coast Office") == 1
    assert first.split("User: ")[1].split()[0] == second.split("User: ")[1].split()[0]
    assert "jane@example.com" in second  # listed on the second run
    assert sim.contract_violations == []


@pytest.mark.parametrize("flavour", ["docs", "oss"])
def test_astradial_example_runs(sim: Simulator, server: RunningServer, flavour: str) -> None:
    """Against the documented API and against the open-source server's flavour."""
    target = (
        create_app(
            SimulatorConfig(
                seed=3, bucket_size=None, strict_requests=True, astradial_oss_shapes=True
            )
        )
        if flavour == "oss"
        else sim
    )
    key = getattr(target, "astradial_api_key", None)
    assert key, "the simulator exposes an Astradial API key"
    with serve(target) if flavour == "oss" else nullcontext(server) as running:
        env = {"ASTRADIAL_API_KEY": key, "ASTRADIAL_BASE_URL": running.base_url}
        # Twice against the same server: the second run reuses the user and the queue (no 409).
        outputs = [run_example(example("astradial"), env) for _ in range(2)]
    for out in outputs:
        assert "***" in out
        assert "Support linear" in out  # the ring strategy reached both servers
        assert ("this server has no IVR API" in out) == (flavour == "oss")
    assert target.contract_violations == [] and target.request_violations == []


async def test_fastapi_example_serves_requests(
    sim: Simulator, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIAN_API_KEY", sim.default_api_key)
    monkeypatch.setenv("AUDIAN_BASE_URL", f"{server.base_url}/v2")
    namespace: dict[str, object] = {}
    exec(compile(example("fastapi"), "README:fastapi", "exec"), namespace)
    user_id = sim.create("users", sim.master_account_id, {"first_name": "Read", "last_name": "Me"})[
        "id"
    ]
    with serve(namespace["app"]) as app_server:
        async with httpx.AsyncClient(base_url=app_server.base_url) as http:
            ok = await http.get(f"/users/{user_id}")
            assert ok.status_code == 200 and ok.json()["first_name"] == "Read"
            missing = await http.get("/users/" + "0" * 32)
            assert missing.status_code == 404


def test_voicemail_and_cdr_example_runs(sim: Simulator, server: RunningServer) -> None:
    from datetime import UTC, datetime, timedelta

    yesterday = datetime.now(UTC).replace(hour=12) - timedelta(days=1)
    sim.add_cdr(
        timestamp=int(yesterday.timestamp()) + 62_167_219_200,
        call_direction="inbound",
        caller_id_number="+14155550123",
    )
    env = {"AUDIAN_API_KEY": sim.default_api_key, "AUDIAN_BASE_URL": f"{server.base_url}/v2"}
    # Twice against the same simulator: the second run reuses the box (no 409).
    first, second = (run_example(example("voicemail-cdrs"), env) for _ in range(2))
    for out in (first, second):
        assert "Voicemail box 3001" in out
        assert "inbound +14155550123 60 NORMAL_CLEARING" in out
        assert "1 calls last week" in out
    assert first.split("Voicemail box 3001: ")[1].split()[0] in second
    assert sim.contract_violations == []


def test_events_example_prints_the_event_of_the_user_it_created(
    sim: Simulator, server: RunningServer
) -> None:
    env = {"AUDIAN_API_KEY": sim.default_api_key, "AUDIAN_BASE_URL": f"{server.base_url}/v2"}
    out = run_example(example("events"), env)
    user = next(d for d in sim.state.docs("user") if d.data.get("first_name") == "Rita")
    assert out == f"doc_created: user {user.id}\n"
