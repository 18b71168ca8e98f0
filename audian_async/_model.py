"""The base class of every generated model.

Models are plain attrs classes. Fields the spec does not know are kept in ``extra`` and sent
back on a write, so a read-modify-write never drops what the server added. Fields holding
secrets (passwords) are masked in ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import attrs

from ._redact import REDACTED, SECRET_FIELD_NAMES

__all__ = ["Model"]


@attrs.define(kw_only=True, slots=True, repr=False)
class Model:
    """Base class of the API models.

    Attributes:
        extra: JSON keys the spec does not define, kept as decoded.
    """

    __json_names__: ClassVar[Mapping[str, str]] = {}
    # Other JSON names read into a field (spec ``x-aliases``), by Python name: the value of the
    # primary JSON name wins; written back under the primary name only.
    __json_aliases__: ClassVar[Mapping[str, Sequence[str]]] = {}
    __secret_fields__: ClassVar[frozenset[str]] = frozenset()
    # Server-owned fields (spec ``readOnly``), by Python name: never sent back by an update.
    __read_only__: ClassVar[frozenset[str]] = frozenset()
    # Spec ``x-lift``: a nested object whose keys fill the fields missing at the top level.
    __lift__: ClassVar[str | None] = None

    extra: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a model from decoded JSON (unknown keys go to ``extra``)."""
        from ._convert import converter

        return converter().structure(data, cls)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of this model: unset fields omitted, ``extra`` merged in."""
        from ._convert import converter

        result: dict[str, Any] = converter().unstructure(self)
        return result

    def to_write_dict(self) -> dict[str, Any]:
        """`to_dict()` without the server-owned (``readOnly``) fields and their aliases.

        This is what an update sends when given a fetched model: ids, timestamps, generated
        secrets (a SIP password) and the like never travel back to the server.
        """
        result = self.to_dict()
        if not self.__read_only__:
            return result
        for py in self.__read_only__:
            result.pop(self.__json_names__.get(py, py), None)
            for alias in self.__json_aliases__.get(py, ()):
                result.pop(alias, None)
        return result

    def __repr__(self) -> str:
        parts = []
        for a in attrs.fields(type(self)):
            if a.name == "extra":
                continue
            value = getattr(self, a.name)
            if value is None:
                continue
            shown = REDACTED if a.name in self.__secret_fields__ else repr(value)
            parts.append(f"{a.name}={shown}")
        if self.extra:
            masked = {
                k: (REDACTED if k in SECRET_FIELD_NAMES else v) for k, v in self.extra.items()
            }
            parts.append(f"extra={masked!r}")
        return f"{type(self).__name__}({', '.join(parts)})"
