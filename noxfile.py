"""Tasks: `nox -s demo`, `nox -s tests`, `nox -s lint`, `nox -s generate`, `nox -s bench`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
CODEGEN = ["openapi-python-client==0.29.1", "ruff==0.17.6", "pyyaml>=6,<7"]
TEST = [
    "pytest>=8,<10",
    "pytest-asyncio>=1.0,<2",
    "respx>=0.22,<0.24",
    "trio>=0.25,<1",
    "hypothesis>=6.100,<7",
    "jsonschema>=4.18,<5",
]
EXTRAS = "simulator,fastapi,aiohttp,progress,fast"


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Run the demo: both APIs through the SDK against the embedded simulator."""
    session.install("-e", ".[simulator,progress,fast,aiohttp]")
    session.run("python", "-m", "audian_async.demo", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Check generated code for drift from spec/, then run unit and integration tests."""
    session.install(*CODEGEN, *TEST, "-e", f".[{EXTRAS}]")
    session.run("python", "codegen/generate.py", "--check")
    session.run("pytest", "-q", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict over the package (generated code included) and over
    tests/typecheck, the public types as a user's type checker sees them."""
    session.install("ruff==0.17.6", "mypy>=1.10,<3", *TEST, "-e", f".[{EXTRAS}]")
    session.run("ruff", "check", "audian_async", "codegen", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "audian_async", "codegen", "tests", "noxfile.py")
    session.run("mypy", "--strict", "audian_async", "tests/typecheck")


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate audian_async/_generated/ from spec/ with the templates in codegen/."""
    session.install(*CODEGEN)
    session.run("python", "codegen/generate.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks over loopback (~5 min); writes bench/RESULTS.md. `-- --report-only`, `-- --quick`."""
    # uvloop runs the benchmark's own server (bench/server.py), never the measured clients.
    session.install("-e", f".[{EXTRAS}]", "uvloop>=0.19,<1")
    session.run("python", "-m", "bench", *session.posargs)
