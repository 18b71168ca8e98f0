"""Read-only views for tests: the request log and snapshots of the stored state."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from ._audian._resources import render_account, render_number
from ._store import Doc, Store

__all__ = ["RecordedRequest", "RequestLog", "StateView", "StoredDoc"]

_ALIASES = {
    "users": "user",
    "devices": "device",
    "callflows": "callflow",
    "accounts": "account",
    "phone_numbers": "phone_number",
    "numbers": "phone_number",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator saw. ``status`` is None when the connection was dropped."""

    method: str
    path: str
    query: str
    status: int | None
    request_id: str | None
    fault: str | None = None

    @property
    def dropped(self) -> bool:
        """True when no response was sent."""
        return self.status is None


class RequestLog(Sequence[RecordedRequest]):
    """Every request served, in arrival order; thread-safe."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def append(self, item: RecordedRequest) -> None:
        """Record a request."""
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._items.clear()

    def matching(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[RecordedRequest]:
        """Requests with that method and/or a path containing the text."""
        with self._lock:
            items = list(self._items)
        return [
            r
            for r in items
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
        ]

    @overload
    def __getitem__(self, index: int) -> RecordedRequest: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RecordedRequest]: ...

    def __getitem__(self, index: int | slice) -> RecordedRequest | Sequence[RecordedRequest]:
        with self._lock:
            return self._items[index]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} requests)"


@dataclass(frozen=True)
class StoredDoc:
    """A snapshot of one stored document (public fields only, ``id`` included)."""

    kind: str
    id: str
    account_id: str
    data: dict[str, Any]
    created: int
    modified: int
    revision: str


def kind_name(name: str) -> str:
    """Singular kind for a kind or collection name (``users`` -> ``user``)."""
    return _ALIASES.get(name, name)


def _snapshot(doc: Doc) -> StoredDoc:
    if doc.kind == "phone_number":
        data = render_number(doc)
    elif doc.kind == "account":
        data = render_account(doc)
    else:
        data = doc.render()
    return StoredDoc(
        doc.kind, doc.id, doc.account_id, data, doc.created, doc.modified, doc.revision
    )


class StateView:
    """Inspection helpers over the live store (results are copies)."""

    def __init__(self, get_store: Any) -> None:
        self._get_store = get_store

    @property
    def _store(self) -> Store:
        store: Store = self._get_store()
        return store

    def docs(self, kind: str | None = None, account_id: str | None = None) -> list[StoredDoc]:
        """Every stored document, optionally of one kind (``"user"`` or ``"users"``) / account."""
        with self._store.lock:
            found = list(self._store.all_docs())
        wanted = kind_name(kind) if kind else None
        return [
            _snapshot(d)
            for d in found
            if (wanted is None or d.kind == wanted)
            and (account_id is None or d.account_id == account_id)
        ]

    def count(self, kind: str, account_id: str | None = None) -> int:
        """How many documents of a kind exist (in one account when given)."""
        return len(self.docs(kind, account_id))

    def user_count(self, account_id: str | None = None) -> int:
        """How many users exist (in one account when given)."""
        return self.count("user", account_id)

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        """The public rendering of one document, or None."""
        for doc in self.docs(kind):
            if doc.id == doc_id:
                return doc.data
        return None

    def secrets(self, kind: str, doc_id: str) -> dict[str, Any]:
        """The write-only fields stored for a document (``{"password": ...}``)."""
        with self._store.lock:
            doc = self._store.docs.get(kind_name(kind), {}).get(doc_id)
            return copy.deepcopy(doc.secrets) if doc else {}

    def children(self, account_id: str) -> list[str]:
        """Ids of the direct children of an account."""
        with self._store.lock:
            return [d.id for d in self._store.children(account_id)]

    def parent_of(self, account_id: str) -> str | None:
        """The parent account id (None for a root or unknown account)."""
        with self._store.lock:
            return self._store.parents.get(account_id)

    def phone_numbers(self, account_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Stored numbers (E.164 -> public data), optionally of one account."""
        return {d.id: d.data for d in self.docs("phone_number", account_id)}
