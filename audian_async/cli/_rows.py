"""Reading the input file: CSV (a header row, dotted headers for nested fields) or JSON lines.

Every row keeps its line number and its original form (the CSV cells, or the JSON object) so
that a failed row can be written back exactly as it was read. A problem with the file as a
whole (bad encoding, no header, the wrong delimiter, no key column) raises
:class:`InputFileError` naming the line; a problem with one row (a bad JSON line, too many
cells) marks that row only.

Columns whose header starts with ``_`` are notes (a failed-rows file's ``_error`` ...), never
sent. The ``account`` column chooses the row's account instead of being sent.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import InputFileError

__all__ = ["ACCOUNT_COLUMN", "InputFile", "InputRow", "read_input"]

ACCOUNT_COLUMN = "account"
_OTHER_DELIMITERS = (";", "\t", "|")

Format = Literal["csv", "jsonl"]


@dataclass
class InputRow:
    """One data row: ``fields`` (nested, CSV values still strings), where it came from."""

    line: int
    fields: dict[str, Any]
    account: str | None = None
    problem: str | None = None  # the row cannot be read (bad JSON, too many cells)
    raw: Any = None  # list of cells (CSV) or the decoded object / text (JSONL)


@dataclass
class InputFile:
    """A whole input file, read."""

    path: str
    format: Format
    header: list[str] = field(default_factory=list)  # CSV only
    rows: list[InputRow] = field(default_factory=list)
    delimiter: str = ","


def detect_format(path: str, text: str) -> Format:
    """``jsonl`` for ``.jsonl``/``.ndjson`` or text starting with ``{``; otherwise ``csv``."""
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            path,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save the "
            "file as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
            line,
        ) from None


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """``set_path(d, "sip.username", v)``: ``d["sip"]["username"] = v``."""
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def read_input(
    path: str | os.PathLike[str],
    *,
    format: Format | None = None,
    delimiter: str = ",",
    required_columns: Sequence[str] = (),
) -> InputFile:
    """Read ``path``; ``required_columns`` (the key) must be in a CSV header."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputFileError(name, f"cannot read the file ({exc.strerror or exc})") from None
    text = _decode(name, data)
    if not text.strip():
        raise InputFileError(name, "the file is empty (expected a header row, or JSON lines)", 1)
    fmt = format or detect_format(name, text)
    if fmt == "jsonl":
        return _read_jsonl(name, text)
    return _read_csv(name, text, delimiter, required_columns)


def _read_jsonl(path: str, text: str) -> InputFile:
    out = InputFile(path, "jsonl")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            if number == 1 and "," in line and not line.lstrip().startswith(("{", "[")):
                raise InputFileError(
                    path, "not JSON lines (this looks like CSV: name the file .csv)", 1
                ) from None
            out.rows.append(InputRow(number, {}, problem=f"not valid JSON ({exc})", raw=line))
            continue
        if not isinstance(value, dict):
            out.rows.append(
                InputRow(number, {}, problem="each line must be a JSON object", raw=line)
            )
            continue
        fields: dict[str, Any] = {}
        account = None
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("_"):
                continue
            if key == ACCOUNT_COLUMN:
                account = None if item in (None, "") else str(item)
                continue
            set_path(fields, key, item)
        out.rows.append(InputRow(number, fields, account=account, raw=value))
    return out


def _read_csv(path: str, text: str, delimiter: str, required: Sequence[str]) -> InputFile:
    out = InputFile(path, "csv", delimiter=delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputFileError(path, f"cannot read the header row ({exc})", 1) from None
    header = [h.strip() for h in header]
    if len(header) == 1 and delimiter == ",":
        for other in _OTHER_DELIMITERS:
            if other in header[0]:
                shown = "a tab" if other == "\t" else repr(other)
                raise InputFileError(
                    path,
                    f"the header has one column {header[0][:60]!r}: the file seems to be "
                    f"separated by {shown}, not commas (pass --delimiter {other!r})",
                    1,
                )
    if any(not h for h in header):
        raise InputFileError(path, "the header row has an empty column name", 1)
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise InputFileError(path, f"the column {h!r} appears twice in the header", 1)
        seen.add(h)
    for column in required:
        if column not in seen and not any(h.startswith(column + ".") for h in header):
            raise InputFileError(
                path,
                f"no {column!r} column (the key that finds existing items); the header has: "
                f"{', '.join(header)} (choose another key with --key)",
                1,
            )
    out.header = header
    last = reader.line_num
    try:
        for cells in reader:
            number, last = last + 1, reader.line_num  # a quoted cell may span lines
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                out.rows.append(
                    InputRow(
                        number,
                        {},
                        problem=f"{len(cells)} values for {len(header)} columns",
                        raw=cells,
                    )
                )
                continue
            fields: dict[str, Any] = {}
            account = None
            for name, cell in zip(header, cells, strict=False):
                value = cell.strip()
                if name.startswith("_") or value == "":
                    continue
                if name == ACCOUNT_COLUMN:
                    account = value
                    continue
                set_path(fields, name, value)
            out.rows.append(InputRow(number, fields, account=account, raw=cells))
    except csv.Error as exc:
        raise InputFileError(
            path, f"cannot read the file as CSV ({exc})", reader.line_num
        ) from None
    return out
