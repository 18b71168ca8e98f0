"""In-memory state: accounts (a tree), documents per kind, phone numbers and API keys.

Everything here is plain data plus bookkeeping; behaviour (validation, envelopes) lives elsewhere.
Callers hold :attr:`Store.lock` around any read-modify-write sequence.
"""

from __future__ import annotations

import copy
import hashlib
import random
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._sim_clock import Clock
from ._unique import UniqueIndex

#: Per document kind, the keys its uniqueness rules look up (``_kinds`` registers them):
#: ``data -> keys``; :meth:`Store.holders` finds the documents of an account holding one.
UNIQUE_KEYS: dict[str, Callable[[dict[str, Any]], Iterable[Hashable]]] = {}

__all__ = ["Doc", "Store", "get_path", "set_path", "pop_path"]


@dataclass
class Doc:
    """One stored document.

    ``data`` holds the public fields (never ``id``); ``secrets`` maps dotted paths of write-only
    fields (passwords) to their values, which are never rendered.
    """

    kind: str
    id: str
    account_id: str
    data: dict[str, Any]
    created: int
    modified: int
    seq: int
    rev: int = 1
    secrets: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def revision(self) -> str:
        """CouchDB-style revision string ``N-<32 hex>``."""
        digest = hashlib.md5(f"{self.id}:{self.rev}".encode()).hexdigest()
        return f"{self.rev}-{digest}"

    def render(self) -> dict[str, Any]:
        """A deep copy of the public fields plus ``id``."""
        out = copy.deepcopy(self.data)
        out["id"] = self.id
        return out

    def touch(self, now: int) -> None:
        """Record a write: new revision and modification time."""
        self.rev += 1
        self.modified = now


