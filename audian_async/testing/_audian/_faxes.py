"""Faxes: send (JSON with a document URL, or a multipart upload), list, get, delete, and the
document download (``application/pdf``).

A sent fax is delivered at once in the simulator: ``status`` ``sent`` and a successful
``tx_result``. A URL send stores a small stand-in PDF (the simulator fetches nothing); an
upload stores the uploaded bytes.
"""

from __future__ import annotations

from typing import Any

from .._envelope import bad_identifier, validation_error
from .._schema import SchemaError
from .._sim_clock import iso_from_gregorian
from .._store import Doc
from ._handlers import Call, Endpoint, Result, announce, doc_rows, page_of
from ._kinds import Kind, pick
from ._resources import create_doc, delete_doc

__all__ = ["FAX", "endpoints"]

#: What a URL send stores as its document.
STAND_IN_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

FAX = Kind(
    name="fax",
    collection="faxes",
    schema={"type": "object"},
    defaults={"retries": 1},
    spec_input="FaxInput",
)

_TEXT = {"type": "string"}
#: The same document, sent with its file as a multipart form.
FAX_UPLOAD = Kind(
    name="fax",
    collection="faxes",
    schema={
        "type": "object",
        "required": ["to_number", "from_number"],
        "properties": {n: _TEXT for n in ("to_number", "from_number", "to_name", "from_name")},
    },
    defaults={"retries": 1},
)


def _render(doc: Doc) -> dict[str, Any]:
    out = doc.render()
    out["timestamp"] = iso_from_gregorian(doc.created)
    return out


def _find(call: Call) -> Doc:
    doc = call.core.store.get("fax", call.account.id, call.params["fax_id"])
    if doc is None:
        raise bad_identifier(call.params["fax_id"])
    return doc


def list_faxes(call: Call) -> Result:
    """``GET /v2/accounts/{id}/faxes``."""

    docs = call.core.store.of_account("fax", call.account.id)
    summary = lambda d: pick(d, ("direction", "status", "to_number", "from_number", "pages"))  # noqa: E731
    return page_of(call, doc_rows(docs, summary, _render))


def send_fax(call: Call) -> Result:
    """``PUT /v2/accounts/{id}/faxes``: JSON with ``document.url``, or a multipart upload."""
    store = call.core.store
    if call.files:
        upload = call.files.get("document")
        if upload is None:
            raise validation_error(
                [SchemaError(("document",), "required", "Field is required but missing")]
            )
        doc = create_doc(store, FAX_UPLOAD, call.account.id, call.data)
        pdf = upload[2]
    else:
        doc = create_doc(store, FAX, call.account.id, call.data)
        pdf = STAND_IN_PDF
    doc.data.update(
        {
            "direction": "outbound",
            "status": "sent",
            "pages": 1,
            "attempts": 1,
            "tx_result": {"success": True, "pages_sent": 1, "time_elapsed": 30},
        }
    )
    doc.extra["pdf"] = pdf
    announce(call, "created", doc)
    return Result(_render(doc), status=201, revision=doc.revision)


def get_fax(call: Call) -> Result:
    """``GET /v2/accounts/{id}/faxes/{fax_id}``."""
    return Result(_render(_find(call)))


def delete_fax(call: Call) -> Result:
    """``DELETE /v2/accounts/{id}/faxes/{fax_id}``."""
    doc = _find(call)
    data = delete_doc(call.core.store, call.core.clock, doc)
    announce(call, "deleted", doc)
    data["timestamp"] = iso_from_gregorian(doc.created)
    return Result(data, revision=doc.revision)


def attachment(call: Call) -> Result:
    """``GET /v2/accounts/{id}/faxes/{fax_id}/attachment``: the PDF."""
    return Result(raw=_find(call).extra.get("pdf", STAND_IN_PDF), media_type="application/pdf")


def endpoints() -> list[Endpoint]:
    """The fax routes."""
    base = "/accounts/{account_id}/faxes"
    return [
        Endpoint(base, {"GET": list_faxes, "PUT": send_fax}),
        Endpoint(base + "/{fax_id}", {"GET": get_fax, "DELETE": delete_fax}),
        Endpoint(base + "/{fax_id}/attachment", {"GET": attachment}),
    ]
