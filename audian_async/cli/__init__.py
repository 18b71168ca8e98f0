"""``audian-async``: provision Audian and Astradial from CSV or JSON-lines files.

Install with the ``cli`` extra (``pip install 'audian-async[cli]'``); ``python -m
audian_async`` runs the same command. See ``audian-async --help`` and docs/cli.md.

Exit codes (:class:`ExitCode`): 0 done / no changes, 1 rows invalid, failed or in conflict,
2 usage error or unreadable input file, 3 ``plan`` found changes, 4 set-up failure
(credentials, connection), 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

from ._exit import ExitCode

__all__ = ["ExitCode", "main"]


def main() -> None:
    """Run the ``audian-async`` command (needs click, the ``cli`` extra)."""
    try:
        from ._app import main as run
    except ImportError as exc:  # click missing
        import sys

        print(
            f"audian-async needs the cli extra: pip install 'audian-async[cli]' ({exc})",
            file=sys.stderr,
        )
        raise SystemExit(4) from None
    run()