def get_path(doc: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """Read a dotted key (``sip.username``) from nested dicts."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Write a dotted key, creating intermediate objects."""
    parts = dotted.split(".")
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def pop_path(doc: dict[str, Any], dotted: str) -> Any:
    """Remove a dotted key and return its value (None when absent)."""
    parts = dotted.split(".")
    node: Any = doc
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        return node.pop(parts[-1], None)
    return None


class Store:
    """All simulator state. Ids are 32 lowercase hex characters, unique across kinds."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._rng = random.Random(seed)
        self._seq = 0
        self.accounts: dict[str, Doc] = {}
        self.parents: dict[str, str | None] = {}
        self.docs: dict[str, dict[str, Doc]] = {}
        self.numbers: dict[str, Doc] = {}
        self.api_keys: dict[str, str] = {}
        self.key_owners: dict[str, str] = {}
        #: Collections whose creates are billable: a 402 ``accept charges`` with this breakdown
        #: unless the request carries ``"accept_charges": true``.
        self.charges: dict[str, dict[str, Any]] = {}
        self._unique: dict[str, UniqueIndex[Doc]] = {}

    # -- ids and bookkeeping --------------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh 32-hex id."""
        while True:
            candidate = f"{self._rng.getrandbits(128):032x}"
            if candidate not in self.accounts and not any(
                candidate in d for d in self.docs.values()
            ):
                return candidate

    def new_hex(self, chars: int) -> str:
        """Random lowercase hex of the given length (realms, owner ids)."""
        return f"{self._rng.getrandbits(chars * 4):0{chars}x}"

    def new_api_key(self) -> str:
        """A fresh 64-character API key."""
        return self.new_hex(64)

    def make_doc(
        self, kind: str, account_id: str, data: dict[str, Any], doc_id: str | None = None
    ) -> Doc:
        """Build (but do not insert) a document stamped with the current time."""
        self._seq += 1
        now = self._clock.gregorian()
        return Doc(
            kind=kind,
            id=doc_id or self.new_id(),
            account_id=account_id,
            data=data,
            created=now,
            modified=now,
            seq=self._seq,
        )

    # -- accounts -------------------------------------------------------------------------------

    def add_account(self, doc: Doc, parent_id: str | None) -> None:
        """Insert an account document under ``parent_id`` (None for a root)."""
        self.accounts[doc.id] = doc
        self.parents[doc.id] = parent_id

    def remove_account(self, account_id: str) -> None:
        """Delete an account with all of its documents, numbers and API keys."""
        self.accounts.pop(account_id, None)
        self.parents.pop(account_id, None)
        for kind, by_id in self.docs.items():
            for doc_id in [i for i, d in by_id.items() if d.account_id == account_id]:
                del by_id[doc_id]
                if kind in self._unique:
                    self._unique[kind].drop(doc_id)
        for number in [n for n, d in self.numbers.items() if d.account_id == account_id]:
            del self.numbers[number]
        for key in [k for k, a in self.api_keys.items() if a == account_id]:
            del self.api_keys[key]
            self.key_owners.pop(key, None)

    def ancestors(self, account_id: str) -> list[str]:
        """Parent, grandparent, ... up to the root."""
        out: list[str] = []
        parent = self.parents.get(account_id)
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self.parents.get(parent)
        return out

    def is_within(self, account_id: str, ancestor_id: str) -> bool:
        """True when ``account_id`` is ``ancestor_id`` or one of its descendants."""
        return account_id == ancestor_id or ancestor_id in self.ancestors(account_id)

    def children(self, account_id: str) -> list[Doc]:
        """Direct children in creation order."""
        kids = [self.accounts[a] for a, p in self.parents.items() if p == account_id]
        return sorted(kids, key=lambda d: d.seq)

    def descendants(self, account_id: str) -> list[Doc]:
        """All accounts below ``account_id`` (any depth), in creation order."""
        found = [d for d in self.accounts.values() if account_id in self.ancestors(d.id)]
        return sorted(found, key=lambda d: d.seq)

    def root_of(self, account_id: str) -> str:
        """The top-most ancestor (the reseller in this simplified tree)."""
        chain = self.ancestors(account_id)
        return chain[-1] if chain else account_id

    # -- other documents ------------------------------------------------------------------------

    def add(self, doc: Doc) -> None:
        """Insert a non-account document."""
        self.docs.setdefault(doc.kind, {})[doc.id] = doc
        self.reindex(doc)

    def _index_of(self, kind: str) -> UniqueIndex[Doc] | None:
        index = self._unique.get(kind)
        if index is None and kind in UNIQUE_KEYS:
            keys = UNIQUE_KEYS[kind]
            index = self._unique[kind] = UniqueIndex(
                lambda d: [(d.account_id, k) for k in keys(d.data)]
            )
            for existing in self.docs.get(kind, {}).values():
                index.put(existing.id, existing)
        return index

    def reindex(self, doc: Doc) -> None:
        """Refresh the uniqueness keys of a stored document after its data changed."""
        index = self._index_of(doc.kind)
        if index is not None:
            index.put(doc.id, doc)

    def holders(self, kind: str, account_id: str, key: Hashable) -> list[Doc]:
        """Documents of ``kind`` in ``account_id`` holding a uniqueness key (no scan)."""
        index = self._index_of(kind)
        if index is None:
            raise KeyError(f"no uniqueness keys registered for {kind!r}")
        by_id = self.docs.get(kind, {})
        return index.holders((account_id, key), by_id.get)

    def get(self, kind: str, account_id: str, doc_id: str) -> Doc | None:
        """A document of ``kind`` owned by ``account_id``."""
        doc = self.docs.get(kind, {}).get(doc_id)
        return doc if doc is not None and doc.account_id == account_id else None

    def remove(self, doc: Doc) -> None:
        """Delete a non-account document."""
        self.docs.get(doc.kind, {}).pop(doc.id, None)
        if doc.kind in self._unique:
            self._unique[doc.kind].drop(doc.id)

    def of_account(self, kind: str, account_id: str) -> list[Doc]:
        """Documents of one kind in one account, in creation order."""
        # Dicts keep insertion order, and documents are inserted once, when created (updates
        # replace the value under the same key): this is creation order without sorting.
        return [d for d in self.docs.get(kind, {}).values() if d.account_id == account_id]

    def all_docs(self) -> Iterator[Doc]:
        """Every document of every kind, accounts and numbers included, in creation order."""
        everything: list[Doc] = [*self.accounts.values(), *self.numbers.values()]
        for by_id in self.docs.values():
            everything.extend(by_id.values())
        return iter(sorted(everything, key=lambda d: d.seq))

    def numbers_of(self, account_id: str) -> list[Doc]:
        """Phone numbers owned by an account, ordered by number."""
        return sorted(
            (d for d in self.numbers.values() if d.account_id == account_id), key=lambda d: d.id
        )
