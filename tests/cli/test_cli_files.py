"""Input files that cannot be read give one clear error naming the line (exit 2, click's
usage code), never a traceback; `--help` is complete and cheap to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from audian_async.cli._rows import read_input

from .conftest import run, subprocess_env

# No server is needed: a file that cannot be read stops the command before it connects.
NO_SERVER = {"AUDIAN_API_KEY": "k" * 64, "AUDIAN_BASE_URL": "http://127.0.0.1:9/v2"}


def _plan(path: Path, *extra: str) -> tuple[int, str]:
    result = run(["plan", str(path), "-r", "users", *extra], NO_SERVER)
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


def test_semicolon_separated_file_is_named_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("username;first_name;last_name\nalice;Alice;Smith\n", encoding="utf-8")
    code, err = _plan(path)
    assert code == 2
    assert "users.csv, line 1:" in err and "separated by ';'" in err and "--delimiter" in err


def test_missing_key_column_names_the_key_and_the_header(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("first_name,last_name\nAlice,Smith\n", encoding="utf-8")
    code, err = _plan(path)
    assert code == 2
    assert "line 1: no 'username' column" in err and "first_name, last_name" in err


def test_bad_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes("username,first_name\nalice,Alice\nbob,B\xe9b\n".encode("latin-1"))
    code, err = _plan(path)
    assert code == 2
    assert "line 3: not UTF-8" in err


def test_empty_file_and_blank_file(tmp_path: Path) -> None:
    for content in ("", "\n  \n"):
        path = tmp_path / "users.csv"
        path.write_text(content, encoding="utf-8")
        code, err = _plan(path)
        assert code == 2
        assert "line 1: the file is empty" in err


def test_missing_file_and_unknown_key_are_usage_errors(tmp_path: Path) -> None:
    code, err = _plan(tmp_path / "nope.csv")
    assert code == 2 and "nope.csv: cannot read the file" in err
    path = tmp_path / "users.csv"
    path.write_text("username,first_name\nalice,Alice\n", encoding="utf-8")
    code, err = _plan(path, "--key", "first_name")
    assert code == 2 and "use one of username, email" in err


def test_tab_delimiter_option_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "users.tsv"
    path.write_text("username\tsip.username\tenabled\nalice\tA1\tno\n", encoding="utf-8")
    infile = read_input(path, delimiter="\t", required_columns=("username",))
    assert infile.rows[0].fields == {
        "username": "alice",
        "sip": {"username": "A1"},
        "enabled": "no",
    }
    assert infile.rows[0].line == 2


def test_rows_keep_their_line_numbers_and_bad_rows_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        'username,first_name,account\n\nalice,"Multi\nline",acme\nbob,Bob,,extra\n',
        encoding="utf-8",
    )
    rows = read_input(path).rows
    assert [(r.line, r.problem) for r in rows] == [(3, None), (5, "4 values for 3 columns")]
    assert rows[0].account == "acme" and rows[0].fields == {
        "username": "alice",
        "first_name": "Multi\nline",
    }
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_text(
        '{"username": "a", "sip.password": "x", "_error": {}}\n{oops\n[1]\n', encoding="utf-8"
    )
    rows = read_input(jsonl).rows
    assert rows[0].fields == {"username": "a", "sip": {"password": "x"}}
    assert rows[1].problem is not None and rows[1].problem.startswith("not valid JSON")
    assert rows[2].problem == "each line must be a JSON object"


def test_every_command_has_complete_help() -> None:
    top = run(["--help"])
    assert top.exit_code == 0
    for word in (
        "plan",
        "apply",
        "resources",
        "Exit codes",
        "130",
        "AUDIAN_API_KEY",
        "ASTRADIAL_API_KEY",
    ):
        assert word in top.output
    for command, words in {
        "plan": (
            "--resource",
            "--key",
            "--account",
            "--output",
            "--simulator",
            "--out",
            "Exit code",
        ),
        "apply": ("--plan", "--journal", "--failed", "--progress", "conflict", "Exit code"),
        "resources": ("default key",),
    }.items():
        result = run([command, "--help"])
        assert result.exit_code == 0
        for word in words:
            assert word in result.output, (command, word)
    assert run(["plan"]).exit_code == 2  # click's usage error


@pytest.mark.parametrize("args", [["--help"], ["plan", "--help"], ["apply", "--help"]])
def test_help_imports_click_and_no_simulator_transport_or_models(args: list[str]) -> None:
    code = (
        "import sys, runpy; sys.argv = ['audian-async', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('audian_async', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=subprocess_env({}),
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(out.stderr.split())
    assert "click" in modules and "Usage: audian-async" in out.stdout
    unwanted = [
        m
        for m in modules
        if m.startswith(
            ("audian_async.testing", "aiohttp", "starlette", "uvicorn", "audian_async.bulk")
        )
        or ".models." in m
        or m.startswith("audian_async._generated.audian.resources")
    ]
    assert unwanted == []


def test_python_dash_m_runs_the_same_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "audian_async", "resources"],
        env=subprocess_env({}),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "astradial-queues" in out.stdout and "username" in out.stdout


def test_columns_the_spec_does_not_know_are_noted(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("username,first_name,last_name,ownr,_note\nbo,Bo,Li,x,y\n", encoding="utf-8")
    result = run(["plan", str(path), "-r", "users", "--simulator"])
    assert result.exit_code == 3
    assert "note: 'ownr' is not a field of users in the spec" in result.stderr
    assert "_note" not in result.stderr and "first_name" not in result.stderr
