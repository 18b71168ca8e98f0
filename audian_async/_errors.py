"""The exception hierarchy (which answer becomes which exception is decided in `_classify`).

Every exception raised by the SDK derives from [`AudianError`][audian_async._errors.AudianError]. Messages never carry
secrets: values echoed back by a server for secret fields are redacted before they reach an
exception, and request bodies are never part of a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._request_info import RequestInfo, ResponseInfo

__all__ = [
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
    "NotFoundError",
    "PaymentRequiredError",
    "RouteNotFoundError",
    "IgnoredFieldWarning",
    "UnexpectedValueWarning",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "ValidationError",
]


class AudianError(Exception):
    """Base class of every exception raised by audian-async."""


class ClientClosedError(AudianError):
    """The client was closed: a call made after ``aclose()``, or waiting for credentials
    when it closed. Nothing more is sent through a closed client."""


class ValidationError(AudianError, ValueError):
    """Client-side validation failed; nothing was sent.

    ``field`` is the dotted JSON path of the offending value (``sip.username``), ``rule`` the
    JSON-Schema keyword it broke (``required``, ``maxLength``, ``enum``, ``pattern`` ...).
    """

    def __init__(self, field: str, rule: str, message: str) -> None:
        self.field = field
        self.rule = rule
        self.detail = message
        super().__init__(f"{field}: {message} (rule: {rule})")


class ArgumentTypeError(ValidationError, TypeError):
    """A call argument of the wrong type (a [`ValidationError`][audian_async._errors.ValidationError] that is also a
    ``TypeError``); nothing was sent."""


class APIError(AudianError):
    """An error while talking to an API: no usable response, or an error response.

    Attributes:
        message: the message.
        method: the HTTP method.
        url: the operation's path template (``/accounts/{account_id}/users/{user_id}``); the
            message shows the path requested, with its ids.
        request: the request that failed ([`RequestInfo`][audian_async._request_info.RequestInfo]: method, full
            URL, headers, credentials masked), when one was sent.
    """

    request: RequestInfo | None

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        request: RequestInfo | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.request = request


class APIConnectionError(APIError):
    """The request could not be completed: connection refused, reset or dropped."""


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, pool, write or read), or the call's deadline ran out."""


class APIOutcomeUnknownError(APIConnectionError):
    """A non-idempotent request (a create) may have reached the server, but no answer came back.

    The SDK does not retry it on its own, since that could create a duplicate. Look the
    resource up (for example by username) before trying again; the bulk runner can do this
    for you through its ``reconcile`` hook.
    """


class APIOutcomeUnknownTimeoutError(APIOutcomeUnknownError, APITimeoutError):
    """A create timed out after it was sent: its outcome is unknown."""


class APIResponseValidationError(APIError):
    """The server's answer cannot be the promised result.

    Raised for a success status whose body is empty, ``null``, of the wrong shape, not
    decodable or too deeply nested, and for answers a JSON API never gives (a redirect, a
    ``204`` where a document was promised). ``status_code`` and ``request_id`` identify it.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
        request: RequestInfo | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url, request=request)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status.

    Attributes:
        status_code: the HTTP status.
        request_id: the server's request id (envelope ``request_id`` or ``X-Request-ID``).
        error: the server's short error code (Kazoo ``message`` such as ``validation error``,
            or Astradial ``error``).
        server_message: the human-readable message the server gave.
        details: structured detail; for a Kazoo validation error the map
            ``{field: {rule: {"message": ..., ...}}}`` with secret values redacted.
        body: the decoded body (secret values redacted), or the raw text.
        retries_taken: how many retries were made before giving up.
        headers: the response headers (lower-case names; credentials a server echoes masked).
        request: the request ([`RequestInfo`][audian_async._request_info.RequestInfo], credentials masked).
        response: the response ([`ResponseInfo`][audian_async._request_info.ResponseInfo]: status and headers,
            credentials masked).
    """

    request: RequestInfo
    response: ResponseInfo

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        error: str | None = None,
        server_message: str | None = None,
        details: Any = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
        retries_taken: int = 0,
        request: RequestInfo | None = None,
        response: ResponseInfo | None = None,
    ) -> None:
        if request is None:
            request = RequestInfo(method or "", url or "")
        if response is None:
            response = ResponseInfo(status_code, headers or {}, request=request)
        super().__init__(message, method=method, url=url, request=request)
        self.response = response
        self.status_code = status_code
        self.request_id = request_id
        self.error = error
        self.server_message = server_message
        self.details = details
        self.body = body
        # The response's headers, credentials a server echoes masked (like `response.headers`).
        self.headers: Mapping[str, str] = response.headers
        self.retries_taken = retries_taken

    @property
    def field_errors(self) -> dict[str, dict[str, str]]:
        """The Kazoo validation map flattened to ``{field: {rule: message}}`` (empty if none)."""
        out: dict[str, dict[str, str]] = {}
        if not isinstance(self.details, Mapping):
            return out
        for field, rules in self.details.items():
            if not isinstance(rules, Mapping):
                continue
            for rule, info in rules.items():
                if isinstance(info, Mapping):
                    out.setdefault(str(field), {})[str(rule)] = str(info.get("message", ""))
        return out


