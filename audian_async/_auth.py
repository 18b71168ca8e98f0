"""Authentication strategies: how each scheme obtains credentials.

Strategies:
    * :class:`KazooApiKeyAuth`: Audian ``PUT /api_auth`` exchanges an API key for a JWT
      (``X-Auth-Token``); refreshed before ``exp`` and on a 401.
    * :class:`StaticTokenAuth`: an existing Audian token and account id; never refreshed.
    * :class:`ApiKeyHeaderAuth`: Astradial ``X-API-Key``; nothing to refresh.
    * :class:`PasswordLoginAuth`: Astradial ``POST /auth/user-login`` gives a Bearer JWT (24 h,
      no refresh endpoint): logged in again before ``exp`` and on a 401.

A strategy only performs one exchange; keeping the credentials, refreshing them single-flight
and sharing them between concurrent calls is the client's
:class:`~audian_async._authenticator.Authenticator`.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from . import _json
from ._classify import build_status_error
from ._credentials import Credentials, str_or_none
from ._errors import APIResponseValidationError, AuthenticationError
from ._redact import REDACTED, scrub

__all__ = [
    "ApiKeyHeaderAuth",
    "AuthSend",
    "AuthStrategy",
    "KazooApiKeyAuth",
    "PasswordLoginAuth",
    "StaticTokenAuth",
    "jwt_claims",
]

# Sends a request without credentials: (method, path, json body) -> (status, headers, decoded body).
AuthSend = Callable[[str, str, Any], Awaitable[tuple[int, Mapping[str, str], Any]]]


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
    except (ValueError, TypeError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _login_failed(
    status: int,
    body: Any,
    headers: Mapping[str, str],
    method: str,
    path: str,
    secrets: tuple[str, ...],
    refused: str,
) -> AuthenticationError:
    """The error for credentials a server refused: ``refused`` says which and what to check,
    before the server's own words (``404 bad_identifier`` says little on its own)."""
    exc = build_status_error(
        status, scrub(body, secrets), headers=headers, method=method, url=path, auth_failure=True
    )
    assert isinstance(exc, AuthenticationError)
    exc.message = f"{refused} ({exc.message})"
    exc.args = (exc.message,)
    return exc


_KEY_REFUSED = (
    "the API key was refused (unknown, malformed or disabled): check api_key / AUDIAN_API_KEY"
)


class KazooApiKeyAuth:
    """Audian API key exchanged through ``PUT /api_auth`` for a short-lived JWT."""

    __slots__ = ("api_key", "refresh_margin")
    refreshable = True

    def __init__(self, api_key: str, refresh_margin: float = 60.0) -> None:
        self.api_key = api_key
        self.refresh_margin = refresh_margin

    async def login(self, send: AuthSend) -> Credentials:
        """Exchange the API key for a token."""
        status, headers, body = await send("PUT", "/api_auth", {"data": {"api_key": self.api_key}})
        if status >= 400:
            # Kazoo answers 404 for an unknown key, 400 for a malformed one, 401 when disabled.
            if status in (400, 401, 403, 404):
                raise _login_failed(
                    status, body, headers, "PUT", "/api_auth", self.secrets(), _KEY_REFUSED
                )
            raise build_status_error(
                status, scrub(body, self.secrets()), headers=headers, method="PUT", url="/api_auth"
            )
        token = body.get("auth_token") if isinstance(body, Mapping) else None
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token or not isinstance(data, Mapping):
            raise APIResponseValidationError(
                "api_auth answered without an auth_token",
                status_code=status,
                method="PUT",
                url="/api_auth",
                request_id=body.get("request_id") if isinstance(body, Mapping) else None,
            )
        return Credentials.kazoo_token(token, data, self.refresh_margin)

    def secrets(self) -> tuple[str, ...]:
        """The API key."""
        return (self.api_key,)

    def __repr__(self) -> str:
        return f"KazooApiKeyAuth(api_key={REDACTED})"


class StaticTokenAuth:
    """An Audian auth token obtained elsewhere, with its account id. It cannot be refreshed."""

    __slots__ = ("account_id", "auth_token")
    refreshable = False

    def __init__(self, auth_token: str, account_id: str | None) -> None:
        self.auth_token = auth_token
        self.account_id = account_id

    async def login(self, send: AuthSend) -> Credentials:
        """Use the given token as it is."""
        claims = jwt_claims(self.auth_token) or {}
        return Credentials(
            (("X-Auth-Token", self.auth_token),),
            account_id=self.account_id or str_or_none(claims.get("account_id")),
            owner_id=str_or_none(claims.get("owner_id")),
        )

    def secrets(self) -> tuple[str, ...]:
        """The token."""
        return (self.auth_token,)

    def __repr__(self) -> str:
        return f"StaticTokenAuth(auth_token={REDACTED}, account_id={self.account_id!r})"


