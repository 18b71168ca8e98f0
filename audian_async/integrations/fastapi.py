"""FastAPI integration: one client per application, handed to endpoints through a dependency.

Install with the ``fastapi`` extra. The client is opened in the application's lifespan,
shared by every request (one connection pool, one set of credentials), and closed on
shutdown; never create a client per request.

    from fastapi import FastAPI
    from audian_async.integrations.fastapi import AudianClient, audian_lifespan, install_error_handlers

    app = FastAPI(lifespan=audian_lifespan())          # AsyncAudian() from AUDIAN_API_KEY
    install_error_handlers(app)                        # SDK errors -> HTTP responses

    @app.get("/users/{user_id}")
    async def read_user(user_id: str, audian: AudianClient) -> dict[str, object]:
        user = await audian.users.get(user_id)
        return user.to_dict()

The transport: a FastAPI service runs on asyncio and serves concurrent requests, so the
lifespans build their client on the aiohttp transport (the ``fastapi`` extra installs
aiohttp): httpx's pool serves several times fewer requests a second under concurrency.
``audian_lifespan(transport="httpx")`` keeps httpx (tests that mock with respx, httpx
customisations); a ``factory`` builds the client itself, with whatever transport it chooses
(``audian_lifespan(lambda: AsyncAudian(http_client=my_httpx_client))``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

try:
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import JSONResponse
except ImportError as _exc:  # name the extra to install
    from .._extras import missing_extra

    _error = missing_extra(
        _exc, "fastapi", "audian_async.integrations.fastapi", ("fastapi", "starlette")
    )
    if _error is _exc:
        raise
    raise _error from None

from .._client import AsyncAudian
from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AudianError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
)

if TYPE_CHECKING:
    from .._astradial import AsyncAstradial

__all__ = [
    "AstradialClient",
    "AudianClient",
    "CREDENTIALS_REFUSED",
    "DEFAULT_TRANSPORT",
    "INTERNAL_ERROR",
    "UPSTREAM_FAILED",
    "astradial_lifespan",
    "audian_lifespan",
    "error_response",
    "get_astradial",
    "get_audian",
    "install_error_handlers",
]

AUDIAN_STATE_KEY = "audian"
ASTRADIAL_STATE_KEY = "astradial"

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


#: The transport the lifespans give a client they build themselves (see the module docstring).
DEFAULT_TRANSPORT = "aiohttp"


def _check_transport(transport: str) -> None:
    if transport not in ("aiohttp", "httpx"):
        raise ValueError(f'transport must be "aiohttp" or "httpx", not {transport!r}')


def audian_lifespan(
    factory: Callable[[], AsyncAudian] | None = None,
    *,
    authenticate: bool = False,
    transport: str = DEFAULT_TRANSPORT,
) -> Lifespan:
    """A lifespan that opens one [`AsyncAudian`][audian_async.AsyncAudian] for the app and closes it on shutdown.

    ``factory`` builds the client; by default ``AsyncAudian(transport=transport)`` from
    environment variables, on the aiohttp transport (``transport="httpx"`` for httpx: respx
    mocks, httpx customisations). ``transport`` is not used with a ``factory``.
    With ``authenticate=True`` the API key is exchanged at start-up, so a wrong key stops the
    application from starting instead of failing its first request.
    """
    _check_transport(transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client_of = factory or (lambda: AsyncAudian(transport=transport))
        async with client_of() as client:
            if authenticate:
                await client.authenticate()
            setattr(app.state, AUDIAN_STATE_KEY, client)
            try:
                yield
            finally:
                delattr(app.state, AUDIAN_STATE_KEY)

    return lifespan


def astradial_lifespan(
    factory: Callable[[], AsyncAstradial] | None = None, *, transport: str = DEFAULT_TRANSPORT
) -> Lifespan:
    """A lifespan that opens one [`AsyncAstradial`][audian_async.AsyncAstradial] for the app.

    By default ``AsyncAstradial(transport=transport)`` from environment variables, on the
    aiohttp transport (``transport="httpx"`` for httpx); a ``factory`` builds it instead.
    """
    _check_transport(transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from .._astradial import AsyncAstradial

        async with (factory or (lambda: AsyncAstradial(transport=transport)))() as client:
            setattr(app.state, ASTRADIAL_STATE_KEY, client)
            try:
                yield
            finally:
                delattr(app.state, ASTRADIAL_STATE_KEY)

    return lifespan


async def get_audian(request: Request) -> AsyncAudian:
    """Dependency: the application's shared [`AsyncAudian`][audian_async.AsyncAudian]."""
    client = getattr(request.app.state, AUDIAN_STATE_KEY, None)
    if not isinstance(client, AsyncAudian):
        raise RuntimeError(
            "no AsyncAudian on app.state: create the app with lifespan=audian_lifespan()"
        )
    return client


async def get_astradial(request: Request) -> AsyncAstradial:
    """Dependency: the application's shared [`AsyncAstradial`][audian_async.AsyncAstradial]."""
    client = getattr(request.app.state, ASTRADIAL_STATE_KEY, None)
    if client is None:
        raise RuntimeError(
            "no AsyncAstradial on app.state: create the app with lifespan=astradial_lifespan()"
        )
    return client  # type: ignore[no-any-return]


