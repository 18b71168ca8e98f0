"""A fresh clone's test run says what it did not run and why (issue 24, item 14).

Kazoo's schemas are kept out of the repository: the tests that need them carry the
``kazoo_schemas`` marker and run only where ``AUDIAN_KAZOO_SCHEMAS`` names their folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KAZOO_TESTS = "tests/unit/test_kazoo_schemas.py"
SELF_CONTAINED = "tests/unit/test_multipart.py"


def _pytest(*args: str, schemas: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AUDIAN_KAZOO_SCHEMAS"}
    if schemas is not None:
        env["AUDIAN_KAZOO_SCHEMAS"] = schemas
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_without_the_schemas_their_tests_are_deselected_and_the_summary_says_why() -> None:
    result = _pytest("-q", KAZOO_TESTS, SELF_CONTAINED, schemas=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "41 deselected" in result.stdout
    assert "skipped" not in result.stdout  # not run is not the same as skipped
    summary = result.stdout.split("not run", 1)[1]
    assert f"41 tests marked kazoo_schemas were not run ({KAZOO_TESTS})" in summary
    assert "set AUDIAN_KAZOO_SCHEMAS" in summary


def test_with_the_schemas_their_tests_are_selected(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text("{}")
    result = _pytest("-q", "--collect-only", KAZOO_TESTS, schemas=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "41 tests collected" in result.stdout
    assert "not run" not in result.stdout


def test_a_variable_naming_a_folder_without_them_is_an_error(tmp_path: Path) -> None:
    result = _pytest("-q", KAZOO_TESTS, schemas=str(tmp_path))
    assert result.returncode != 0
    assert f"AUDIAN_KAZOO_SCHEMAS={tmp_path}: no Kazoo schemas there" in result.stderr
