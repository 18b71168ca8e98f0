"""Authentication: one single-flight credential holder, with a strategy per scheme.

Strategies:
    * :class:`KazooApiKeyAuth`: Audian ``PUT /api_auth`` exchanges an API key for a JWT
      (``X-Auth-Token``); refreshed before ``exp`` and once on a 401.
    * :class:`StaticTokenAuth`: an existing Audian token and account id; never refreshed.
    * :class:`ApiKeyHeaderAuth`: Astradial ``X-API-Key``; nothing to refresh.
    * :class:`PasswordLoginAuth`: Astradial ``POST /auth/user-login`` gives a Bearer JWT (24 h,
      no refresh endpoint): logged in again before ``exp`` and once on a 401.

Any number of concurrent calls that find the credentials missing or stale cause exactly one
exchange: the first caller performs it under a lock, the others wait and reuse its result.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import anyio
import attrs

from . import _json
from ._errors import REDACTED, APIResponseValidationError, AuthenticationError, build_status_error

__all__ = [
    "ApiKeyHeaderAuth",
    "AuthStrategy",
    "Authenticator",
    "Credentials",
    "KazooApiKeyAuth",
    "PasswordLoginAuth",
    "StaticTokenAuth",
    "jwt_claims",
]

# Sends a request without credentials: (method, path, json body) -> (status, headers, decoded body).
AuthSend = Callable[[str, str, Any], Awaitable[tuple[int, Mapping[str, str], Any]]]


@attrs.define(slots=True, eq=False, repr=False)
class Credentials:
    """Headers to attach, and when to replace them. Secret values never appear in ``repr``."""

    headers: tuple[tuple[str, str], ...]
    refresh_at: float | None = None  # monotonic clock; None: no proactive refresh
    refreshable: bool = False
    account_id: str | None = None
    owner_id: str | None = None
    proven: bool = False  # a request with these credentials has succeeded

    def stale(self, now: float) -> bool:
        """True when a proactive refresh is due."""
        return self.refreshable and self.refresh_at is not None and now >= self.refresh_at

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"Credentials(headers=[{names}: {REDACTED}], account_id={self.account_id!r})"


class AuthStrategy(Protocol):
    """How to obtain credentials."""

    refreshable: bool

    async def login(self, send: AuthSend) -> Credentials:
        """Obtain fresh credentials (may call the API through ``send``)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Secret strings to scrub from anything that could be logged or raised."""
        ...


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, decoded without verification; ``None`` if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        decoded = _json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    return decoded if isinstance(decoded, dict) else None


def refresh_deadline(
    token: str, margin: float, *, now_mono: float, now_wall: float
) -> float | None:
    """When (monotonic) to refresh ``token``: ``margin`` before its ``exp``.

    The margin never exceeds half the token's lifetime, so a short-lived token is still used
    for half its life instead of being refreshed in a loop. The lifetime is measured from
    ``iat`` when present, which makes the result immune to clock skew with the server.
    """
    claims = jwt_claims(token)
    if not claims:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        return None
    iat = claims.get("iat")
    if isinstance(iat, int | float) and exp > iat:
        remaining = float(exp - iat)
    else:
        remaining = float(exp) - now_wall
        if remaining <= 0:
            return None  # our clock disagrees with the server's: rely on the 401 path
    effective_margin = min(margin, remaining / 2)
    return now_mono + remaining - effective_margin


def _scrub(body: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(body, str):
        for s in secrets:
            if s:
                body = body.replace(s, REDACTED)
        return body
    if isinstance(body, Mapping):
        return {k: _scrub(v, secrets) for k, v in body.items()}
    if isinstance(body, list):
        return [_scrub(v, secrets) for v in body]
    return body


def _login_failed(
    status: int,
    body: Any,
    headers: Mapping[str, str],
    method: str,
    path: str,
    secrets: tuple[str, ...],
) -> AuthenticationError:
    exc = build_status_error(
        status, _scrub(body, secrets), headers=headers, method=method, url=path, auth_failure=True
    )
    assert isinstance(exc, AuthenticationError)
    return exc


@attrs.define(slots=True, repr=False)
class KazooApiKeyAuth:
    """Audian API key exchanged through ``PUT /api_auth`` for a short-lived JWT."""

    api_key: str
    refresh_margin: float = 60.0
    refreshable: bool = attrs.field(default=True, init=False)

    async def login(self, send: AuthSend) -> Credentials:
        """Exchange the API key for a token."""
        status, headers, body = await send("PUT", "/api_auth", {"data": {"api_key": self.api_key}})
        if status >= 400:
            # Kazoo answers 404 for an unknown key, 400 for a malformed one, 401 when disabled.
            if status in (400, 401, 403, 404):
                raise _login_failed(status, body, headers, "PUT", "/api_auth", self.secrets())
            raise build_status_error(
                status, _scrub(body, self.secrets()), headers=headers, method="PUT", url="/api_auth"
            )
        token = body.get("auth_token") if isinstance(body, Mapping) else None
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not isinstance(data, Mapping):
            raise APIResponseValidationError(
                "api_auth answered without an auth_token",
                status_code=status,
                method="PUT",
                url="/api_auth",
            )
        return Credentials(
            headers=(("X-Auth-Token", token),),
            refresh_at=refresh_deadline(
                token, self.refresh_margin, now_mono=time.monotonic(), now_wall=time.time()
            ),
            refreshable=True,
            account_id=_str_or_none(data.get("account_id")),
            owner_id=_str_or_none(data.get("owner_id")),
        )

    def secrets(self) -> tuple[str, ...]:
        """The API key."""
        return (self.api_key,)

    def __repr__(self) -> str:
        return f"KazooApiKeyAuth(api_key={REDACTED})"


@attrs.define(slots=True, repr=False)
class StaticTokenAuth:
    """An Audian auth token obtained elsewhere, with its account id. It cannot be refreshed."""

    auth_token: str
    account_id: str | None
    refreshable: bool = attrs.field(default=False, init=False)

    async def login(self, send: AuthSend) -> Credentials:
        """Use the given token as it is."""
        claims = jwt_claims(self.auth_token) or {}
        account_id = self.account_id or _str_or_none(claims.get("account_id"))
        return Credentials(
            headers=(("X-Auth-Token", self.auth_token),),
            account_id=account_id,
            owner_id=_str_or_none(claims.get("owner_id")),
        )

    def secrets(self) -> tuple[str, ...]:
        """The token."""
        return (self.auth_token,)

    def __repr__(self) -> str:
        return f"StaticTokenAuth(auth_token={REDACTED}, account_id={self.account_id!r})"


@attrs.define(slots=True, repr=False)
class ApiKeyHeaderAuth:
    """A static API key sent in a header on every request (Astradial ``X-API-Key``)."""

    api_key: str
    header: str = "X-API-Key"
    refreshable: bool = attrs.field(default=False, init=False)

    async def login(self, send: AuthSend) -> Credentials:
        """Nothing to exchange: the key is the credential."""
        return Credentials(headers=((self.header, self.api_key),))

    def secrets(self) -> tuple[str, ...]:
        """The API key."""
        return (self.api_key,)

    def __repr__(self) -> str:
        return f"ApiKeyHeaderAuth(header={self.header!r}, api_key={REDACTED})"


@attrs.define(slots=True, repr=False)
class PasswordLoginAuth:
    """Astradial email + password exchanged through ``POST /auth/user-login`` for a Bearer JWT."""

    email: str
    password: str
    org_id: str | None = None
    refresh_margin: float = 300.0
    path: str = "/auth/user-login"
    refreshable: bool = attrs.field(default=True, init=False)

    async def login(self, send: AuthSend) -> Credentials:
        """Log in and keep the JWT."""
        payload: dict[str, Any] = {"email": self.email, "password": self.password}
        if self.org_id:
            payload["org_id"] = self.org_id
        status, headers, body = await send("POST", self.path, payload)
        if status >= 400 and status not in (429,) and status < 500:
            raise _login_failed(status, body, headers, "POST", self.path, self.secrets())
        if status >= 400:
            raise build_status_error(
                status, _scrub(body, self.secrets()), headers=headers, method="POST", url=self.path
            )
        token = body.get("token") if isinstance(body, Mapping) else None
        if not isinstance(token, str):
            # 202 {"status": "pending_approval"} and the like: a 2xx without a token.
            message = body.get("message") if isinstance(body, Mapping) else None
            raise AuthenticationError(
                f"{status}: login returned no token"
                + (f": {message}" if isinstance(message, str) else ""),
                status_code=status,
                server_message=message if isinstance(message, str) else None,
                body=_scrub(body, self.secrets()),
                method="POST",
                url=self.path,
            )
        user = body.get("user") if isinstance(body, Mapping) else None
        claims = jwt_claims(token) or {}
        return Credentials(
            headers=(("Authorization", f"Bearer {token}"),),
            refresh_at=refresh_deadline(
                token, self.refresh_margin, now_mono=time.monotonic(), now_wall=time.time()
            ),
            refreshable=True,
            account_id=_str_or_none(claims.get("orgId"))
            or (_str_or_none(user.get("org_id")) if isinstance(user, Mapping) else None),
            owner_id=_str_or_none(user.get("id")) if isinstance(user, Mapping) else None,
        )

    def secrets(self) -> tuple[str, ...]:
        """The password."""
        return (self.password,)

    def __repr__(self) -> str:
        return f"PasswordLoginAuth(email={self.email!r}, password={REDACTED})"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class Authenticator:
    """Holds the current credentials and refreshes them single-flight.

    Shared by a client and all its views (``for_account``, ``with_options``).
    """

    def __init__(self, strategy: AuthStrategy) -> None:
        self.strategy = strategy
        self._credentials: Credentials | None = None
        self._lock: anyio.Lock | None = None
        self._attempts = 0
        self._last_error: Exception | None = None
        self.logins = 0  # how many exchanges succeeded (observability, tests)

    @property
    def current(self) -> Credentials | None:
        """The credentials in use, if any."""
        return self._credentials

    def fresh(self) -> Credentials | None:
        """The current credentials if no refresh is due (no await: the hot path), else None."""
        cred = self._credentials
        if cred is None or cred.stale(time.monotonic()):
            return None
        return cred

    async def get(self, send: AuthSend) -> Credentials:
        """Valid credentials, logging in (once, for all concurrent callers) when needed.

        Callers that waited while an exchange failed get that failure too, instead of each
        trying again: a wrong key costs one request, not one per waiting call.
        """
        cred = self.fresh()
        if cred is not None:
            return cred
        if self._lock is None:
            self._lock = anyio.Lock()
        attempts_seen = self._attempts
        async with self._lock:
            latest = self.fresh()
            if latest is not None:
                return latest  # somebody refreshed while we waited
            if self._attempts > attempts_seen and self._last_error is not None:
                raise self._last_error
            self._attempts += 1
            try:
                fresh = await self.strategy.login(send)
            except Exception as exc:
                self._last_error = exc
                raise
            self._last_error = None
            self.logins += 1
            self._credentials = fresh
            return fresh

    def invalidate(self, failed: Credentials) -> bool:
        """Drop ``failed`` if it is still current (compare-and-invalidate); True if dropped."""
        if self._credentials is failed:
            self._credentials = None
            return True
        return False


@attrs.define(slots=True, repr=False)
class OrgKeyLoginAuth:
    """Astradial organisation key + secret exchanged through ``POST /auth/login`` for a JWT.

    The open-source server's third way in (besides ``X-API-Key`` and the user login): the
    organisation's ``api_key`` and ``api_secret`` buy a 24 h Bearer JWT, renewed by logging in
    again before it expires and once after a 401.
    """

    api_key: str
    api_secret: str
    refresh_margin: float = 300.0
    path: str = "/auth/login"
    refreshable: bool = attrs.field(default=True, init=False)

    async def login(self, send: AuthSend) -> Credentials:
        """Exchange the key and secret for a JWT."""
        payload = {"api_key": self.api_key, "api_secret": self.api_secret}
        status, headers, body = await send("POST", self.path, payload)
        if 400 <= status < 500 and status != 429:
            raise _login_failed(status, body, headers, "POST", self.path, self.secrets())
        if status >= 400:
            raise build_status_error(
                status, _scrub(body, self.secrets()), headers=headers, method="POST", url=self.path
            )
        token = body.get("token") if isinstance(body, Mapping) else None
        if not isinstance(token, str):
            raise APIResponseValidationError(
                f"{status}: /auth/login answered without a token",
                status_code=status,
                method="POST",
                url=self.path,
            )
        org = body.get("organization") if isinstance(body, Mapping) else None
        claims = jwt_claims(token) or {}
        return Credentials(
            headers=(("Authorization", f"Bearer {token}"),),
            refresh_at=refresh_deadline(
                token, self.refresh_margin, now_mono=time.monotonic(), now_wall=time.time()
            ),
            refreshable=True,
            account_id=_str_or_none(claims.get("orgId"))
            or (_str_or_none(org.get("id")) if isinstance(org, Mapping) else None),
        )

    def secrets(self) -> tuple[str, ...]:
        """The key and the secret."""
        return (self.api_key, self.api_secret)

    def __repr__(self) -> str:
        return f"OrgKeyLoginAuth(api_key={REDACTED}, api_secret={REDACTED})"
