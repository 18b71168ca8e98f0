"""audian-async: an async Python SDK for the Audian (Kazoo crossbar v2) and Astradial APIs.

    from audian_async import AsyncAudian

    async with AsyncAudian(api_key="...") as audian:
        user = await audian.users.create(first_name="Jane", last_name="Smith")

Public names are imported on first use, so ``import audian_async`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._astradial import AsyncAstradial
    from ._client import AsyncAudian, AuthInfo
    from ._errors import (
        APIConnectionError,
        APIError,
        APIOutcomeUnknownError,
        APIOutcomeUnknownTimeoutError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AudianError,
        AuthenticationError,
        BadRequestError,
        ChargesRequiredError,
        ClientClosedError,
        ConflictError,
        IgnoredFieldWarning,
        InternalServerError,
        NotFoundError,
        PaymentRequiredError,
        PermissionDeniedError,
        RateLimitError,
        RouteNotFoundError,
        UnexpectedValueWarning,
        UnprocessableEntityError,
        ValidationError,
    )
    from ._model import Model
    from ._pagination import AsyncPaginator, Page
    from ._request_info import RequestInfo, ResponseInfo
    from ._response import APIResponse
    from ._transport_aiohttp import AiohttpTransport
    from ._types import NOT_GIVEN, CallOptions, NotGiven, Timeout
    from .events import (
        CallEvent,
        Event,
        EventStream,
        EventStreamError,
        EventStreamStats,
        Gap,
        ObjectEvent,
        SubscriptionError,
    )

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AsyncAudian": "._client",
    "AsyncAstradial": "._astradial",
    "AuthInfo": "._client",
    "AiohttpTransport": "._transport_aiohttp",
    "APIResponse": "._response",
    "AsyncPaginator": "._pagination",
    "Page": "._pagination",
    "Model": "._model",
    "RequestInfo": "._request_info",
    "ResponseInfo": "._request_info",
    "NOT_GIVEN": "._types",
    "CallOptions": "._types",
    "NotGiven": "._types",
    "Timeout": "._types",
    **{
        name: ".events"
        for name in (
            "CallEvent",
            "Event",
            "EventStream",
            "EventStreamError",
            "EventStreamStats",
            "Gap",
            "ObjectEvent",
            "SubscriptionError",
        )
    },
    **{
        name: "._errors"
        for name in (
            "APIConnectionError",
            "APIError",
            "APIOutcomeUnknownError",
            "APIOutcomeUnknownTimeoutError",
            "APIResponseValidationError",
            "APIStatusError",
            "APITimeoutError",
            "AudianError",
            "AuthenticationError",
            "BadRequestError",
            "ChargesRequiredError",
            "ClientClosedError",
            "ConflictError",
            "InternalServerError",
            "IgnoredFieldWarning",
            "NotFoundError",
            "PaymentRequiredError",
            "PermissionDeniedError",
            "RateLimitError",
            "RouteNotFoundError",
            "UnexpectedValueWarning",
            "UnprocessableEntityError",
            "ValidationError",
        )
    },
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIOutcomeUnknownError",
    "APIOutcomeUnknownTimeoutError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AiohttpTransport",
    "AsyncAstradial",
    "AsyncAudian",
    "AsyncPaginator",
    "AudianError",
    "AuthInfo",
    "AuthenticationError",
    "BadRequestError",
    "CallEvent",
    "CallOptions",
    "ChargesRequiredError",
    "ClientClosedError",
    "ConflictError",
    "Event",
    "EventStream",
    "EventStreamError",
    "EventStreamStats",
    "Gap",
    "IgnoredFieldWarning",
    "InternalServerError",
    "Model",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "ObjectEvent",
    "Page",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestInfo",
    "ResponseInfo",
    "RouteNotFoundError",
    "SubscriptionError",
    "Timeout",
    "UnexpectedValueWarning",
    "UnprocessableEntityError",
    "ValidationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
