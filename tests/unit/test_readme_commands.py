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


def test_every_installed_command_is_documented_and_runs_as_documented() -> None:
    import subprocess
    import sys
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    readme = (ROOT / "README.md").read_text()
    assert scripts == {
        "audian-async": "audian_async.cli:main",
        "audian-async-demo": "audian_async.demo:main",
    }
    for name in scripts:
        documented = re.findall(rf"`{name}( [^`]*)?`", readme)
        assert documented, f"README never mentions the {name} command"
        usage = subprocess.run(
            [str(Path(sys.executable).parent / name), "--help"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert usage.returncode == 0, usage.stderr
        for arguments in documented:  # every option the README shows exists
            for option in re.findall(r"--[\w-]+", arguments):
                assert option in usage.stdout, option
