"""The failed-rows file: each row as it was read, plus why it failed; fix it and feed it back.

A CSV input gives a CSV file with the same columns and ``_error``, ``_status``,
``_request_id`` and ``_fields`` (JSON ``{field: {rule: message}}``) after them; a JSON-lines
input gives JSON lines with an ``_error`` object. Columns and keys starting with ``_`` are
ignored when a file is read, so the file is an input as it stands. Created owner-only (rows
may carry passwords).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from typing import IO, Any

from .._errors import APIStatusError, ValidationError
from ._files import open_private
from ._rows import InputFile, InputRow

__all__ = ["ERROR_COLUMNS", "FailedRows", "RowError", "describe"]

ERROR_COLUMNS = ("_error", "_status", "_request_id", "_fields")


@dataclass
class RowError:
    """Why a row failed, as written to the file and reported."""

    message: str
    status: int | str | None = None
    request_id: str | None = None
    fields: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {"message": self.message}
        if self.status is not None:
            out["status"] = self.status
        if self.request_id:
            out["request_id"] = self.request_id
        if self.fields:
            out["fields"] = self.fields
        return out


def describe(exc: BaseException) -> RowError:
    """The row error of an exception (an SDK error's status, request id and field map)."""
    if isinstance(exc, APIStatusError):
        message = exc.server_message or str(exc)
        return RowError(
            f"{type(exc).__name__}: {message}",
            exc.status_code,
            exc.request_id,
            exc.field_errors,
        )
    if isinstance(exc, ValidationError):
        return RowError(str(exc), "invalid", None, {exc.field: {exc.rule: exc.detail}})
    status = getattr(exc, "status", None)
    return RowError(f"{type(exc).__name__}: {exc}", status if isinstance(status, str) else None)


def default_path(input_path: str, fmt: str) -> str:
    """``users.csv`` -> ``users.failed.csv`` beside it (``.jsonl`` for JSON lines)."""
    stem, _ = os.path.splitext(input_path)
    return f"{stem}.failed.{'csv' if fmt == 'csv' else 'jsonl'}"


class FailedRows:
    """Writes failed rows as they come (created on the first one, 0600)."""

    def __init__(self, path: str, infile: InputFile) -> None:
        self.path = path
        self._infile = infile
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._header: list[str] = []
        self.count = 0

    def _open(self) -> None:
        self._file = open_private(self.path)
        if self._infile.format == "csv":
            self._header = [h for h in self._infile.header if h not in ERROR_COLUMNS]
            self._writer = csv.writer(self._file, delimiter=self._infile.delimiter)
            self._writer.writerow([*self._header, *ERROR_COLUMNS])

    def add(self, row: InputRow, error: RowError) -> None:
        """Write one failed row."""
        if self._file is None:
            self._open()
        assert self._file is not None
        self.count += 1
        if self._infile.format == "csv":
            cells = dict(zip(self._infile.header, row.raw or [], strict=False))
            values = [cells.get(h, "") for h in self._header]
            fields = json.dumps(error.fields, ensure_ascii=False) if error.fields else ""
            status = "" if error.status is None else str(error.status)
            self._writer.writerow([*values, error.message, status, error.request_id or "", fields])
        else:
            raw = row.raw if isinstance(row.raw, dict) else {"_line": row.line, "_raw": row.raw}
            data = {k: v for k, v in raw.items() if k != "_error"}
            data["_error"] = error.as_json()
            self._file.write(json.dumps(data, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Flush and close (a no-op when nothing failed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