AudianClient = Annotated[AsyncAudian, Depends(get_audian)]
AstradialClient = Annotated["AsyncAstradial", Depends(get_astradial)]


#: ``detail`` of the 502 answered when the upstream API refuses the service's own credentials.
CREDENTIALS_REFUSED = (
    "upstream credentials refused: the service's API key (or login) for the upstream API "
    "is wrong, expired or lacks permission; check its configuration"
)


#: ``detail`` of the 502 answered when the upstream API failed (any 5xx): what it said (a stack
#: trace, SQL text) is logged server-side, never shown to the service's callers.
UPSTREAM_FAILED = "the upstream API failed; the service logged the details under this request_id"

#: ``detail`` of the 500 answered for an SDK error that is no upstream answer.
INTERNAL_ERROR = "internal error; the service logged the details under this request_id"

_logger = logging.getLogger(__name__)


def _request_id(exc: AudianError) -> str | None:
    """The upstream's request id, else the one the SDK sent (``X-Request-ID``)."""
    rid = getattr(exc, "request_id", None)
    if isinstance(rid, str) and rid:
        return rid
    request = getattr(exc, "request", None)
    sent = request.headers.get("x-request-id") if request is not None else None
    return sent if isinstance(sent, str) and sent else None


def _log_once(exc: AudianError, request_id: str | None) -> None:
    """Log what the caller is not shown, once per exception (secrets already scrubbed)."""
    if getattr(exc, "_audian_logged", False):
        return
    exc._audian_logged = True  # type: ignore[attr-defined]
    _logger.error(
        "upstream failure answered without details (request_id=%s): %s: %s",
        request_id,
        type(exc).__name__,
        exc,
    )


def _validation_item(kind: str, loc: list[str | int], msg: str) -> dict[str, Any]:
    """One entry of FastAPI's 422 ``detail`` list (``type``, ``loc``, ``msg``)."""
    return {"type": kind, "loc": loc, "msg": msg}


def error_response(exc: AudianError) -> JSONResponse:
    """The HTTP response an endpoint should give when an SDK call failed with ``exc``.

    Client mistakes the upstream API reports (404, 400 with its field map, 409, 422) pass
    through with their status and message; the upstream's own trouble (rate limits, outages)
    becomes 502/503/504, since it is not the caller's fault. An upstream 5xx answers the fixed
    `UPSTREAM_FAILED`, and credentials the upstream refuses (401/403, and Kazoo's 404 for
    a wrong key) the fixed `CREDENTIALS_REFUSED` (the operator must fix the service's
    configuration), both 502 with ``upstream_status`` and ``request_id`` only: what the
    upstream said (SQL text, stack traces, account details) is logged once on the
    ``audian_async.integrations.fastapi`` logger (secrets scrubbed), never shown to callers.

    Every 422 has FastAPI's own shape, so clients parse one format: ``{"detail": [{"type",
    "loc", "msg"}]}``. A body the SDK refused before sending has ``loc`` ``["upstream",
    *field path]`` and ``type`` the broken rule (``minLength``); an upstream 422 has ``loc``
    ``["upstream"]`` and ``type`` the server's error code, plus ``upstream_status``.
    """
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        loc: list[str | int] = ["upstream", *(p for p in exc.field.split(".") if p)]
        return JSONResponse(
            {"detail": [_validation_item(exc.rule, loc, exc.detail)]}, status_code=422
        )
    if isinstance(exc, APIStatusError):
        refused = isinstance(exc, AuthenticationError | PermissionDeniedError)
        if refused or exc.status_code >= 500:
            request_id = _request_id(exc)
            _log_once(exc, request_id)
            body = {
                "detail": CREDENTIALS_REFUSED if refused else UPSTREAM_FAILED,
                "upstream_status": exc.status_code,
                "request_id": request_id,
            }
            return JSONResponse(body, status_code=502)
        message = exc.server_message or exc.error or "upstream error"
        body = {"detail": message, "upstream_status": exc.status_code}
        if exc.status_code == 422:
            body["detail"] = [_validation_item(exc.error or "upstream", ["upstream"], message)]
        if exc.request_id:
            body["request_id"] = exc.request_id
        if exc.field_errors:
            body["fields"] = exc.field_errors
        if isinstance(exc, RateLimitError):
            status = 503
            if exc.retry_after is not None:
                headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        elif isinstance(exc, NotFoundError):
            status = 404
        else:
            status = exc.status_code
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(exc, APITimeoutError):
        return JSONResponse({"detail": "upstream timed out"}, status_code=504)
    if isinstance(exc, APIConnectionError):
        return JSONResponse({"detail": "upstream unreachable"}, status_code=502)
    request_id = _request_id(exc)
    _log_once(exc, request_id)
    if isinstance(exc, APIResponseValidationError):  # the upstream answered something unusable
        return JSONResponse({"detail": UPSTREAM_FAILED, "request_id": request_id}, status_code=502)
    return JSONResponse({"detail": INTERNAL_ERROR, "request_id": request_id}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Turn every SDK exception escaping an endpoint into [`error_response`][audian_async.integrations.fastapi.error_response]."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AudianError)
        return error_response(exc)

    app.add_exception_handler(AudianError, handle)
