"""Users (SIP extensions): ``/users``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._state import (
    _DIGITS,
    _E164,
    _EMAIL,
    DOC_RING_TARGETS,
    DOC_ROLES,
    OSS_RING_TARGETS,
    OSS_ROLES,
    TOO_LONG_ERRNO,
    TOO_LONG_STATE,
    USER_STATUSES,
    AstradialState,
    Ctx,
    Reject,
    Reply,
    _find,
    _present,
    sql_error,
    sql_update_error,
)

#: Fields the open-source server does not know: dropped from creates and updates, which
#: still answer 201/200 (reference 5e).
OSS_IGNORED = ("ring_target", "phone_number", "outbound_did", "call_recording")


def render_user(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False
) -> dict[str, Any]:
    """A user as the server sends it."""
    if state.oss:
        out = {
            "id": row["id"],
            "org_id": row["org_id"],
            "username": row["username"],
            "extension": row["extension"],
            "full_name": row["full_name"],
            "email": row["email"],
            "role": row["role"],
            "status": row["status"],
            "recording_enabled": bool(row["recording"]),
            "routing_type": "sip",
            "routing_destination": None,
            "ring_target": "ext" if row["ring_target"] == "sip" else row["ring_target"],
            "phone_number": row["phone_number"],
            "asterisk_endpoint": asterisk_endpoint(state, row),
            "createdAt": state.iso(row["created"]),
            "updatedAt": state.iso(row["updated"]),
        }
        if created:
            # Sequelize answers what the INSERT set or defaulted: no phone_number (never
            # written: the data loss goes unseen), no routing_destination, no unset name.
            del out["phone_number"], out["routing_destination"]
            if out["full_name"] is None:
                del out["full_name"]
            out["sip_password"] = row["sip_password"]
        return out
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "username": row["username"],
        "extension": row["extension"],
        "full_name": row["full_name"],
        "email": row["email"],
        "role": row["role"],
        "status": row["status"],
        "call_recording": row["recording"] if row["recording"] is not None else True,
        "ring_target": row["ring_target"],
        "phone_number": row["phone_number"],
        "outbound_did": row["outbound_did"],
        "created_at": state.iso(row["created"]),
    }


def asterisk_endpoint(state: AstradialState, row: Mapping[str, Any]) -> str:
    """The server's ``${context_prefix}_${extension}``."""
    return f"{state.context_prefix(row['org_id'])}_{row['extension']}"


def _insert_error(
    ctx: Ctx, body: Mapping[str, Any], message: str, *, errno: int = 1265, sqlstate: str = "01000"
) -> Reject:
    """The 500 of a refused user INSERT: the driver's text with the statement."""
    columns = ["id", "org_id", "username", "email", "extension"]
    if body.get("full_name") is not None:
        columns.append("full_name")
    columns += [
        "role",
        "status",
        "password_hash",
        "sip_password",
        "asterisk_endpoint",
        "recording_enabled",
        "routing_type",
        "ring_target",
        "created_at",
        "updated_at",
    ]
    return sql_error(message, "users", columns, errno=errno, sqlstate=sqlstate)


def _check_user_fields(
    ctx: Ctx, body: Mapping[str, Any], current: Mapping[str, Any] | None
) -> None:
    """Field rules of create and update (``current`` is the stored row on update)."""
    columns = ["id", "org_id", "extension", "username", "email", "role", "status", "ring_target"]
    if "extension" in body:
        ext = body["extension"]
        if not isinstance(ext, str | int) or not _DIGITS.match(str(ext)):
            raise Reject(
                400, {"error": "Invalid extension", "message": "extension must contain digits only"}
            )
        if len(str(ext)) > 10:
            if ctx.oss:
                if current is not None:
                    raise sql_update_error(
                        ctx.state,
                        "Data too long for column 'extension' at row 1",
                        "users",
                        {"extension": ext},
                        current["id"],
                        errno=TOO_LONG_ERRNO,
                        sqlstate=TOO_LONG_STATE,
                    )
                raise _insert_error(
                    ctx,
                    body,
                    "Data too long for column 'extension' at row 1",
                    errno=TOO_LONG_ERRNO,
                    sqlstate=TOO_LONG_STATE,
                )
            raise Reject(400, {"error": "Invalid extension", "message": "extension is too long"})
    if "email" in body and body["email"] is not None and not _EMAIL.match(str(body["email"])):
        if ctx.oss:
            raise Reject(500, {"error": "Validation error: Validation isEmail on email failed"})
        raise Reject(400, {"error": "Invalid email"})
    roles = OSS_ROLES if ctx.oss else DOC_ROLES
    if "role" in body and body["role"] not in roles:
        if ctx.oss and current is not None:
            raise sql_update_error(
                ctx.state,
                "Data truncated for column 'role' at row 1",
                "users",
                {"role": body["role"]},
                current["id"],
            )
        if ctx.oss:
            raise _insert_error(ctx, body, "Data truncated for column 'role' at row 1")
        raise Reject(
            422, {"error": "Invalid role", "message": f"role must be one of: {', '.join(roles)}"}
        )
    if "status" in body and body["status"] not in USER_STATUSES:
        if ctx.oss and current is not None:
            raise sql_update_error(
                ctx.state,
                "Data truncated for column 'status' at row 1",
                "users",
                {"status": body["status"]},
                current["id"],
            )
        if ctx.oss:
            raise _insert_error(ctx, body, "Data truncated for column 'status' at row 1")
        raise Reject(422, {"error": "Invalid status"})
    if ctx.oss:
        return  # ring_target and phone_number are ignored, never checked
    targets = OSS_RING_TARGETS if ctx.oss else DOC_RING_TARGETS
    if "ring_target" in body and body["ring_target"] not in targets:
        if ctx.oss:
            raise sql_error(
                "Data truncated for column 'ring_target' at row 1", "sip_users", columns
            )
        raise Reject(
            422,
            {
                "error": "Invalid ring_target",
                "message": f"ring_target must be one of: {', '.join(targets)}",
            },
        )
    ring = body.get("ring_target", current["ring_target"] if current else None)
    phone = body.get("phone_number", current["phone_number"] if current else None)
    touched = "ring_target" in body or "phone_number" in body
    if ring == "phone" and touched and (not isinstance(phone, str) or not _E164.match(phone)):
        raise Reject(
            422 if not ctx.oss else 400,
            {
                "error": "Invalid phone_number",
                "message": "phone_number must be an E.164 number when ring_target is phone",
            },
        )


