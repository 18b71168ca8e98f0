"""The README's two commands: no system-wide pip (PEP 668), and CI runs the test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def try_it_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it: two commands", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_two_commands_that_need_no_system_wide_pip() -> None:
    commands = try_it_commands()
    assert len(commands) == 2
    demo, tests = commands
    assert demo.endswith("nox -s demo") and " -s tests" in tests
    for command in commands:
        assert "\n" not in command  # one line each, copy-paste
        assert command.startswith("python3 -m venv .venv && ")
        # pip only inside the virtual environment: never `python3 -m pip` or a bare `pip`.
        assert re.findall(r"\S*pip install", command) == [".venv/bin/pip install"]
        assert "--break-system-packages" not in command and "sudo" not in command


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert try_it_commands()[1] in script
