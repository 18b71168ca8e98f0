"""Encoding of ``multipart/form-data`` request bodies (uploads such as a fax document)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

__all__ = ["encode_multipart"]


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