class ApiKeyHeaderAuth:
    """A static API key sent in a header on every request (Astradial ``X-API-Key``)."""

    __slots__ = ("api_key", "header")
    refreshable = False

    def __init__(self, api_key: str, header: str = "X-API-Key") -> None:
        self.api_key = api_key
        self.header = header

    async def login(self, send: AuthSend) -> Credentials:
        """Nothing to exchange: the key is the credential."""
        return Credentials(((self.header, self.api_key),))

    def secrets(self) -> tuple[str, ...]:
        """The API key."""
        return (self.api_key,)

    def __repr__(self) -> str:
        return f"ApiKeyHeaderAuth(header={self.header!r}, api_key={REDACTED})"


class PasswordLoginAuth:
    """Astradial email + password exchanged through ``POST /auth/user-login`` for a Bearer JWT."""

    __slots__ = ("email", "org_id", "password", "path", "refresh_margin")
    refreshable = True

    def __init__(
        self,
        email: str,
        password: str,
        org_id: str | None = None,
        refresh_margin: float = 300.0,
        path: str = "/auth/user-login",
    ) -> None:
        self.email = email
        self.password = password
        self.org_id = org_id
        self.refresh_margin = refresh_margin
        self.path = path

    async def login(self, send: AuthSend) -> Credentials:
        """Log in and keep the JWT."""
        payload: dict[str, Any] = {"email": self.email, "password": self.password}
        if self.org_id:
            payload["org_id"] = self.org_id
        status, headers, body = await send("POST", self.path, payload)
        if 400 <= status < 500 and status != 429:
            raise _login_failed(
                status,
                body,
                headers,
                "POST",
                self.path,
                self.secrets(),
                "the email and password were refused: check email / password "
                "(ASTRADIAL_EMAIL / ASTRADIAL_PASSWORD)",
            )
        if status >= 400:
            raise build_status_error(
                status, scrub(body, self.secrets()), headers=headers, method="POST", url=self.path
            )
        token = body.get("token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            # 202 {"status": "pending_approval"} and the like: a 2xx without a token.
            message = body.get("message") if isinstance(body, Mapping) else None
            raise AuthenticationError(
                f"{status}: login returned no token"
                + (f": {message}" if isinstance(message, str) else ""),
                status_code=status,
                server_message=message if isinstance(message, str) else None,
                body=scrub(body, self.secrets()),
                method="POST",
                url=self.path,
            )
        user = body.get("user") if isinstance(body, Mapping) else None
        claims = jwt_claims(token) or {}
        return Credentials(
            (("Authorization", f"Bearer {token}"),),
            refreshable=True,
            jwt=token,
            refresh_margin=self.refresh_margin,
            account_id=str_or_none(claims.get("orgId"))
            or (str_or_none(user.get("org_id")) if isinstance(user, Mapping) else None),
            owner_id=str_or_none(user.get("id")) if isinstance(user, Mapping) else None,
        )

    def secrets(self) -> tuple[str, ...]:
        """The password."""
        return (self.password,)

    def __repr__(self) -> str:
        return f"PasswordLoginAuth(email={self.email!r}, password={REDACTED})"


class OrgKeyLoginAuth:
    """Astradial organisation key + secret exchanged through ``POST /auth/login`` for a JWT.

    The open-source server's third way in (besides ``X-API-Key`` and the user login): the
    organisation's ``api_key`` and ``api_secret`` buy a 24 h Bearer JWT, renewed by logging in
    again before it expires and once after a 401.
    """

    __slots__ = ("api_key", "api_secret", "path", "refresh_margin")
    refreshable = True

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        refresh_margin: float = 300.0,
        path: str = "/auth/login",
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.refresh_margin = refresh_margin
        self.path = path

    async def login(self, send: AuthSend) -> Credentials:
        """Exchange the key and secret for a JWT."""
        payload = {"api_key": self.api_key, "api_secret": self.api_secret}
        status, headers, body = await send("POST", self.path, payload)
        if 400 <= status < 500 and status != 429:
            raise _login_failed(
                status,
                body,
                headers,
                "POST",
                self.path,
                self.secrets(),
                "the organisation API key and secret were refused: check api_key / api_secret",
            )
        if status >= 400:
            raise build_status_error(
                status, scrub(body, self.secrets()), headers=headers, method="POST", url=self.path
            )
        token = body.get("token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise APIResponseValidationError(
                f"{status}: /auth/login answered without a token",
                status_code=status,
                method="POST",
                url=self.path,
            )
        org = body.get("organization") if isinstance(body, Mapping) else None
        claims = jwt_claims(token) or {}
        return Credentials(
            (("Authorization", f"Bearer {token}"),),
            refreshable=True,
            jwt=token,
            refresh_margin=self.refresh_margin,
            account_id=str_or_none(claims.get("orgId"))
            or (str_or_none(org.get("id")) if isinstance(org, Mapping) else None),
        )

    def secrets(self) -> tuple[str, ...]:
        """The key and the secret."""
        return (self.api_key, self.api_secret)

    def __repr__(self) -> str:
        return f"OrgKeyLoginAuth(api_key={REDACTED}, api_secret={REDACTED})"
