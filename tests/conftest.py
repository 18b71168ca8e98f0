"""Tests that need files kept out of the repository run only where those files are.

Kazoo's validation schemas (the ``kazoo_schemas`` marker) stay out of this repository (see
``shared/reference/kazoo-schemas``'s note). Set ``AUDIAN_KAZOO_SCHEMAS`` to their folder to run
those tests (CI does, ``.ci/run``); without it they are deselected, and the test summary says
which were not run and why. Every other test is self-contained in a clone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

KAZOO_SCHEMAS_ENV = "AUDIAN_KAZOO_SCHEMAS"
KAZOO_MARKER = "kazoo_schemas"
_NOT_RUN = pytest.StashKey[list[str]]()


def kazoo_schemas_dir() -> Path | None:
    """The folder of Kazoo's schemas named by ``AUDIAN_KAZOO_SCHEMAS``, else ``None``.

    Raises:
        pytest.UsageError: the variable names a folder without them (a typo must not look
            like a green run).
    """
    value = os.environ.get(KAZOO_SCHEMAS_ENV)
    if not value:
        return None
    folder = Path(value).expanduser()
    if not (folder / "users.json").is_file():
        raise pytest.UsageError(
            f"{KAZOO_SCHEMAS_ENV}={value}: no Kazoo schemas there (users.json is missing)"
        )
    return folder


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if kazoo_schemas_dir() is not None:
        return
    kept, left = [], []
    for item in items:
        (left if item.get_closest_marker(KAZOO_MARKER) else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
        config.stash[_NOT_RUN] = [item.nodeid for item in left]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    not_run = terminalreporter.config.stash.get(_NOT_RUN, [])
    if not not_run:
        return
    files = sorted({nodeid.split("::")[0] for nodeid in not_run})
    terminalreporter.write_sep("-", "not run")
    terminalreporter.write_line(
        f"{len(not_run)} tests marked {KAZOO_MARKER} were not run ({', '.join(files)}): "
        f"they check the spec against Kazoo's own schemas, which are kept out of this "
        f"repository; set {KAZOO_SCHEMAS_ENV} to their folder to run them (see README)."
    )
