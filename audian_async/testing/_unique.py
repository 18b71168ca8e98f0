"""An index of the values uniqueness rules look at, so a create does not scan every record.

Each record (a simulator document or row) has a few hashable keys (``("username", "jane")``,
account or organisation included where uniqueness is scoped). :meth:`UniqueIndex.holders`
answers "which records hold this key" in constant time; every answer is checked against the
record's current keys, so an entry left behind by a change the index did not see is never
believed. Whoever changes a record's keyed fields calls :meth:`UniqueIndex.put` again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["UniqueIndex"]

R = TypeVar("R")


class UniqueIndex(Generic[R]):
    """Keys -> ids of the records holding them (see the module docstring)."""

    __slots__ = ("_holders", "_keys", "_keys_of")

    def __init__(self, keys: Callable[[R], Iterable[Hashable]]) -> None:
        self._keys = keys
        self._holders: dict[Hashable, set[str]] = {}
        self._keys_of: dict[str, tuple[Hashable, ...]] = {}

    def put(self, record_id: str, record: R) -> None:
        """Index a new record, or re-index one whose keyed fields changed."""
        self.drop(record_id)
        keys = tuple(dict.fromkeys(self._keys(record)))
        self._keys_of[record_id] = keys
        for key in keys:
            self._holders.setdefault(key, set()).add(record_id)

    def drop(self, record_id: str) -> None:
        """Forget a record (deleted)."""
        for key in self._keys_of.pop(record_id, ()):
            ids = self._holders.get(key)
            if ids is not None:
                ids.discard(record_id)
                if not ids:
                    del self._holders[key]

    def holders(self, key: Hashable, lookup: Callable[[str], R | None]) -> list[R]:
        """Records that hold ``key`` now (``lookup`` finds a record by id, ``None`` if gone)."""
        found: list[R] = []
        for record_id in sorted(self._holders.get(key, ())):
            record = lookup(record_id)
            if record is not None and key in self._keys(record):
                found.append(record)
        return found

    def __len__(self) -> int:
        return len(self._keys_of)
