"""A missing extra says which extra to install (issue 24, item 12).

Each case runs in a fresh interpreter where the extra's modules cannot be imported
(``sys.modules[name] = None`` makes ``import name`` fail as if it were not installed).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK = "import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"

CASES = [
    pytest.param(
        ["starlette"], "import audian_async.testing", "simulator", id="testing-without-starlette"
    ),
    pytest.param(
        ["uvicorn"], "import audian_async.testing", "simulator", id="testing-without-uvicorn"
    ),
    pytest.param(["yaml"], "import audian_async.testing", "simulator", id="testing-without-yaml"),
    pytest.param(
        ["starlette"],
        "import runpy\nrunpy.run_module('audian_async.testing', run_name='__main__')",
        "simulator",
        id="python-m-testing",
    ),
    pytest.param(
        ["fastapi"], "import audian_async.integrations.fastapi", "fastapi", id="fastapi-helpers"
    ),
]


def _run(blocked: list[str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK.format(blocked=blocked) + code],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("blocked", "code", "extra"), CASES)
def test_a_missing_extra_names_the_extra_to_install(
    blocked: list[str], code: str, extra: str
) -> None:
    result = _run(blocked, code)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: ")  # still the type callers may catch
    assert f"the `{extra}` extra" in last, last
    assert f"pip install '.[{extra}]' from a clone" in last, last
    assert blocked[0] in last  # which module is missing


def test_a_forced_progress_bar_without_rich_says_which_extra_gives_one() -> None:
    code = (
        "import io\n"
        "from audian_async.bulk._progress import make_reporter\n"
        "class Tty(io.StringIO):\n"
        "    def isatty(self): return True\n"
        "sys.stderr = out = Tty()\n"
        "reporter = make_reporter(True, 10)\n"
        "sys.stdout.write(type(reporter).__name__ + '\\n' + out.getvalue())\n"
    )
    result = _run(["rich"], code)
    assert result.returncode == 0, result.stderr
    kind, _, shown = result.stdout.partition("\n")
    assert kind == "_LineReporter"  # progress still shows, as plain lines
    assert "pip install '.[progress]' from a clone" in shown
