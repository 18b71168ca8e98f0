"""User credentials (``PUT /user_auth``), the current token (``GET``/``DELETE /token_auth``)
and the account API key (``GET /accounts/{id}/api_key``).

``user_auth`` finds the account by ``account_name`` (Kazoo's normalised name), ``account_realm``
or ``phone_number``, then the user whose ``md5("username:password")`` (or SHA-1 with
``method: sha``) equals ``credentials``; anything else is a 401 ``invalid credentials``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .._envelope import ApiError, validation_error
from .._schema import SchemaError
from .._store import Doc, Store
from ._handlers import Call, Endpoint, Result
from ._kinds import normalise_name
from ._resources import add_api_key, normalise_number

__all__ = ["endpoints"]


def _account(store: Store, data: dict[str, Any]) -> Doc | None:
    name, realm, number = (data.get(k) for k in ("account_name", "account_realm", "phone_number"))
    if isinstance(name, str):
        wanted = normalise_name(name)
        return next(
            (
                a
                for a in store.accounts.values()
                if normalise_name(str(a.data.get("name", ""))) == wanted
            ),
            None,
        )
    if isinstance(realm, str):
        return next(
            (
                a
                for a in store.accounts.values()
                if str(a.data.get("realm", "")).lower() == realm.lower()
            ),
            None,
        )
    if isinstance(number, str):
        doc = store.numbers.get(normalise_number(number) or "")
        return store.accounts.get(doc.account_id) if doc is not None else None
    return None


def _hash(username: str, password: str, method: str) -> str:
    text = f"{username}:{password}".encode()
    return (hashlib.sha1(text) if method == "sha" else hashlib.md5(text)).hexdigest()


def user_auth(call: Call) -> Result:
    """``PUT /v2/user_auth``: credentials hash + account -> token (201, like ``api_auth``)."""
    data = call.data
    credentials = data.get("credentials")
    method = data.get("method", "md5")
    errors = []
    if not isinstance(credentials, str) or not credentials:
        errors.append(SchemaError(("credentials",), "required", "Field is required but missing"))
    if method not in ("md5", "sha"):
        errors.append(
            SchemaError(("method",), "enum", "Value not found in enumerated list of values")
        )
    if errors:
        raise validation_error(errors)
    store = call.core.store
    account = _account(store, data)
    user = None
    if account is not None:
        for candidate in store.of_account("user", account.id):
            password = candidate.secrets.get("password")
            username = candidate.data.get("username")
            if (
                isinstance(password, str)
                and isinstance(username, str)
                and _hash(username, password, str(method)) == credentials
            ):
                user = candidate
                break
    if account is None or user is None:
        raise ApiError(401, "invalid_credentials", {"message": "invalid credentials"})
    config = call.core.config
    call.meta.auth_token = call.core.tokens.mint(
        account.id, user.id, "cb_user_auth", config.token_lifetime
    )
    return Result(
        {
            "account_id": account.id,
            "owner_id": user.id,
            "account_name": account.data.get("name"),
            "language": "en-us",
            "is_reseller": False,
            "reseller_id": store.root_of(account.id),
            "apps": [],
        },
        status=201,
    )


def _token_info(call: Call) -> dict[str, Any]:
    claims = call.claims
    assert claims is not None
    return {
        "account_id": claims.account_id,
        "owner_id": claims.owner_id,
        "method": claims.method,
        "created": claims.iat,
        "expires": claims.exp,
    }


def token_info(call: Call) -> Result:
    """``GET /v2/token_auth``: what the token in ``X-Auth-Token`` stands for."""
    return Result(_token_info(call))


def logout(call: Call) -> Result:
    """``DELETE /v2/token_auth``: revoke the token in ``X-Auth-Token``."""
    info = _token_info(call)
    if call.meta.auth_token:
        call.core.tokens.revoke(call.meta.auth_token)
    return Result(info)


def api_key(call: Call) -> Result:
    """``GET /v2/accounts/{id}/api_key``."""
    store = call.core.store
    key = next((k for k, a in store.api_keys.items() if a == call.account.id), None)
    return Result({"api_key": key or add_api_key(store, call.account.id)})


def endpoints() -> list[Endpoint]:
    """The credential routes."""
    return [
        Endpoint("/user_auth", {"PUT": user_auth}, public=True),
        Endpoint("/token_auth", {"GET": token_info, "DELETE": logout}),
        Endpoint("/accounts/{account_id}/api_key", {"GET": api_key}),
    ]
