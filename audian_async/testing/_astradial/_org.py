"""Open-source server routes of the organisation: ``/webhooks``, ``/api-keys``, ``/org-users``,
``/roles``.

Shapes and messages follow the server's handlers (``src/server.js``, ``src/routes/apiKeys.js``,
``src/middleware/rbac.js``) and the exchanges recorded from it
(``tests/simulator/recordings/astradial_oss``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from ._state import AstradialState, Ctx, Principal, Reject, Reply, _find

# -- roles (src/middleware/rbac.js) -------------------------------------------------------------

ROLE_LEVELS = {"owner": 4, "admin": 3, "manager": 2, "agent": 1}
_ALL = ("owner", "admin", "manager", "agent")
_STAFF = ("owner", "admin", "manager")
_ADMINS = ("owner", "admin")
#: Every permission and the roles that have it, in the server's order.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "org.settings.read": _ADMINS,
    "org.settings.write": _ADMINS,
    "org.api_keys": ("owner",),
    "org.billing": _ADMINS,
    "users.create": _ADMINS,
    "users.delete": _ADMINS,
    "users.assign_role": _ADMINS,
    "users.list": _STAFF,
    "users.view_self": _ALL,
    "config.write": _ADMINS,
    "config.deploy": _ADMINS,
    "config.read": _ALL,
    "calls.view_all": _STAFF,
    "calls.view_own": _ALL,
    "calls.listen_recording": _STAFF,
    "calls.download_recording": _ADMINS,
    "calls.delete_recording": _ADMINS,
    "calls.click_to_call": _ALL,
    "tickets.view": _ALL,
    "tickets.create": _ALL,
    "tickets.update": _ALL,
    "tickets.delete": _STAFF,
    "workflows.write": _ADMINS,
    "workflows.read": _STAFF,
    "bots.manage": _ADMINS,
    "compliance.write": _ADMINS,
    "compliance.read": _STAFF,
    "audit_log.read": _STAFF,
    "data.export": _ADMINS,
    "data.erasure": _ADMINS,
    "crm.read": _ALL,
    "crm.write": _STAFF,
    "crm.delete": _ADMINS,
    "crm.customize": _ADMINS,
    "crm.assign": _STAFF,
}


def permissions_of(role: str) -> list[str]:
    """The permissions a role has (``getPermissions``)."""
    return [name for name, roles in PERMISSIONS.items() if role in roles]


def user_role(who: Principal) -> str | None:
    """The signed-in person's role; None for an API key or an organisation login (no person:
    the server lets those through every role check)."""
    return who.role if who.via == "jwt" and who.user_id is not None else None


def require_role(ctx: Ctx, minimum: str) -> None:
    """``requireRole``: 403 when a signed-in person ranks below ``minimum``."""
    role = user_role(ctx.who)
    if role is None or ROLE_LEVELS.get(role, 0) >= ROLE_LEVELS[minimum]:
        return
    raise Reject(
        403,
        {
            "error": "Forbidden",
            "message": f"Role '{role}' does not have permission. Requires '{minimum}' or higher.",
            "your_role": role,
            "required_role": minimum,
        },
    )


def list_roles(ctx: Ctx) -> Reply:
    """``GET /roles``."""
    roles = [
        {"role": role, "level": level, "permissions": permissions_of(role)}
        for role, level in ROLE_LEVELS.items()
    ]
    return Reply(200, {"roles": roles})


# -- webhooks ------------------------------------------------------------------------------------

_WEBHOOK_FIELDS = ("url", "events", "secret", "active", "retry_count")


def render_webhook(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False
) -> dict[str, Any]:
    """A webhook as Sequelize sends it (a create answer lacks the columns left unset)."""
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "url": row["url"],
        "events": list(row["events"]),
        "secret": row["secret"],
        "active": row["active"],
        "retry_count": row["retry_count"],
        "timeout": 5000,
        "last_delivery": None,
        "last_status": None,
        "failure_count": 0,
        "headers": {},
        "createdAt": state.iso(row["created"]),
        "updatedAt": state.iso(row["updated"]),
    }
    if created:
        del out["last_delivery"], out["last_status"]
    return out


def _valid_url(value: Any) -> bool:
    text = str(value)
    head, sep, rest = text.partition("://")
    return bool(sep) and head in ("http", "https", "ftp") and "." in rest and " " not in text


#: The event names the server's model accepts.
WEBHOOK_EVENTS = (
    "call.initiated",
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.failed",
    "queue.entered",
    "queue.abandoned",
    "queue.answered",
    "user.registered",
    "user.unregistered",
    "trunk.registered",
    "trunk.failed",
)


def _check_webhook(body: Mapping[str, Any]) -> None:
    """The model's validators: Sequelize reports them as a 500 ``Validation error: ...``."""
    problems = []
    if "url" in body and not _valid_url(body["url"]):
        problems.append("Validation isUrl on url failed")
    if "events" in body:
        events = body["events"]
        if not isinstance(events, list) or not events:
            problems.append("Events must be a non-empty array")
        else:
            unknown = [e for e in events if e not in WEBHOOK_EVENTS]
            if unknown:
                problems.append(f"Invalid event: {unknown[0]}")
    retry = body.get("retry_count")
    if isinstance(retry, int) and not isinstance(retry, bool):
        if retry < 0:
            problems.append("Validation min on retry_count failed")
        elif retry > 10:
            problems.append("Validation max on retry_count failed")
    if problems:
        raise Reject(500, {"error": "Validation error: " + ",\nValidation error: ".join(problems)})


