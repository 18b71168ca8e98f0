"""The exit codes of ``audian-async``, one meaning each, consistent with click's own."""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    """What a script can act on.

    ``plan``: ``OK`` (no changes), ``CHANGES`` (changes to apply), ``ROWS_FAILED`` (invalid
    rows; the rest is planned). ``apply``: ``OK`` (done, or nothing to do), ``ROWS_FAILED``
    (finished; some rows invalid, failed or in conflict, see the failed-rows file),
    ``INTERRUPTED`` (stopped early: rerun the same command to resume). Both: ``USAGE`` (a bad
    option or an unreadable input file, as click reports usage errors), ``SETUP`` (no
    credentials, the server unreachable or the credentials refused, the server's state
    unreadable, or a plan, journal or failed-rows file that cannot be written).
    """

    OK = 0
    ROWS_FAILED = 1
    USAGE = 2
    CHANGES = 3
    SETUP = 4
    INTERRUPTED = 130
