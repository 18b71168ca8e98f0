"""Base classes of the generated resources: they hold a core and build per-call options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._types import NOT_GIVEN, NotGiven, Timeout

if TYPE_CHECKING:
    from ._core import Core, RequestOptions

__all__ = ["BaseResource", "ResourceHost"]


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
    ) -> RequestOptions | None:
        if (
            extra_headers is None
            and extra_query is None
            and extra_body is None
            and timeout is NOT_GIVEN
        ):
            return None
        from ._core import RequestOptions

        return RequestOptions(extra_headers, extra_query, extra_body, timeout)

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