def list_webhooks(ctx: Ctx) -> Reply:
    """``GET /webhooks``."""
    rows = [w for w in ctx.state.webhooks.values() if w["org_id"] == ctx.org]
    return Reply(200, [render_webhook(ctx.state, w) for w in rows])


def create_webhook(ctx: Ctx) -> Reply:
    """``POST /webhooks``: ``url`` and an ``events`` list; a secret is made when absent."""
    body = ctx.body
    if not body.get("url") or not isinstance(body.get("events"), list):
        raise Reject(400, {"error": "URL and events array required"})
    _check_webhook({"url": body["url"], "events": body["events"]})
    now = ctx.state.now()
    row = {
        "id": ctx.state.new_id(),
        "org_id": ctx.org,
        "url": body["url"],
        "events": list(body["events"]),
        "secret": body.get("secret") or ctx.state.new_id(),
        "active": True,
        "retry_count": 3,
        "created": now,
        "updated": now,
    }
    ctx.state.webhooks[row["id"]] = row
    return Reply(201, render_webhook(ctx.state, row, created=True))


def get_webhook(ctx: Ctx) -> Reply:
    """``GET /webhooks/{webhook_id}``."""
    row = _find(ctx.state.webhooks, ctx.params["webhook_id"], ctx.org, "Webhook not found")
    return Reply(200, render_webhook(ctx.state, row))


def update_webhook(ctx: Ctx) -> Reply:
    """``PUT /webhooks/{webhook_id}``: the allowed fields that were sent."""
    row = _find(ctx.state.webhooks, ctx.params["webhook_id"], ctx.org, "Webhook not found")
    changes = {k: ctx.body[k] for k in _WEBHOOK_FIELDS if ctx.body.get(k) is not None}
    _check_webhook(changes)
    row.update(changes, updated=ctx.state.now())
    return Reply(200, render_webhook(ctx.state, row))


def delete_webhook(ctx: Ctx) -> Reply:
    """``DELETE /webhooks/{webhook_id}``: 204."""
    row = _find(ctx.state.webhooks, ctx.params["webhook_id"], ctx.org, "Webhook not found")
    del ctx.state.webhooks[row["id"]]
    return Reply(204)


# -- API keys (src/routes/apiKeys.js) ------------------------------------------------------------

AVAILABLE_PERMISSIONS = (
    "calls.read",
    "calls.write",
    "calls.click_to_call",
    "calls.originate_ai",
    "calls.recording",
    "calls.live",
    "calls.transfer",
    "calls.hangup",
    "calls.hold",
)


def _listed_key(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "api_key": row["api_key"],
        "permissions": list(row["permissions"]),
        "status": "revoked" if row["api_key"] in state.revoked else "active",
        "last_used_at": None,
        "created_by": row["created_by"],
        "createdAt": state.iso(row["created"]),
    }


def list_api_keys(ctx: Ctx) -> Reply:
    """``GET /api-keys``: newest first, with the permissions a key can have."""
    rows = [k for k in ctx.state.api_keys.values() if k["org_id"] == ctx.org]
    rows.sort(key=lambda k: k["created"], reverse=True)
    return Reply(
        200,
        {
            "keys": [_listed_key(ctx.state, k) for k in rows],
            "available_permissions": list(AVAILABLE_PERMISSIONS),
        },
    )


