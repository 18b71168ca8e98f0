"""The bulk runner's append-only JSON-lines journal (resume support).

One line per finished input: ``{"key", "status", "attempts", "ts"}`` plus ``result_id`` for
``ok`` lines and ``error`` / ``message`` for ``failed`` ones. ``interrupted`` marks an input
whose create was in flight (or whose outcome was unknown) when the run was cancelled: a rerun
looks it up with ``reconcile`` before calling the operation again. Input payloads are never
written.

Workers hand entries over synchronously (no await, so no cancellation point between an outcome
and its line); one writer task serialises and appends them off the event loop in batches, and
flushes after every batch. The writer is shielded from cancellation and drains everything
before it stops, so a cancelled run still records what finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

import anyio
import anyio.to_thread

__all__ = ["Journal", "JournalState", "result_id_of"]

_MESSAGE_LIMIT = 500


class JournalState:
    """What an existing journal says: keys already done, keys interrupted mid-create."""

    __slots__ = ("done", "interrupted", "needs_newline")

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.interrupted: set[str] = set()
        self.needs_newline = False


def load_state(path: str | os.PathLike[str]) -> JournalState:
    """Read a journal; unreadable lines (such as a truncated last line) are skipped."""
    state = JournalState()
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return state
    with f:
        last = b""
        for raw in f:
            last = raw
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            key, status = entry.get("key"), entry.get("status")
            if not isinstance(key, str):
                continue
            if status == "ok":
                state.done.add(key)
                state.interrupted.discard(key)
            elif status == "interrupted":
                if key not in state.done:
                    state.interrupted.add(key)
            elif status == "failed":
                state.interrupted.discard(key)
        state.needs_newline = bool(last) and not last.endswith(b"\n")
    return state


def result_id_of(result: Any) -> str | int | None:
    """The ``id`` of a result (attribute or mapping key), when it is a string or integer."""
    if isinstance(result, Mapping):
        value = result.get("id")
    else:
        try:
            value = getattr(result, "id", None)
        except Exception:
            value = None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return value
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def error_fields(exc: BaseException) -> dict[str, str]:
    """The journal's description of an error: class name and (truncated) message."""
    return {"error": type(exc).__name__, "message": str(exc)[:_MESSAGE_LIMIT]}


class Journal:
    """An open journal: synchronous :meth:`record`, one :meth:`run_writer` task."""

    __slots__ = (
        "_closed",
        "_failed",
        "_file",
        "_needs_newline",
        "_path",
        "_pending",
        "_wake",
        "state",
    )

    def __init__(self, path: str | os.PathLike[str], state: JournalState) -> None:
        self._path = path
        self.state = state
        self._pending: list[dict[str, Any]] = []
        self._file: IO[str] | None = None
        self._needs_newline = state.needs_newline
        self._closed = False
        self._failed = False
        self._wake = anyio.Event()

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Read the journal's state and open it for appending (both off the event loop)."""
        state = await anyio.to_thread.run_sync(load_state, path)
        journal = cls(path, state)
        journal._file = await anyio.to_thread.run_sync(journal._open_file)
        return journal

    def _open_file(self) -> IO[str]:
        return open(self._path, "a", encoding="utf-8", newline="\n")

    def record(self, entry: dict[str, Any]) -> None:
        """Queue one entry (its ``ts`` is a ``time.time()`` float, formatted when written)."""
        if self._failed:
            return
        self._pending.append(entry)
        self._wake.set()

    def close(self) -> None:
        """Tell the writer to drain what is queued and stop."""
        self._closed = True
        self._wake.set()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        f = self._file
        if f is None:
            return
        parts: list[str] = []
        if self._needs_newline:
            parts.append("\n")  # never glue a new line onto a truncated one
            self._needs_newline = False
        for entry in batch:
            entry["ts"] = _iso(entry["ts"])
            parts.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        f.write("".join(parts))
        f.flush()

    def _close_file(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            f.close()

    async def flush(self) -> None:
        """Write everything queued (call shielded)."""
        while self._pending:
            batch, self._pending = self._pending, []
            await anyio.to_thread.run_sync(self._write, batch)

    async def run_writer(self, on_error: Callable[[Exception], None]) -> None:
        """Append queued entries until :meth:`close`; shielded, so a cancel never loses lines."""
        with anyio.CancelScope(shield=True):
            try:
                while True:
                    if self._pending:
                        await self.flush()
                        continue
                    if self._closed:
                        break
                    self._wake = anyio.Event()
                    await self._wake.wait()
            except Exception as exc:
                self._failed = True
                self._pending.clear()
                on_error(exc)
            finally:
                await anyio.to_thread.run_sync(self._close_file)

    async def aclose(self) -> None:
        """Flush and close (for a run that ended before its writer task ran)."""
        with anyio.CancelScope(shield=True):
            await self.flush()
            await anyio.to_thread.run_sync(self._close_file)
