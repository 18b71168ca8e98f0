"""Base classes of the generated resources: they hold a core and build per-call options."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from ._types import NOT_GIVEN, NotGiven, Operation, Timeout

if TYPE_CHECKING:
    from ._core import Core, RequestOptions

__all__ = ["BaseResource", "ResourceHost"]

#: Seconds from 0000-01-01 (Erlang's Gregorian calendar) to the Unix epoch.
GREGORIAN_OFFSET = 62_167_219_200

# Kazoo listing query verbs that take a key name, not filters on a field named so.
_QUERY_VERBS = frozenset({"value_missing"})


class ResourceHost:
    """Something that owns a :class:`~audian_async._core.Core` (clients and resource groups)."""

    _core: Core

    def __init__(self, core: Core) -> None:
        self._core = core


class BaseResource(ResourceHost):
    """A group of operations (one tag of a spec)."""

    @staticmethod
    def _options(
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None,
        extra_body: Mapping[str, Any] | None,
        timeout: float | Timeout | NotGiven,
        validate: bool | None = None,
    ) -> RequestOptions | None:
        if (
            extra_headers is None
            and extra_query is None
            and extra_body is None
            and timeout is NOT_GIVEN
            and validate is None
        ):
            return None
        from ._core import RequestOptions

        return RequestOptions(extra_headers, extra_query, extra_body, timeout, validate=validate)

    def _query(
        self,
        query: dict[str, Any],
        schemas: Mapping[str, Any],
        validate: bool | None,
    ) -> dict[str, Any]:
        """``query``, its given values checked against their spec schemas first.

        Raises :class:`~audian_async.ValidationError` naming the parameter and the rule, before
        anything is sent (unless validation is off for the call or the client).
        """
        enabled = self._core.shared.validate if validate is None else validate
        if enabled and schemas:
            from ._core import prepare_body
            from ._validate import validate_body

            given = {
                k: prepare_body(v)
                for k, v in query.items()
                if k in schemas and v is not NOT_GIVEN and v is not None
            }
            if given:
                schema = {"type": "object", "properties": dict(schemas)}
                validate_body(given, schema, {}, partial=False)
        return query

    def _accepting_charges(
        self,
        op: Operation,
        body: Any,
        extra_body: Mapping[str, Any] | None,
        validate: bool | None,
    ) -> bytes:
        """The JSON request of ``op`` with Kazoo's top-level ``"accept_charges": true``.

        The body is prepared and validated exactly as the core does for any call; only the
        envelope differs (``{"data": ..., "accept_charges": true}``).
        """
        from . import _json
        from ._core import prepare_body

        data = prepare_body(body) if body is not None else {}
        if extra_body:
            data = {**data, **prepare_body(extra_body)}
        enabled = self._core.shared.validate if validate is None else validate
        if enabled and op.body_schema is not None:
            from ._validate import validate_body

            schema, registry = op.body_schema["schema"], op.body_schema["registry"]
            validate_body(data, schema, registry, partial=op.body_mode == "patch")
        return _json.dumps({"data": data, "accept_charges": True})

    def _multipart(
        self,
        fields: Mapping[str, Any],
        upload: tuple[str, str, bytes | BinaryIO, str],
        schema: Mapping[str, Any],
        validate: bool | None,
    ) -> tuple[bytes, str]:
        """A ``multipart/form-data`` body: the given text fields (checked against ``schema``
        first) and one file, given as bytes or a binary file object."""
        given = {k: v for k, v in fields.items() if v is not NOT_GIVEN and v is not None}
        enabled = self._core.shared.validate if validate is None else validate
        if enabled:
            from ._validate import validate_body

            validate_body(given, schema, {}, partial=False)
        name, filename, document, content_type = upload
        data = document if isinstance(document, bytes | bytearray) else document.read()
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"{name} must be bytes or a binary file, not {type(data).__name__}")
        from ._multipart import encode_multipart

        text = {k: str(v) for k, v in given.items()}
        return encode_multipart(text, name, filename, bytes(data), content_type)

    @staticmethod
    def _gregorian(value: datetime | int | NotGiven) -> int | NotGiven:
        """A time as Kazoo's Gregorian seconds (seconds since year 0; naive datetimes are UTC)."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return int(value.timestamp()) + GREGORIAN_OFFSET
        return value

    @staticmethod
    def _filters(
        filters: Mapping[str, Any] | None, extra_query: Mapping[str, Any] | None
    ) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        """Split Kazoo's query verbs (``value_missing``) out of ``filters`` into the query.

        The core prefixes a filter with ``filter_`` unless it is already a Kazoo query verb it
        knows (``has_key``, ``key_missing``, ``has_value``, ``created_from`` ...); the verbs it
        does not know are sent as they are through the extra query instead.
        """
        if not filters or not any(k in _QUERY_VERBS for k in filters):
            return filters, extra_query
        verbs = {k: v for k, v in filters.items() if k in _QUERY_VERBS}
        rest = {k: v for k, v in filters.items() if k not in _QUERY_VERBS}
        return rest, {**verbs, **(extra_query or {})}

    @staticmethod
    def _merge(body: Any, fields: Mapping[str, Any]) -> Any:
        """``body`` (a model or mapping) with the given keyword fields applied on top."""
        if body is None:
            return fields
        from ._core import prepare_body

        merged = prepare_body(body)
        if not isinstance(merged, dict):
            raise TypeError(f"body must be a model or a mapping, not {type(body).__name__}")
        merged.update({k: v for k, v in fields.items() if v is not NOT_GIVEN})
        return merged

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
