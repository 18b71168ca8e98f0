"""Reading ``multipart/form-data`` request bodies (uploads) without extra dependencies."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

__all__ = ["Upload", "parse_form"]

#: One uploaded file: (file name, media type, content).
Upload = tuple[str, str, bytes]


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """Text fields and files of a multipart form; raises ``ValueError`` when it is not one."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.default).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    if not fields and not files:
        raise ValueError("an empty form")
    return fields, files
