"""multipart/form-data encoding of uploads."""

from __future__ import annotations

from audian_async._multipart import encode_multipart
from audian_async.testing._audian._forms import parse_form


def test_fields_and_file_round_trip() -> None:
    body, content_type = encode_multipart(
        {"to_number": "+14155550100", "to_name": "Zoë"},
        "document",
        'contract "final".pdf',
        b"%PDF-1.7\r\n--not-a-boundary\r\n",
        "application/pdf",
        boundary="b0undary",
    )
    assert content_type == "multipart/form-data; boundary=b0undary"
    assert b'filename="contract %22final%22.pdf"' in body
    fields, files = parse_form(content_type, body)
    assert fields == {"to_number": "+14155550100", "to_name": "Zoë"}
    assert files["document"][1:] == ("application/pdf", b"%PDF-1.7\r\n--not-a-boundary\r\n")


def test_a_fresh_boundary_per_body() -> None:
    first = encode_multipart({}, "f", "a", b"x", "text/plain")[1]
    second = encode_multipart({}, "f", "a", b"x", "text/plain")[1]
    assert first != second
