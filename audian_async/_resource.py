"""Base classes of the generated resources: they hold a core and build per-call options."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar, cast

from ._errors import ArgumentTypeError
from ._operation import Operation
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from ._core import Core
    from ._request_options import RequestOptions

__all__ = ["BaseResource", "ResourceHost"]

R = TypeVar("R")


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
        """The :class:`~audian_async._request_options.RequestOptions` of a call's ``**options``.

        Generated methods call it only when options were given (``if options``): a plain call
        builds nothing.
        """
        from ._request_options import RequestOptions

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
            from ._body import prepare_body
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
        """A ``multipart/form-data`` body (see :func:`~audian_async._multipart.form_body`)."""
        from ._multipart import form_body

        validating = self._core.validating(options.get("validate"))
        return form_body(fields, upload, schema, options.get("extra_body"), validating=validating)

    @staticmethod
    def _gregorian(value: datetime | int | NotGiven) -> int | NotGiven:
        """A time as Kazoo's Gregorian seconds (see :func:`~audian_async._dates.gregorian_seconds`)."""
        from ._dates import gregorian_seconds

        return gregorian_seconds(value)

    @staticmethod
    def _merge(body: Any, fields: Mapping[str, Any]) -> Any:
        """``body`` (a model or mapping) with the given keyword fields applied on top."""
        if body is None:
            return fields
        from ._body import prepare_body
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
        from ._classify import read_result

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
        parsed = read_result(op, response)
        from ._echo import check_echo, server_drops

        check_echo(op.id, body, data, echo, type(parsed), server_drops(op))
        if options is None or not options.raw:
            return cast(R, parsed)
        import attrs

        return cast(R, attrs.evolve(response, parsed=parsed))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
