"""Files that may carry secrets (plans, journals, failed rows) are created owner-only."""

from __future__ import annotations

import contextlib
import os
from typing import IO

__all__ = ["PRIVATE_MODE", "ensure_private", "open_private"]

#: Owner read and write, nobody else.
PRIVATE_MODE = 0o600


def open_private(path: str, mode: str = "w") -> IO[str]:
    """Open ``path`` for writing text (``"w"`` or ``"a"``), creating it with mode 0600.

    An existing file keeps its content for ``"a"`` and has its mode tightened to 0600 either way.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_MODE)
    with contextlib.suppress(OSError):  # a file system without modes
        os.fchmod(fd, PRIVATE_MODE)
    return os.fdopen(fd, mode, encoding="utf-8", newline="")


def ensure_private(path: str) -> None:
    """Create ``path`` empty with mode 0600 if missing, else tighten its mode to 0600."""
    open_private(path, "a").close()
