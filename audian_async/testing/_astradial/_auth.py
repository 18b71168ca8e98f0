"""Authentication: ``X-API-Key``, Bearer JWTs, ``POST /auth/user-login`` and ``POST /auth/login``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from ._state import AstradialState, Principal, Reject, Reply

# -- auth -------------------------------------------------------------------------------------


def authenticate(state: AstradialState, request: Request, *, query_token: bool) -> Principal:
    """The caller of a protected route, or a 401 in the server's words."""
    key = request.headers.get("x-api-key")
    if key:
        org = state.keys.get(key)
        if org is None or key in state.revoked or state.orgs[org]["status"] != "active":
            raise Reject(401, {"error": "Invalid authentication or organization not active"})
        return Principal(org, "key")
    header = request.headers.get("authorization")
    token = None
    if header:
        token = header[7:] if header.lower().startswith("bearer ") else header
    elif query_token:
        token = request.query_params.get("token")
    if not token:
        raise Reject(401, {"error": "Authentication required"})
    claims = state.tokens.verify(token.strip())
    if claims is None or claims.get("orgId") not in state.orgs:
        raise Reject(401, {"error": "Authentication failed"})
    return Principal(
        str(claims["orgId"]), "jwt", str(claims.get("role", "agent")), claims.get("userId")
    )


def user_login(state: AstradialState, body: Mapping[str, Any]) -> Reply:
    """``POST /auth/user-login``."""
    email, password = body.get("email"), body.get("password")
    if not email or not password:
        raise Reject(400, {"error": "email and password required"})
    if state.oss and not state.config.astradial_org_users_table:
        raise Reject(
            500,
            {
                "error": "Table 'astrapbx.org_users' doesn't exist: SELECT `id`, `email`, "
                "`password_hash`, `org_id`, `role` FROM `org_users` WHERE `email` = ?;"
            },
        )
    login = state.logins.get(str(email).lower())
    if login is None:
        raise Reject(404, {"error": "No account found with this email."})
    stored = login.get("password")
    if stored is None or not hmac.compare_digest(str(password), stored):
        raise Reject(401, {"error": "Invalid password."})
    if login["status"] == "no_org":
        raise Reject(
            404, {"error": "no_org", "message": "Your account is not part of any organization."}
        )
    org = state.orgs[login["org_id"]]
    if login["status"] == "pending":
        return Reply(
            202,
            {
                "status": "pending_approval",
                "org_name": org["name"],
                "message": "Your organization is awaiting approval.",
            },
        )
    claims = {
        "orgId": org["id"],
        "orgName": org["name"],
        "userId": login["id"],
        "email": login["email"],
        "name": login["name"],
        "role": login["role"],
        "permissions": [],
    }
    token = state.tokens.mint(claims, state.config.astradial_token_lifetime)
    login["last_login"] = state.now()
    user: dict[str, Any] = {"id": login["id"], "email": login["email"], "role": login["role"]}
    if state.oss:
        user.update(
            name=login["name"],
            extension=None,
            org_id=org["id"],
            org_name=org["name"],
            permissions=[],
        )
    return Reply(200, {"token": token, "user": user})


def org_login(state: AstradialState, body: Mapping[str, Any]) -> Reply:
    """``POST /auth/login``: the organisation key + secret pair for a 24 h JWT."""
    key, secret = body.get("api_key"), body.get("api_secret")
    if not key or not secret:
        raise Reject(
            400,
            {
                "error": "API key and secret are required",
                "required_fields": ["api_key", "api_secret"],
            },
        )
    expected = state.org_secrets.get(str(key))
    org_id = state.keys.get(str(key))
    if expected is None or org_id is None or not hmac.compare_digest(str(secret), expected):
        raise Reject(401, {"error": "Invalid credentials"})
    org = state.orgs[org_id]
    claims = {"orgId": org["id"], "orgName": org["name"], "apiKey": key, "role": "owner"}
    token = state.tokens.mint(claims, state.config.astradial_token_lifetime)
    return Reply(
        200,
        {
            "token": token,
            "token_type": "Bearer",
            "expires_in": "24h",
            "organization": {"id": org["id"], "name": org["name"], "api_key": key},
        },
    )