def create_api_key(ctx: Ctx) -> Reply:
    """``POST /api-keys``: the secret is in this answer only."""
    require_role(ctx, "admin")
    if not ctx.body.get("name"):
        raise Reject(400, {"error": "name required"})
    key = "ak_" + secrets.token_hex(16)
    secret = "as_" + secrets.token_hex(24)
    row = ctx.state.add_api_key(
        ctx.org,
        key,
        name=ctx.body["name"],
        permissions=ctx.body.get("permissions") or list(AVAILABLE_PERMISSIONS),
        created_by=None,
    )
    row["secret_hash"] = "$2b$10$" + secrets.token_urlsafe(40)[:53]
    return Reply(
        201,
        {
            "id": row["id"],
            "name": row["name"],
            "api_key": key,
            "api_secret": secret,
            "permissions": list(row["permissions"]),
            "message": "Save the API secret now \u2014 it cannot be retrieved later.",
        },
    )


def update_api_key(ctx: Ctx) -> Reply:
    """``PUT /api-keys/{key_id}``: name and permissions; the answer carries the secret's hash."""
    require_role(ctx, "admin")
    row = _find(ctx.state.api_keys, ctx.params["key_id"], ctx.org, "API key not found")
    if ctx.body.get("name"):
        row["name"] = ctx.body["name"]
    if ctx.body.get("permissions"):
        row["permissions"] = list(ctx.body["permissions"])
    row["updated"] = ctx.state.now()
    state = ctx.state
    return Reply(
        200,
        {
            "id": row["id"],
            "org_id": row["org_id"],
            "name": row["name"],
            "api_key": row["api_key"],
            "api_secret_hash": row["secret_hash"],
            "permissions": list(row["permissions"]),
            "status": "revoked" if row["api_key"] in state.revoked else "active",
            "last_used_at": None,
            "created_by": row["created_by"],
            "createdAt": state.iso(row["created"]),
            "updatedAt": state.iso(row["updated"]),
        },
    )


def revoke_api_key(ctx: Ctx) -> Reply:
    """``DELETE /api-keys/{key_id}``: the key stays listed as revoked and is refused."""
    require_role(ctx, "admin")
    row = _find(ctx.state.api_keys, ctx.params["key_id"], ctx.org, "API key not found")
    ctx.state.revoked.add(row["api_key"])
    row["updated"] = ctx.state.now()
    return Reply(200, {"message": "API key revoked"})


# -- organisation users (the org_users table) ----------------------------------------------------

ORG_ROLES = ("owner", "admin", "manager", "agent")
_ROLE_ORDER = {role: n for n, role in enumerate(ORG_ROLES)}


def _org_user(state: AstradialState, row: Mapping[str, Any], *columns: str) -> dict[str, Any]:
    values = {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "status": row["status"],
        "extension": row.get("extension"),
        "last_login": state.iso(row["last_login"]) if row.get("last_login") else None,
        "created_at": state.iso(row.get("created", 0.0)),
    }
    return {c: values[c] for c in columns}


_LISTED = ("id", "email", "name", "role", "status", "extension", "last_login", "created_at")


def _members(state: AstradialState, org: str) -> list[dict[str, Any]]:
    return [u for u in state.logins.values() if u["org_id"] == org]


def _member(ctx: Ctx) -> dict[str, Any]:
    wanted = ctx.params["org_user_id"]
    for row in _members(ctx.state, ctx.org):
        if row["id"] == wanted:
            return row
    raise Reject(404, {"error": "User not found"})


def _only_owners_grant(ctx: Ctx, role: str) -> None:
    if role in ("owner", "admin") and user_role(ctx.who) not in (None, "owner"):
        raise Reject(403, {"error": "Only owners can assign owner/admin roles"})


