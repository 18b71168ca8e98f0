"""Tasks: `nox -s demo`, `nox -s tests`, `nox -s lint`, `nox -s docs`, `nox -s generate`, `nox -s bench`,
`nox -s bench-cli`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
CODEGEN = ["openapi-python-client==0.29.1", "ruff==0.17.6", "jinja2>=3,<4"]
TEST = [
    "pytest>=8,<10",
    "pytest-asyncio>=1.0,<2",
    "respx>=0.22,<0.24",
    "trio>=0.25,<1",
    "hypothesis>=6.100,<7",
    "jsonschema>=4.18,<5",
]
EXTRAS = "simulator,fastapi,aiohttp,progress,fast,events,cli"
# The documentation site's tools: docs only, never a runtime dependency (see mkdocs.yml).
DOCS = [
    "mkdocs>=1.6,<2",
    "mkdocs-material>=9.5,<10",
    "mkdocstrings[python]>=0.27,<2",
    "mkdocs-gen-files>=0.5,<1",
    "mkdocs-literate-nav>=0.6,<1",
]


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
    paths = ["audian_async", "codegen", "tests", "docs/gen_reference.py", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy", "--strict", "audian_async", "tests/typecheck")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ (`mkdocs build --strict`: a warning fails)."""
    session.install(*DOCS, "ruff==0.17.6", "-e", ".")
    quiet = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}  # plugin banners
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs, env=quiet)


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


@nox.session(python=PYTHON, name="bench-cli")
def bench_cli(session: nox.Session) -> None:
    """The command line vs the same job with run_bulk (~10 min); writes bench/RESULTS-cli.md."""
    session.install("-e", f".[{EXTRAS}]")
    session.run("python", "-m", "bench.cli", "--markdown", *session.posargs)
