"""Encoding of ``multipart/form-data`` request bodies (uploads such as a fax document)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, BinaryIO

from ._errors import ArgumentTypeError
from ._types import NOT_GIVEN

__all__ = ["encode_multipart", "form_body"]


def _quote(value: str) -> str:
    """A header parameter value: quotes and line breaks escaped (RFC 7578 section 2)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode_multipart(
    fields: Mapping[str, str],
    file_field: str,
    filename: str,
    data: bytes,
    content_type: str,
    *,
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """The body and the ``Content-Type`` header of a form with text fields and one file."""
    boundary = boundary or f"audian-{secrets.token_hex(16)}"
    dash = f"--{boundary}".encode()
    parts: list[bytes] = []
    for name, value in fields.items():
        parts += [
            dash,
            f'Content-Disposition: form-data; name="{_quote(name)}"'.encode(),
            b"",
            value.encode(),
        ]
    parts += [
        dash,
        (
            f'Content-Disposition: form-data; name="{_quote(file_field)}"; '
            f'filename="{_quote(filename)}"'
        ).encode(),
        f"Content-Type: {content_type}".encode(),
        b"",
        data,
        dash + b"--",
        b"",
    ]
    return b"\r\n".join(parts), f"multipart/form-data; boundary={boundary}"


def form_body(
    fields: Mapping[str, Any],
    upload: tuple[str, str, bytes | BinaryIO, str],
    schema: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None,
    *,
    validating: bool,
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type: the given text fields (checked
    against ``schema`` first when ``validating``), ``extra_body`` as more fields, and one file
    (``upload``: field name, file name, bytes or a binary file object, content type).

    Raises:
        ValidationError: a field breaks its schema.
        ArgumentTypeError: the document is neither bytes nor a binary file.
    """
    given = {k: v for k, v in fields.items() if v is not NOT_GIVEN and v is not None}
    if validating:
        from ._validate import validate_body

        validate_body(given, schema, {}, partial=False)
    name, filename, document, content_type = upload
    data: Any
    if isinstance(document, bytes | bytearray):
        data = document
    else:  # a binary file; anything else (text, a path as str) is refused below
        read = getattr(document, "read", None)
        data = read() if callable(read) else document
    if not isinstance(data, bytes | bytearray):
        raise ArgumentTypeError(
            name, "type", f"must be bytes or a binary file, not {type(data).__name__}"
        )
    text = {k: str(v) for k, v in given.items()}
    if extra_body:
        text.update({k: str(v) for k, v in extra_body.items()})
    return encode_multipart(text, name, filename, bytes(data), content_type)
