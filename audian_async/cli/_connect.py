"""The client a command runs with: from the environment (as the SDK's clients read it), or
against the embedded simulator for a rehearsal (``--simulator``).

Credentials are never printed: errors name the variable to set, never its value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from ._errors import SetupError

__all__ = ["connect", "setup_failure"]

#: The environment variables each API's client reads.
ENVIRONMENT = {
    "audian": ("AUDIAN_API_KEY", "AUDIAN_BASE_URL"),
    "astradial": (
        "ASTRADIAL_BASE_URL",
        "ASTRADIAL_API_KEY",
        "ASTRADIAL_API_SECRET",
        "ASTRADIAL_EMAIL",
        "ASTRADIAL_PASSWORD",
    ),
}


def setup_failure(exc: BaseException) -> SetupError | None:
    """A :class:`SetupError` for an error that means the job cannot start (else ``None``)."""
    from .._errors import (
        APIConnectionError,
        AudianError,
        AuthenticationError,
        PermissionDeniedError,
    )

    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return SetupError(f"the server refused the credentials: {type(exc).__name__} {exc}")
    if isinstance(exc, APIConnectionError):
        return SetupError(f"cannot reach the server: {exc}")
    if type(exc) is AudianError:  # the client's own set-up errors (no credentials ...)
        return SetupError(str(exc))
    return None


def _simulated(api: Literal["audian", "astradial"], transport: str | None) -> Any:
    try:
        import httpx

        from ..testing import SimulatorConfig, create_app
    except ImportError as exc:
        raise SetupError(
            f"--simulator needs the simulator extra: pip install 'audian-async[simulator]' ({exc})"
        ) from None
    sim = create_app(SimulatorConfig(bucket_size=None))
    asgi = httpx.ASGITransport(app=sim)
    if api == "audian":
        from .._client import AsyncAudian

        return AsyncAudian(
            api_key=sim.default_api_key, base_url="http://simulator/v2", transport=asgi
        )
    from .._astradial import AsyncAstradial

    return AsyncAstradial(
        api_key=sim.astradial_api_key, base_url="http://simulator", transport=asgi
    )


@asynccontextmanager
async def connect(
    api: Literal["audian", "astradial"], *, simulator: bool = False, transport: str | None = None
) -> AsyncIterator[Any]:
    """An authenticated client of ``api``, closed on exit."""
    from .._errors import AudianError

    try:
        if simulator:
            client = _simulated(api, transport)
        elif api == "audian":
            from .._client import AsyncAudian

            client = AsyncAudian(transport=transport)
        else:
            from .._astradial import AsyncAstradial

            client = AsyncAstradial(transport=transport)
    except (AudianError, TypeError) as exc:
        names = ", ".join(ENVIRONMENT[api])
        raise SetupError(f"{exc} (environment variables read: {names})") from None
    try:
        try:
            await client.authenticate()
        except Exception as exc:
            failure = setup_failure(exc)
            if failure is None:
                raise
            raise failure from None
        yield client
    finally:
        await client.aclose()
