"""The Astradial client: the core composed with the resources generated from spec/astradial.yaml.

Everything generic (auth single-flight, retries, errors, pagination, streaming) is the core's;
this module only configures it for Astradial (base URL with ``/api/v1``, ``X-API-Key`` or an
email + password login). The file-download helpers of the two audio endpoints live in
``_astradial_downloads`` (imported with the first use of ``calls`` or ``ivrs``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from ._auth import ApiKeyHeaderAuth, AuthStrategy, OrgKeyLoginAuth, PasswordLoginAuth
from ._client import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, ClientBase, HttpClientArg, TransportArg
from ._clock import Clock
from ._errors import AudianError
from ._generated.astradial import Resources as AstradialResources
from ._types import Timeout

if TYPE_CHECKING:
    from ._astradial_downloads import AstradialCallsResource, AstradialIvrsResource

__all__ = ["AsyncAstradial"]

API_PREFIX = "/api/v1"

_NO_BASE_URL = (
    "no Astradial base URL: pass base_url= (or set ASTRADIAL_BASE_URL), for example "
    "base_url='https://pbx.example.com:8000' (/api/v1 is appended)"
)
_NO_CREDENTIALS = (
    "no Astradial credentials: pass api_key= (or set ASTRADIAL_API_KEY, with api_secret= or "
    "ASTRADIAL_API_SECRET for an organisation key), or email= and password= (or set "
    "ASTRADIAL_EMAIL and ASTRADIAL_PASSWORD)"
)


def api_base_url(base_url: str) -> str:
    """``base_url`` with ``/api/v1`` appended, unless it already ends with it.

    ``https://pbx.example.com:8000`` and ``https://pbx.example.com:8000/api/v1/`` both give
    ``https://pbx.example.com:8000/api/v1``.
    """
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise AudianError(f"base_url must start with http:// or https://, got {base_url!r}")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def _strategy(
    api_key: str | None,
    email: str | None,
    password: str | None,
    org_id: str | None,
    refresh_margin: float,
    api_secret: str | None = None,
) -> AuthStrategy:
    """The credentials to use: explicit arguments first, then the environment."""
    if api_key is not None and (email is not None or password is not None):
        raise TypeError("pass either api_key= or email= and password=, not both")
    if api_secret is not None and (email is not None or password is not None):
        raise TypeError("api_secret= goes with api_key=, not with email= and password=")
    if api_key is None and email is None and password is None:
        api_key = os.environ.get("ASTRADIAL_API_KEY") or None
        if api_key is None:
            email = os.environ.get("ASTRADIAL_EMAIL") or None
            password = os.environ.get("ASTRADIAL_PASSWORD") or None
    elif api_key is None:
        # One of email/password given: the other may come from the environment.
        email = email if email is not None else os.environ.get("ASTRADIAL_EMAIL") or None
        password = (
            password if password is not None else os.environ.get("ASTRADIAL_PASSWORD") or None
        )
    if api_key:
        secret = api_secret if api_secret is not None else os.environ.get("ASTRADIAL_API_SECRET")
        if secret:
            return OrgKeyLoginAuth(api_key, secret, refresh_margin=refresh_margin)
        return ApiKeyHeaderAuth(api_key)
    if api_secret:
        raise AudianError(f"{_NO_CREDENTIALS}; api_secret= needs api_key=")
    if email and password:
        return PasswordLoginAuth(email, password, org_id=org_id, refresh_margin=refresh_margin)
    if email or password:
        missing = "password= (or ASTRADIAL_PASSWORD)" if email else "email= (or ASTRADIAL_EMAIL)"
        raise AudianError(f"{_NO_CREDENTIALS}; {missing} is missing")
    raise AudianError(_NO_CREDENTIALS)


class AsyncAstradial(ClientBase, AstradialResources):
    """Async client of the Astradial API (AstraPBX, self-hosted or cloud).

    Example:
        async with AsyncAstradial(base_url="https://pbx.example.com:8000", api_key="ak_...") as astra:
            user = await astra.users.create(extension="1099", full_name="Alice Agent",
                                            email="alice@example.com", role="agent",
                                            username="alice", password="a-long-password")
            creds = await astra.users.sip_credentials(user.id)
            async for call in astra.calls.list(direction="inbound", date_from=date(2026, 3, 1)):
                print(call.id, call.status)  # `status` is read from `disposition` too

    Three ways to authenticate: an API key (sent as ``X-API-Key``); a user's email and
    password, logged in through ``POST /api/v1/auth/user-login`` for a Bearer JWT (valid
    24 h, no refresh endpoint); or the organisation's API key and secret, exchanged through
    ``POST /api/v1/auth/login`` for a Bearer JWT (the open-source server). The JWT is renewed
    by logging in again shortly before it expires, and after a 401 (once, or again while each
    401 answers a token that may have expired); concurrent calls share one login.
    A rejected login (wrong password, unknown email, no organisation, an organisation
    awaiting approval) raises [`AuthenticationError`][audian_async._errors.AuthenticationError] with the server's
    message.

    The documentation and the open-source server disagree on several names and shapes. The
    client sends a setting both servers name differently under both names, reads answers
    under both, warns ([`IgnoredFieldWarning`][audian_async._errors.IgnoredFieldWarning]) when a write succeeded but
    the server kept another value for a field it was sent, and raises
    [`RouteNotFoundError`][audian_async._errors.RouteNotFoundError] for an operation the server does not have (see
    the README's table). Unknown response fields are kept in each model's ``extra``;
    documented enums are open (new values come through as plain strings).

    Args:
        api_key: an API key (``ak_...``). Default: ``ASTRADIAL_API_KEY``.
        api_secret: the organisation key's secret: with ``api_key``, log in through
            ``/auth/login`` for a JWT instead of sending the key. Default:
            ``ASTRADIAL_API_SECRET`` (read only when an API key is used).
        email: log in as this user instead of using an API key. Default: ``ASTRADIAL_EMAIL``.
        password: the user's password. Default: ``ASTRADIAL_PASSWORD``.
        org_id: the organisation to log in to, when the email belongs to several (OSS).
        base_url: your server, e.g. ``https://pbx.example.com:8000``; ``/api/v1`` is
            appended unless the URL already ends with it. Default: ``ASTRADIAL_BASE_URL``.
        timeout: per-attempt timeouts (seconds, or a [`Timeout`][audian_async._types.Timeout]).
        deadline: overall budget of one call in seconds, retries and backoff included.
        max_retries: retries after a transient failure (0 disables them).
        default_headers: headers sent with every request.
        http_client: an ``httpx.AsyncClient`` to send through (you close it).
        transport: an ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` for the
            simulator), or an audian_async transport.
        validate: check request bodies before sending (default True). Only rules every
            server agrees on are checked: required fields, digits-only extensions, and an
            E.164 ``phone_number`` when ``ring_target`` is ``phone``.
        refresh_margin: log in again this many seconds before the JWT expires (capped at
            half its lifetime).
        clock: where the SDK reads time and sleeps (default: the system clocks); tests can
            pass ``audian_async.testing.LoopClock()`` and run on virtual time.

    An explicit ``api_key`` wins over ``email``/``password``; without arguments the
    environment is read the same way (``ASTRADIAL_API_KEY`` first).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        api_secret: str | None = None,
        email: str | None = None,
        password: str | None = None,
        org_id: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        deadline: float | None = DEFAULT_DEADLINE,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: HttpClientArg | None = None,
        transport: TransportArg | None = None,
        validate: bool = True,
        refresh_margin: float = 300.0,
        clock: Clock | None = None,
    ) -> None:
        url = base_url if base_url is not None else os.environ.get("ASTRADIAL_BASE_URL")
        if not url or not url.strip():
            raise AudianError(_NO_BASE_URL)
        strategy = _strategy(api_key, email, password, org_id, refresh_margin, api_secret)
        self._setup(
            base_url=api_base_url(url),
            strategy=strategy,
            envelope="plain",
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
            transport=transport,
            validate=validate,
            clock=clock,
        )

    @property
    def auth_mode(self) -> Literal["api_key", "password", "org_login"]:
        """``"api_key"`` (``X-API-Key``), ``"password"`` (email + password login) or
        ``"org_login"`` (organisation key + secret login); both logins use a Bearer JWT."""
        auth = self._core.shared.authenticator
        strategy = auth.strategy if auth is not None else None
        if isinstance(strategy, PasswordLoginAuth):
            return "password"
        return "org_login" if isinstance(strategy, OrgKeyLoginAuth) else "api_key"

    @cached_property
    def calls(self) -> AstradialCallsResource:
        """Call history, live calls, statistics, recordings, call journeys, and call control."""
        from ._astradial_downloads import AstradialCallsResource

        return AstradialCallsResource(self._core)

    @cached_property
    def ivrs(self) -> AstradialIvrsResource:
        """IVR menus: greeting (text-to-speech), digit options, and publishing."""
        from ._astradial_downloads import AstradialIvrsResource

        return AstradialIvrsResource(self._core)

    def __repr__(self) -> str:
        return f"AsyncAstradial(base_url={self.base_url!r}, auth_mode={self.auth_mode!r})"
