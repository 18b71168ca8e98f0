"""User-credential authentication (Kazoo ``PUT /user_auth``): a username and password, and the
account they belong to, exchanged for an auth token.

The password never leaves the client: Kazoo takes the hex MD5 (or SHA-1) of
``username:password`` (the username lower-cased, as Kazoo stores it) as ``credentials``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

import attrs

from ._auth import AuthSend, _login_failed
from ._classify import build_status_error
from ._credentials import Credentials
from ._errors import APIResponseValidationError
from ._redact import REDACTED, scrub

__all__ = ["KazooUserAuth", "user_credentials"]


def user_credentials(username: str, password: str, method: Literal["md5", "sha"] = "md5") -> str:
    """Kazoo's ``credentials``: hex MD5 (or SHA-1) of ``"<username>:<password>"``."""
    text = f"{username.lower()}:{password}".encode()
    digest = hashlib.md5(text) if method == "md5" else hashlib.sha1(text)
    return digest.hexdigest()


@attrs.define(slots=True, repr=False)
class KazooUserAuth:
    """A user's username and password, exchanged through ``PUT /user_auth`` for a token.

    The account is named by ``account_name`` (or ``account_realm``, or ``phone_number``).
    Tokens are refreshed by logging in again, like API-key tokens.
    """

    username: str
    password: str
    account_name: str | None = None
    account_realm: str | None = None
    phone_number: str | None = None
    method: Literal["md5", "sha"] = "md5"
    refresh_margin: float = 60.0
    refreshable: bool = attrs.field(default=True, init=False)

    def __attrs_post_init__(self) -> None:
        if not (self.account_name or self.account_realm or self.phone_number):
            raise ValueError("user credentials need account_name, account_realm or phone_number")

    def payload(self) -> dict[str, str]:
        """The ``data`` of the ``user_auth`` request."""
        data = {
            "credentials": user_credentials(self.username, self.password, self.method),
            "method": self.method,
        }
        for key in ("account_name", "account_realm", "phone_number"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data

    async def login(self, send: AuthSend) -> Credentials:
        """Exchange the credentials hash for a token."""
        status, headers, body = await send("PUT", "/user_auth", {"data": self.payload()})
        if status >= 400:
            if status in (400, 401, 403, 404):
                raise _login_failed(
                    status,
                    body,
                    headers,
                    "PUT",
                    "/user_auth",
                    self.secrets(),
                    "the username and password were refused for this account: check username, "
                    "password and account_name",
                )
            raise build_status_error(
                status,
                scrub(body, self.secrets()),
                headers=headers,
                method="PUT",
                url="/user_auth",
            )
        token = body.get("auth_token") if isinstance(body, Mapping) else None
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token or not isinstance(data, Mapping):
            raise APIResponseValidationError(
                "user_auth answered without an auth_token",
                status_code=status,
                method="PUT",
                url="/user_auth",
            )
        return Credentials.kazoo_token(token, data, self.refresh_margin)

    def secrets(self) -> tuple[str, ...]:
        """The password and the credentials hash made from it."""
        return (self.password, user_credentials(self.username, self.password, self.method))

    def __repr__(self) -> str:
        return (
            f"KazooUserAuth(username={self.username!r}, password={REDACTED}, "
            f"account_name={self.account_name!r})"
        )