def invite_org_user(ctx: Ctx) -> Reply:
    """``POST /org-users/invite``."""
    require_role(ctx, "admin")
    body = ctx.body
    role = body.get("role") or "agent"
    if not body.get("email") or not body.get("name"):
        raise Reject(400, {"error": "email and name required"})
    if role not in ORG_ROLES:
        raise Reject(400, {"error": "Invalid role"})
    _only_owners_grant(ctx, role)
    email = str(body["email"])
    if email in ctx.state.logins:
        # The unique email index fails the raw INSERT; the handler's 409 test never matches.
        raise Reject(500, {"error": "Validation error"})
    row = ctx.state.add_login(
        email, name=str(body["name"]), org_id=ctx.org, role=role, status="invited"
    )
    row["extension"] = body.get("extension") or None
    out = {
        "id": row["id"],
        "email": email,
        "name": row["name"],
        "role": role,
        "extension": body.get("extension"),
        "status": "invited",
        "org_id": ctx.org,
    }
    if out["extension"] is None:
        del out["extension"]  # JSON.stringify drops undefined
    return Reply(201, out)


def list_org_users(ctx: Ctx) -> Reply:
    """``GET /org-users``: by role (owner first), then name."""
    require_role(ctx, "manager")
    rows = sorted(
        _members(ctx.state, ctx.org),
        key=lambda u: (_ROLE_ORDER.get(u["role"], len(ORG_ROLES)), u["name"]),
    )
    data = [_org_user(ctx.state, u, *_LISTED) for u in rows]
    return Reply(200, {"data": data, "total": len(data)})


def get_org_user(ctx: Ctx) -> Reply:
    """``GET /org-users/{org_user_id}``: agents may read only themselves."""
    require_role(ctx, "agent")
    if user_role(ctx.who) == "agent" and ctx.who.user_id != ctx.params["org_user_id"]:
        raise Reject(403, {"error": "Agents can only view their own profile"})
    return Reply(200, _org_user(ctx.state, _member(ctx), *_LISTED))


def change_org_user_role(ctx: Ctx) -> Reply:
    """``PUT /org-users/{org_user_id}/role``."""
    require_role(ctx, "admin")
    role = ctx.body.get("role")
    if role not in ORG_ROLES:
        raise Reject(400, {"error": "Valid role required: owner, admin, manager, agent"})
    _only_owners_grant(ctx, str(role))
    if ctx.who.user_id is not None and ctx.who.user_id == ctx.params["org_user_id"]:
        raise Reject(400, {"error": "Cannot change your own role"})
    row = _member(ctx)
    previous = row["role"]
    row["role"] = role
    return Reply(200, {"id": ctx.params["org_user_id"], "role": role, "previous_role": previous})


def update_org_user(ctx: Ctx) -> Reply:
    """``PUT /org-users/{org_user_id}``: name, extension, status (``active``/``suspended``).

    An unknown id is answered 200 ``{"error": "User not found"}``, as the server does.
    """
    require_role(ctx, "admin")
    body = ctx.body
    changes: dict[str, Any] = {}
    if body.get("name"):
        changes["name"] = body["name"]
    if "extension" in body:
        changes["extension"] = body["extension"] or None
    if body.get("status") in ("active", "suspended"):
        changes["status"] = body["status"]
    if not changes:
        raise Reject(400, {"error": "No valid fields to update"})
    try:
        row = _member(ctx)
    except Reject:
        return Reply(200, {"error": "User not found"})
    row.update(changes)
    return Reply(
        200, _org_user(ctx.state, row, "id", "email", "name", "role", "status", "extension")
    )


def delete_org_user(ctx: Ctx) -> Reply:
    """``DELETE /org-users/{org_user_id}``."""
    require_role(ctx, "admin")
    if ctx.who.user_id is not None and ctx.who.user_id == ctx.params["org_user_id"]:
        raise Reject(400, {"error": "Cannot delete yourself"})
    row = _member(ctx)
    if row["role"] == "owner" and user_role(ctx.who) not in (None, "owner"):
        raise Reject(403, {"error": "Only owners can delete other owners"})
    del ctx.state.logins[row["email"]]
    return Reply(200, {"success": True, "deleted_user": row["email"]})


def my_profile(ctx: Ctx) -> Reply:
    """``GET /org-users/me/profile``: the signed-in person, or a note for an API key."""
    if ctx.who.user_id is None:
        return Reply(
            200, {"role": "org_admin", "message": "Using org-level auth (no user context)"}
        )
    for row in _members(ctx.state, ctx.org):
        if row["id"] == ctx.who.user_id:
            out = _org_user(
                ctx.state, row, "id", "email", "name", "role", "status", "extension", "last_login"
            )
            out["permissions"] = permissions_of(row["role"])
            return Reply(200, out)
    raise Reject(404, {"error": "User not found"})