def _check_user_unique(ctx: Ctx, body: Mapping[str, Any], user_id: str | None) -> None:
    state = ctx.state
    ext = body.get("extension")
    if ext is not None and any(
        u["id"] != user_id for u in state.users_holding(("extension", ctx.org, str(ext)))
    ):
        raise Reject(
            409, {"error": "Extension already exists" if ctx.oss else "Extension already in use"}
        )
    email = body.get("email")
    if (
        email is not None
        and not ctx.oss
        and any(u["id"] != user_id for u in state.users_holding(("email", str(email).lower())))
    ):
        raise Reject(409, {"error": "Email already in use"})
    username = body.get("username")
    if (
        username is not None
        and ctx.oss
        and any(u["id"] != user_id for u in state.users_holding(("username", username)))
    ):
        raise Reject(500, {"error": "Validation error"})


def list_users(ctx: Ctx) -> Reply:
    """``GET /users`` (a bare array; pagination parameters are ignored)."""
    rows = [u for u in ctx.state.users.values() if u["org_id"] == ctx.org]
    return Reply(200, [render_user(ctx.state, u) for u in rows])


def create_user(ctx: Ctx) -> Reply:
    """``POST /users``."""
    body = ctx.body
    required = (
        ("extension", "username", "password", "email")
        if ctx.oss
        else ("extension", "full_name", "email")
    )
    missing = [name for name in required if not _present(body, name)]
    if missing:
        if ctx.oss:
            raise Reject(400, {"error": "Required fields missing"})
        raise Reject(400, {"error": "Missing required fields", "required_fields": missing})
    _check_user_fields(ctx, body, None)
    _check_user_unique(ctx, body, None)
    data = dict(body)
    if ctx.oss:
        for name in OSS_IGNORED:
            data.pop(name, None)
        data["recording_enabled"] = True  # always on at creation, whatever was sent
    else:
        data.pop("recording_enabled", None)
    row = ctx.state._insert_user(ctx.org, data, ctx.state.now())
    return Reply(201, render_user(ctx.state, row, created=True))


def update_user(ctx: Ctx) -> Reply:
    """``PUT /users/{user_id}`` (any subset of the fields)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    body = ctx.body
    if ctx.oss:
        body = {k: v for k, v in body.items() if k not in OSS_IGNORED}
    _check_user_fields(ctx, body, row)
    _check_user_unique(ctx, body, row["id"])
    for name in (
        "extension",
        "full_name",
        "email",
        "role",
        "status",
        "phone_number",
        "outbound_did",
        "username",
    ):
        if name in body:
            row[name] = str(body[name]) if name == "extension" else body[name]
    if "ring_target" in body:
        row["ring_target"] = "sip" if body["ring_target"] == "ext" else body["ring_target"]
    flag = "recording_enabled" if ctx.oss else "call_recording"
    if flag in body:
        row["recording"] = bool(body[flag])
    if "password" in body:
        row["login_password"] = body["password"]
    row["updated"] = ctx.state.now()
    ctx.state.user_index.put(row["id"], row)
    return Reply(200, render_user(ctx.state, row))


def get_user(ctx: Ctx) -> Reply:
    """``GET /users/{user_id}`` (the open-source server's; not in the documented catalog)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    return Reply(200, render_user(ctx.state, row))


def delete_user(ctx: Ctx) -> Reply:
    """``DELETE /users/{user_id}``: 204; queue memberships go too (CDRs stay)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    del ctx.state.users[row["id"]]
    ctx.state.user_index.drop(row["id"])
    for members in ctx.state.members.values():
        members[:] = [m for m in members if m["user_id"] != row["id"]]
    return Reply(204)


def sip_credentials(ctx: Ctx) -> Reply:
    """``GET /users/{user_id}/sip-credentials`` (the password in plaintext)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    if ctx.oss:
        return Reply(
            200,
            {
                "sip_password": row["sip_password"],
                "endpoint": asterisk_endpoint(ctx.state, row),
                "extension": row["extension"],
            },
        )
    return Reply(
        200,
        {
            "username": row["username"],
            "password": row["sip_password"],
            "domain": "sip.astradial.test",
            "port": 5060,
            "transport": "UDP",
        },
    )


def _user_404(ctx: Ctx) -> str:
    return "User not found" if ctx.oss else "User not in your org"
