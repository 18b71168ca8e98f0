"""docs/cli.md's worked example stays true: its CSV, run as the page shows with
`--simulator`, prints what the page says it prints."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import ROOT, run

PAGE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
SECONDS = re.compile(r" in \d+\.\ds")


def console_blocks() -> list[list[tuple[str, list[str]]]]:
    """Each ```console block as (command, output lines) pairs."""
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", PAGE, re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:].split("  #")[0].strip(), []))
            else:
                steps[-1][1].append(line)
        blocks.append(steps)
    return blocks


@pytest.fixture
def in_tmp(tmp_path: Path) -> Path:
    csv_text = re.search(r"```csv\n(.*?)```", PAGE, re.S)
    assert csv_text is not None
    (tmp_path / "users.csv").write_text(csv_text.group(1), encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def _run_documented(command: str) -> list[str]:
    assert command.startswith("audian-async ")
    result = run(
        [*command.split()[1:], "--simulator", "--no-progress"]
        if " apply " in f" {command} "
        else [*command.split()[1:], "--simulator"]
    )
    return [SECONDS.sub(" in Xs", line) for line in (result.stderr + result.stdout).splitlines()]


def test_the_worked_example_plan_prints_what_the_page_shows(in_tmp: Path) -> None:
    command, output = console_blocks()[0][0]
    assert command == "audian-async plan users.csv --resource users --simulator"
    assert _run_documented(command.replace(" --simulator", "")) == output


def test_the_failed_rows_example_prints_what_the_page_shows(in_tmp: Path) -> None:
    (first, first_out), (second, second_out) = console_blocks()[-1]
    assert _run_documented(first) == [SECONDS.sub(" in Xs", x) for x in first_out]
    failed = in_tmp / "users.failed.csv"
    failed.write_text(failed.read_text().replace("bob.example.com", "bob@example.com"))
    assert _run_documented(second) == [SECONDS.sub(" in Xs", x) for x in second_out]
