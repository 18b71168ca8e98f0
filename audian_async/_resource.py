"""Base classes of the generated resources: they hold a core and build per-call options."""

from __future__ import annotations

import enum
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar, cast

from ._errors import APIResponseValidationError, ArgumentTypeError, IgnoredFieldWarning
from ._redact import REDACTED, SECRET_FIELD_NAMES
from ._types import NOT_GIVEN, NotGiven, Operation

if TYPE_CHECKING:
    from ._core import Core, RequestOptions

__all__ = ["BaseResource", "ResourceHost"]

R = TypeVar("R")

#: Seconds from 0000-01-01 (Erlang's Gregorian calendar) to the Unix epoch.
GREGORIAN_OFFSET = 62_167_219_200


class _KeptBody(dict[str, Any]):
    """A request body built from a model holding values kept as the server sent them.

    ``kept`` maps their dotted JSON paths to those values: client-side validation lets them
    through unchanged (the server's own data), and checks anything the caller changed.
    """

    def __init__(self, data: Mapping[str, Any], kept: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.kept = kept


class ResourceHost:
    """Something that owns a :class:`~audian_async._core.Core` (clients and resource groups)."""

    _core: Core

    def __init__(self, core: Core) -> None:
        self._core = core


class BaseResource(ResourceHost):
    """A group of operations (one tag of a spec)."""

    #: Kazoo's top-level request flag that accepts the charges a billable create causes.
    _ACCEPT_CHARGES: ClassVar[Mapping[str, Any]] = {"accept_charges": True}

    @staticmethod
    def _options(
        given: Mapping[str, Any], envelope: Mapping[str, Any] | None = None
    ) -> RequestOptions:
        """The :class:`~audian_async._core.RequestOptions` of a call's ``**options``.

        Generated methods call it only when options were given (``if options``): a plain call
        builds nothing.
        """
        from ._core import RequestOptions

        return RequestOptions.of_call(given, envelope)

    def _query(
        self,
        query: dict[str, Any],
        schemas: Mapping[str, Any],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """``query``, its given values checked against their spec schemas first.

        Raises :class:`~audian_async.ValidationError` naming the parameter and the rule, before
        anything is sent (unless validation is off for the call or the client).
        """
        enabled = self._core.validating(options.get("validate"))
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

    def _multipart(
        self,
        fields: Mapping[str, Any],
        upload: tuple[str, str, bytes | BinaryIO, str],
        schema: Mapping[str, Any],
        options: Mapping[str, Any],
    ) -> tuple[bytes, str]:
        """A ``multipart/form-data`` body: the given text fields (checked against ``schema``
        first), the call's ``extra_body`` as more fields, and one file, given as bytes or a
        binary file object."""
        given = {k: v for k, v in fields.items() if v is not NOT_GIVEN and v is not None}
        enabled = self._core.validating(options.get("validate"))
        if enabled:
            from ._validate import validate_body

            validate_body(given, schema, {}, partial=False)
        name, filename, document, content_type = upload
        data: Any
        if isinstance(document, bytes | bytearray):
            data = document
        else:  # a binary file; anything else (text, a path as str) is refused below
            read = getattr(document, "read", None)
            data = read() if callable(read) else document
        if not isinstance(data, bytes | bytearray):
            raise ArgumentTypeError(
                name, "type", f"must be bytes or a binary file, not {type(data).__name__}"
            )
        from ._multipart import encode_multipart

        text = {k: str(v) for k, v in given.items()}
        extra = options.get("extra_body")
        if extra:
            text.update({k: str(v) for k, v in extra.items()})
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
    def _merge(body: Any, fields: Mapping[str, Any]) -> Any:
        """``body`` (a model or mapping) with the given keyword fields applied on top."""
        if body is None:
            return fields
        from ._core import prepare_body
        from ._model import Model

        merged = prepare_body(body.to_write_dict() if isinstance(body, Model) else body)
        if not isinstance(merged, dict):
            raise ArgumentTypeError(
                "body", "type", f"must be a model or a mapping, not {type(body).__name__}"
            )
        merged.update({k: v for k, v in fields.items() if v is not NOT_GIVEN})
        if isinstance(body, Model):
            from ._convert import kept_values

            kept = kept_values(body)
            if kept:  # values the model kept as the server sent them go back unvalidated
                return _KeptBody(merged, kept)
        return merged

    @staticmethod
    def _also_send(body: Any, also: Mapping[str, tuple[str, ...]]) -> Any:
        """``body`` with each given value copied under its other names (spec ``x-also-send``).

        A setting two servers spell differently reaches both: a name already present (the
        caller passed it) is left as it is.
        """
        if not isinstance(body, Mapping):
            return body
        out = dict(body)
        for name, others in also.items():
            value = out.get(name, NOT_GIVEN)
            if value is NOT_GIVEN:
                continue
            for other in others:
                if out.get(other, NOT_GIVEN) is NOT_GIVEN:
                    out[other] = value
        kept = getattr(body, "kept", None)
        return _KeptBody(out, kept) if kept else out

    async def _send_checked(
        self,
        op: Operation[R],
        echo: Mapping[str, tuple[str, Mapping[str, tuple[str, ...]], bool]],
        *,
        path_params: Mapping[str, Any],
        query: Mapping[str, Any] | None,
        body: Any,
        options: RequestOptions | None,
    ) -> R:
        """Send a write, then check its answer for fields the server ignored (``x-echo``).

        The result is typed by the caller's ``Operation[R]`` (an ``APIResponse`` when the
        options ask for the raw response)."""
        from ._convert import structure

        response = await self._core.request(
            op,
            path_params=path_params,
            query=query,
            body=body,
            options=options,
            raw=True,
            structure=False,
        )
        data = response.parsed
        parsed = None
        if op.response is not None and data is not None:
            try:
                parsed = structure(data, op.response)
            except Exception as exc:  # like the core: a shape we cannot read is the server's
                request_id = response.request_id
                promised = getattr(op.response, "__name__", op.response)
                raise APIResponseValidationError(
                    f"{op.id}: the answer ({response.status_code}) cannot be the promised "
                    f"result: could not read it as {promised}: {exc}"
                    + (f" [request_id={request_id}]" if request_id else ""),
                    status_code=response.status_code,
                    method=op.method,
                    url=op.path,
                    request_id=request_id,
                    request=response.request,
                ) from exc
        _check_echo(op.id, body, data, echo, type(parsed))
        if options is None or not options.raw:
            return cast(R, parsed)
        import attrs

        return cast(R, attrs.evolve(response, parsed=parsed))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _check_echo(
    operation: str,
    sent: Any,
    answer: Any,
    echo: Mapping[str, tuple[str, Mapping[str, tuple[str, ...]], bool]],
    model: type,
) -> None:
    """Warn when the server answered success but did not apply a field (spec ``x-echo``).

    Some servers ignore fields they do not know and answer 200/201 with their own default.
    A field is checked only when the answer carries it (under its name or an alias), so a
    server that echoes less is never accused; for a field the spec marks
    ``missing: ignored`` (always in the documented object), a missing key means the server
    does not know the field. Emits one
    :class:`~audian_async.IgnoredFieldWarning` per ignored field (make it an error with
    ``warnings.simplefilter("error", IgnoredFieldWarning)``).
    """
    if not isinstance(sent, Mapping) or not isinstance(answer, Mapping):
        return
    json_names: Mapping[str, str] = getattr(model, "__json_names__", {})
    aliases: Mapping[str, Any] = getattr(model, "__json_aliases__", {})
    for name, (attribute, same, missing_is_ignored) in echo.items():
        want = _plain(sent.get(name, NOT_GIVEN))
        if want is NOT_GIVEN:
            continue
        names = [json_names.get(attribute, attribute), *aliases.get(attribute, ())]
        present = [n for n in names if n in answer]
        if not present and not missing_is_ignored:
            continue  # the answer does not say: nothing to compare
        got = next((answer[n] for n in present if answer[n] is not None), None)
        if got == want or (got is not None and str(got) in same.get(str(want), ())):
            continue
        if name in SECRET_FIELD_NAMES:  # never put a secret in a message
            want, got = REDACTED, REDACTED if got is not None else None
        warnings.warn(IgnoredFieldWarning(operation, name, want, got), stacklevel=4)


def _plain(value: Any) -> Any:
    """An enum member's value; anything else as it is."""
    return value.value if isinstance(value, enum.Enum) else value
