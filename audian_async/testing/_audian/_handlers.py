"""What the Audian router's handlers see and return: :class:`Call`, :class:`Result`, and
the :class:`Endpoint` table entries, with the helpers every family shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._envelope import ApiError, Meta, Paging
from .._jwt import Claims
from .._sim_core import Core
from .._store import Doc
from ._forms import Upload
from ._listing import Row, list_rows

__all__ = [
    "Call",
    "Endpoint",
    "Handler",
    "Result",
    "announce",
    "check_charges",
    "doc_rows",
    "page_of",
]


@dataclass
class Call:
    """One request as handlers see it."""

    core: Core
    method: str
    params: dict[str, str]
    query: list[tuple[str, str]]
    claims: Claims | None
    body: Any
    meta: Meta
    #: Files of a ``multipart/form-data`` request, by field name.
    files: dict[str, Upload] = field(default_factory=dict)
    #: The request envelope's top-level ``accept_charges`` (Kazoo's answer to a 402).
    accept_charges: bool = False

    @property
    def account(self) -> Doc:
        """The account named in the path (already checked to exist and be reachable)."""
        return self.core.store.accounts[self.params["account_id"]]

    @property
    def data(self) -> dict[str, Any]:
        """The request's ``data`` object (``{}`` when the body had none)."""
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class Result:
    """What a handler returns: the envelope's ``data`` plus how to send it."""

    data: Any = None
    status: int = 200
    revision: str = "automatic"
    paging: Paging | None = None
    flat: bool = False
    empty: bool = False
    raw: bytes | None = None  # a binary body (downloads), sent as ``media_type``
    media_type: str = "application/octet-stream"


Handler = Callable[[Call], Result]


@dataclass(frozen=True)
class Endpoint:
    """A path template and its handlers by method."""

    path: str
    handlers: Mapping[str, Handler]
    public: bool = False
    flat: bool = False


def page_of(call: Call, rows: list[Row]) -> Result:
    """One page of a Kazoo listing of ``rows`` (the request's paging and filters applied)."""
    listing = list_rows(rows, call.query, call.core.config.default_page_size)
    return Result(listing.items, paging=listing.paging)


def doc_rows(
    docs: list[Doc], summary: Callable[[Doc], Any], render: Callable[[Doc], dict[str, Any]]
) -> list[Row]:
    """Listing rows of documents: ``summary`` is the listed item, ``render`` the filtered doc."""
    return [
        Row(key=d.seq, doc=render(d), created=d.created, modified=d.modified, item=summary(d))
        for d in docs
    ]


def check_charges(call: Call, collection: str) -> None:
    """A 402 ``accept charges`` when creating in ``collection`` is billable and the request
    did not accept the charges (Kazoo's service-plan check)."""
    charges = call.core.store.charges.get(collection)
    if charges is not None and not call.accept_charges:
        raise ApiError(402, "accept charges", charges)


def announce(call: Call, change: str, doc: Doc) -> None:
    """Tell the event socket a REST write ``created``/``edited``/``deleted`` a document."""
    if call.core.events is not None:
        call.core.events.doc_changed(change, doc)