class BadRequestError(APIStatusError):
    """400: the server rejected the request (Kazoo validation errors, uniqueness included)."""


class AuthenticationError(APIStatusError):
    """Credentials were rejected (401), or an API-key/login exchange failed (404 on ``api_auth``)."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (for example an account outside the token's tree)."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist, or is not visible to these credentials."""


class ConflictError(APIStatusError):
    """409: a conflicting resource exists (duplicate extension, revision conflict ...)."""


class UnprocessableEntityError(APIStatusError):
    """422: the server understood the body but refused a value (for example an unknown role)."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` holds the server's advised wait in seconds, if any."""

    retry_after: float | None = None


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


#: The exception class of each error status (5xx: InternalServerError; others: APIStatusError).
STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


class PaymentRequiredError(APIStatusError):
    """402: the request needs money (Kazoo: ``no_credit``, ``no_payment_token`` ...)."""


class ChargesRequiredError(PaymentRequiredError):
    """402 ``accept charges``: the change is billable under the account's service plan.

    Nothing was changed. ``charges`` holds Kazoo's breakdown (by category and item: ``rate``,
    ``quantity``, ``activation_charges`` ...). To go ahead, send the same call again with
    ``accept_charges=True``.
    """

    @property
    def charges(self) -> dict[str, Any]:
        """The charges the server asks to accept (empty when it sent no breakdown)."""
        return dict(self.details) if isinstance(self.details, Mapping) else {}


class RouteNotFoundError(NotFoundError):
    """404 because this server has no such route, not because a record is missing.

    Raised when the 404 body is the server's unknown-route answer (the open-source Astradial
    server: ``{"error": "Not Found", "message": "Endpoint GET /api/v1/ivrs not found"}``):
    the operation is not supported by this server. Catch [`NotFoundError`][audian_async._errors.NotFoundError] to handle
    both kinds alike.
    """


class IgnoredFieldWarning(UserWarning):
    """A write succeeded but the server did not apply a field it was sent.

    Some servers (the open-source Astradial server) silently ignore fields they do not know
    and answer 200/201 with their default instead. Attributes: ``operation`` (operationId),
    ``field`` (JSON name), ``sent`` and ``answered`` (the value the server sent back).
    """

    def __init__(self, operation: str, field: str, sent: Any, answered: Any) -> None:
        self.operation = operation
        self.field = field
        self.sent = sent
        self.answered = answered
        super().__init__(
            f"{operation}: the server answered success but did not apply {field}={sent!r} "
            f"(it answered {answered!r}); this server ignores the field"
        )


class UnexpectedValueWarning(UserWarning):
    """A value a server sent could not be read as the spec's type; it was kept as sent.

    The model holds the value exactly as decoded (``"maybe"`` where a boolean is documented,
    ``5`` where a string is), and sends it back unchanged on a write, so nothing is lost or
    altered. Kazoo's own string booleans (``"true"``/``"false"``) and whole numbers sent as
    floats are read as what they mean, without a warning. Attributes: ``model`` (class
    name), ``field`` (JSON name), ``value`` (as sent; ``***`` for a secret field) and
    ``expected`` (the documented type).
    """

    def __init__(self, model: str, field: str, value: Any, expected: str) -> None:
        self.model = model
        self.field = field
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(
            f"{model}.{field}: the server sent {shown} where {expected} is documented; "
            "kept as sent (a write sends it back unchanged)"
        )
