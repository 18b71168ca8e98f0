"""Examples of the guides in docs/ run as written, where a user would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
