"""Examples of the guides in docs/ run as written, where a user would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from audian_async import AsyncAstradial
from audian_async.testing import SimulatorConfig, create_app, serve

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _pytest_example() -> str:
    """The pytest example of docs/testing.md (the block that defines a test)."""
    found = [
        code for code in BLOCK.findall((DOCS / "testing.md").read_text()) if "def test_" in code
    ]
    assert len(found) == 1, "docs/testing.md has one pytest example"
    return found[0]


def test_the_testing_guides_pytest_example_passes_with_pytest_asyncios_default_mode(
    tmp_path: Path,
) -> None:
    """In a project of its own with default settings (strict mode: no asyncio_mode=auto)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # this project's config, not ours
    (tmp_path / "test_with_simulator.py").write_text(_pytest_example())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def _named_example(page: str, name: str) -> str:
    marked = re.compile(rf"<!-- docs-example: {name} -->\n```python\n(.*?)```", re.S)
    found = marked.findall((DOCS / page).read_text())
    assert len(found) == 1, f"docs/{page} has one example named {name}"
    return str(found[0])


async def test_the_fastapi_guides_app_with_both_clients_serves_both_apis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = create_app(SimulatorConfig(seed=5, bucket_size=None, strict_requests=True))
    with serve(sim) as upstream:
        monkeypatch.setenv("AUDIAN_API_KEY", sim.default_api_key)
        monkeypatch.setenv("AUDIAN_BASE_URL", f"{upstream.base_url}/v2")
        monkeypatch.setenv("ASTRADIAL_API_KEY", sim.astradial_api_key)
        monkeypatch.setenv("ASTRADIAL_BASE_URL", upstream.base_url)
        user = sim.create(
            "users", sim.master_account_id, {"first_name": "Both", "last_name": "Apps"}
        )
        async with AsyncAstradial() as astra:
            await astra.queues.create(number="5123", name="Docs queue", ring_strategy="linear")
        namespace: dict[str, object] = {}
        exec(compile(_named_example("fastapi.md", "fastapi-both"), "fastapi.md", "exec"), namespace)
        with serve(namespace["app"]) as app_server:  # type: ignore[arg-type]
            async with httpx.AsyncClient(base_url=app_server.base_url) as http:
                read = await http.get(f"/users/{user['id']}")
                assert read.status_code == 200 and read.json()["first_name"] == "Both"
                missing = await http.get("/users/" + "0" * 32)
                assert missing.status_code == 404  # the error handlers cover it
                queues = await http.get("/queues")
                assert queues.status_code == 200
                assert {"name": "Docs queue", "number": "5123"} in queues.json()
    assert sim.contract_violations == [] and sim.request_violations == []
