"""Open-source server routes for media and the server itself: ``/moh``, ``/greetings``,
recording control (``POST``/``DELETE /calls/{id}/recording``), ``/server-info`` and ``/health``.

Shapes and messages follow the server's handlers (``src/server.js``) and recorded exchanges
(``tests/simulator/recordings/astradial_oss``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._org import permissions_of, user_role
from ._state import AstradialState, Ctx, Reject, Reply

# -- music on hold and greetings -----------------------------------------------------------------


def list_music_classes(ctx: Ctx) -> Reply:
    """``GET /moh``: the system class and the organisation's own (none: the simulator keeps no
    audio files, like a server without ``/var/lib/asterisk/moh``)."""
    return Reply(200, {"system_classes": ["default"], "org_classes": []})


def _render_greeting(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False
) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "name": row["name"],
        "text": row["text"],
        "language": row["language"],
        "voice": row["voice"],
        "audio_file": row["audio_file"],
        "status": row["status"],
        "createdAt": state.iso(row["created"]),
        "updatedAt": state.iso(row["updated"]),
    }
    if created:  # Sequelize answers what the INSERT set or defaulted
        for name in ("language", "voice", "audio_file"):
            if out[name] is None:
                del out[name]
    return out


def list_greetings(ctx: Ctx) -> Reply:
    """``GET /greetings``: newest first."""
    rows = [g for g in ctx.state.greeting_rows.values() if g["org_id"] == ctx.org]
    rows.sort(key=lambda g: g["created"], reverse=True)
    return Reply(200, [_render_greeting(ctx.state, g) for g in rows])


def create_greeting(ctx: Ctx) -> Reply:
    """``POST /greetings``: the body as given (200, not 201)."""
    body = ctx.body
    for column in ("name", "text"):
        if body.get(column) is None:
            raise Reject(500, {"error": f"notNull Violation: Greeting.{column} cannot be null"})
    now = ctx.state.now()
    row = {
        "id": ctx.state.new_id(),
        "org_id": ctx.org,
        "name": body["name"],
        "text": body["text"],
        "language": body.get("language"),
        "voice": body.get("voice"),
        "audio_file": body.get("audio_file"),
        "status": body.get("status") or "active",
        "created": now,
        "updated": now,
    }
    ctx.state.greeting_rows[row["id"]] = row
    return Reply(200, _render_greeting(ctx.state, row, created=True))


# -- recording control ---------------------------------------------------------------------------


def set_recording(ctx: Ctx) -> Reply:
    """``POST /calls/{call_id}/recording``: a call the phone system reports live, by its id."""
    role = user_role(ctx.who)
    if role is not None and role not in ("owner", "admin"):
        raise Reject(
            403,
            {
                "error": "Forbidden",
                "message": f"Role '{role}' does not have permission. Requires 'admin' or higher.",
                "your_role": role,
                "required_role": "admin",
            },
        )
    wanted = ctx.params["call_id"]
    live = next(
        (
            c
            for c in ctx.state.live
            if c["org_id"] == ctx.org and wanted in (c["uniqueid"], c["channel_id"])
        ),
        None,
    )
    if live is None:
        raise Reject(404, {"error": "Call not found"})
    enabled = ctx.body.get("enabled")
    ctx.state.live_recording[wanted] = bool(enabled)
    out: dict[str, Any] = {"call_id": wanted}
    if "enabled" in ctx.body:
        out["recording_enabled"] = enabled
    out["message"] = "Recording started" if enabled else "Recording stopped"
    return Reply(200, out)


def delete_recording(ctx: Ctx) -> Reply:
    """``DELETE /calls/{call_id}/recording``: the file goes, the call forgets it."""
    role = user_role(ctx.who)
    if role is not None and "calls.delete_recording" not in permissions_of(role):
        raise Reject(
            403,
            {
                "error": "Forbidden",
                "message": f"Permission 'calls.delete_recording' denied for role '{role}'.",
                "your_role": role,
                "required_permission": "calls.delete_recording",
            },
        )
    wanted = ctx.params["call_id"]
    row = next(
        (c for c in ctx.state.calls if str(c["id"]) == wanted and c["org_id"] == ctx.org), None
    )
    if row is None:
        raise Reject(404, {"error": "Call not found or not owned by this org"})
    if not row["has_recording"]:
        raise Reject(404, {"error": "No recording file associated with this call"})
    row["has_recording"] = False
    return Reply(
        200,
        {
            "success": True,
            "call_id": wanted,
            "filename": f"{row['uniqueid']}.wav",
            "deleted_from": {"local": False, "gcs": False},
        },
    )


# -- the server ----------------------------------------------------------------------------------


def server_info(state: AstradialState) -> Reply:
    """``GET /server-info`` (no credentials)."""
    return Reply(200, {"sip_host": "127.0.0.1", "sip_port": 5060, "hostname": "astradial-sim"})


def health(state: AstradialState) -> Reply:
    """``GET /health`` beside ``/api/v1`` (no credentials): the phone-system links are up
    while the simulator's fake phone system is (``pbx_up``)."""
    up = state.pbx_up
    return Reply(
        200,
        {
            "status": "healthy",
            "timestamp": state.iso(state.now()),
            "uptime": round(state.now() - state.started, 3),
            "services": {
                "database": "connected",
                "eventListener": "running",
                "ari": "connected" if up else "disconnected",
                "ami": "connected" if up else "disconnected",
            },
            "activeCalls": len(state.live) if up else 0,
        },
    )
