"""Progress display for the bulk runner: a ``rich`` live bar, or a periodic stderr line.

``rich`` (the ``progress`` extra) is imported only when a bar is wanted. Without a terminal, or
without ``rich`` when progress was forced on, a plain line is printed every few seconds. With
the default ``progress=None`` and no terminal (a log file, CI), a plain line is printed every
:data:`QUIET_INTERVAL` seconds, and the final summary line only if a progress line was
printed (a short run stays silent) or the run was interrupted.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from ._runner import LimitStatus

__all__ = ["QUIET_INTERVAL", "Reporter", "limit_text", "make_reporter"]

#: Seconds between plain progress lines with ``progress=None`` when stderr is not a terminal.
QUIET_INTERVAL = 10.0


class Reporter(Protocol):
    """Something that shows the runner's counters now and then."""

    interval: float

    def update(
        self, ok: int, failed: int, skipped: int, seconds: float, limits: LimitStatus | None
    ) -> None:
        """Show the current counters, and what the rate limits do to the run."""

    def finish(self, line: str, force: bool = False) -> None:
        """Remove any live display and print the final one-line summary.

        ``force`` prints it even where a quiet reporter would not (an interrupted run).
        """


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_reporter(mode: bool | None, total: int | None) -> Reporter | None:
    """``None``: a rich bar only on a terminal; ``True``: always show something; ``False``: none."""
    if mode is False:
        return None
    stream = sys.stderr
    if _isatty(stream):
        try:
            return _RichReporter(total)
        except ImportError as exc:  # rich missing: plain lines
            if mode:  # a bar was asked for: say what gives one
                from .._extras import missing_extra

                with contextlib.suppress(OSError, ValueError):
                    print(missing_extra(exc, "progress", "a live bar", ("rich",)), file=stream)
        except Exception:  # rich unusable here: plain lines
            pass
    if mode is None:
        return _LineReporter(stream, total, interval=QUIET_INTERVAL, quiet=True)
    return _LineReporter(stream, total)


def limit_text(limits: LimitStatus | None) -> str:
    """``"waiting on the rate limit, next in ~0.4s"`` (the whole run waits), ``"rate limit:
    12/20 buckets waiting, next in ~0.4s"`` (some wait), or ``""``."""
    if limits is None or not limits.waiting:
        return ""
    expected = f"next in ~{limits.expected:.1f}s" if limits.expected < 1e9 else "next unknown"
    if limits.all_waiting:
        if limits.buckets == 1:
            return f"waiting on the server's rate limit, {expected}"
        return f"all {limits.buckets} buckets waiting on the rate limit, {expected}"
    return f"rate limit: {limits.waiting}/{limits.buckets} buckets waiting, {expected}"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _LineReporter:
    def __init__(
        self, stream: TextIO, total: int | None, interval: float = 2.0, quiet: bool = False
    ) -> None:
        self._stream = stream
        self._total = total
        self.interval = interval
        self._quiet = quiet  # the final line only if a progress line was printed
        self._printed = False

    def update(
        self, ok: int, failed: int, skipped: int, seconds: float, limits: LimitStatus | None
    ) -> None:
        done = ok + failed
        rate = done / seconds if seconds > 0 else 0.0
        text = f"bulk: {done + skipped}"
        if self._total is not None:
            text += f"/{self._total}"
        text += f" done ({ok} ok, {failed} failed"
        if skipped:
            text += f", {skipped} skipped"
        text += f"), {rate:.1f}/s"
        if self._total is not None and rate > 0:
            remaining = max(0, self._total - done - skipped)
            text += f", ETA {_duration(remaining / rate)}"
        waiting = limit_text(limits)
        if waiting:
            text += f"; {waiting}"
        self._write(text)
        self._printed = True

    def finish(self, line: str, force: bool = False) -> None:
        if force or self._printed or not self._quiet:
            self._write(line)

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self._stream, flush=True)


class _RichReporter:
    interval = 0.1

    def __init__(self, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._console: Any = Console(stderr=True)
        self._progress: Any = Progress(
            TextColumn("[bold]bulk[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"
                " {task.fields[rate]}"
            ),
            TextColumn("[yellow]{task.fields[limits]}[/]"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self._console,
            auto_refresh=False,
            transient=True,
        )
        self._task = self._progress.add_task(
            "bulk", total=total, ok=0, failed=0, rate="", limits=""
        )
        self._progress.start()

    def update(
        self, ok: int, failed: int, skipped: int, seconds: float, limits: LimitStatus | None
    ) -> None:
        done = ok + failed
        rate = f"{done / seconds:.1f}/s" if seconds > 0 else ""
        self._progress.update(
            self._task,
            completed=done + skipped,
            ok=ok,
            failed=failed,
            rate=rate,
            limits=limit_text(limits),
        )
        self._progress.refresh()

    def finish(self, line: str, force: bool = False) -> None:
        self._progress.stop()
        self._console.print(line, markup=False, highlight=False)
