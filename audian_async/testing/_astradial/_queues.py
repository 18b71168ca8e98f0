"""Queues and their members: ``/queues``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._state import (
    _DIGITS,
    DOC_STRATEGIES,
    OSS_STRATEGIES,
    TIMEOUT_DESTINATIONS,
    AstradialState,
    Ctx,
    NoRoute,
    Reject,
    Reply,
    _find,
    _int,
    _present,
    sql_error,
    sql_update_error,
)

# -- queues -----------------------------------------------------------------------------------


def _member_view(
    state: AstradialState, member: Mapping[str, Any], *, embedded: bool = False
) -> dict[str, Any]:
    """A member record; the open-source server nests the user only inside a queue."""
    user = state.users.get(member["user_id"], {})
    if state.oss:
        out: dict[str, Any] = {
            "id": member["id"],
            "queue_id": member["queue_id"],
            "user_id": member["user_id"],
            "penalty": member["penalty"],
            "paused": member["paused"],
            "ring_inuse": member["ring_inuse"],
            "added_at": state.iso(member["created"]),
            "updated_at": state.iso(member["updated"]),
        }
        if embedded:
            out["user"] = {
                "id": member["user_id"],
                "full_name": user.get("full_name"),
                "extension": user.get("extension"),
            }
        return out
    return {
        "extension": user.get("extension"),
        "user_id": member["user_id"],
        "full_name": user.get("full_name"),
        "penalty": member["penalty"],
    }


#: The open-source server's queue columns beyond the common ones, with the model's defaults.
OSS_QUEUE_COLUMNS: dict[str, Any] = {
    "recording_enabled": False,
    "announce_frequency": 30,
    "announce_holdtime": False,
    "announce_position": "yes",
    "announce_position_limit": 5,
    "join_empty": False,
    "leave_when_empty": True,
    "ring_inuse": False,
    "ring_sound": "ring",
    "retry": 5,
    "service_level": 60,
    "weight": 0,
    "autopause": "no",
    "autopausedelay": 0,
    "autopausebusy": False,
    "autopauseunavail": False,
    "max_callers": 0,
    "periodic_announce": None,
    "periodic_announce_frequency": 60,
    "min_announce_frequency": 15,
    "relative_periodic_announce": False,
    "announce_round_seconds": 0,
    "queue_youarenext": "queue-youarenext",
    "queue_thereare": "queue-thereare",
    "queue_callswaiting": "queue-callswaiting",
    "queue_holdtime": "queue-holdtime",
    "queue_minutes": "queue-minutes",
    "queue_seconds": "queue-seconds",
    "queue_thankyou": "queue-thankyou",
    "queue_reporthold": "queue-reporthold",
    "reportholdtime": True,
    "memberdelay": 0,
    "timeoutpriority": "app",
    "greeting_id": None,
}
#: What ``PUT /queues/{id}`` writes (the server's ``allowedFields``, stored names).
OSS_QUEUE_UPDATABLE = (
    *(k for k in OSS_QUEUE_COLUMNS if k != "greeting_id"),
    "greeting_id",
    "timeout_destination",
    "timeout_destination_type",
)
#: The columns of the server's queue INSERT, in its order (its error quotes them).
QUEUE_INSERT_COLUMNS = [
    "id",
    "org_id",
    "name",
    "number",
    "strategy",
    "timeout",
    "music_on_hold",
    "asterisk_queue_name",
    "recording_enabled",
    "wrap_up_time",
    *(k for k in OSS_QUEUE_COLUMNS if k not in ("recording_enabled", "greeting_id")),
    "timeout_destination_type",
    "status",
    "created_at",
    "updated_at",
]
#: Columns a create answer leaves out (Sequelize returns what the INSERT set or defaulted).
_NOT_IN_CREATE_ANSWER = (
    "greeting_id",
    "max_wait_time",
    "periodic_announce",
    "timeout_destination",
    "members",
)


def render_queue(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False, members: bool = True
) -> dict[str, Any]:
    """A queue as the server sends it (the open-source server: its 48 columns, and the members
    where the handler includes them: listings and ``get``)."""
    if state.oss:
        out = {
            "id": row["id"],
            "org_id": row["org_id"],
            "name": row["name"],
            "number": row["number"],
            "strategy": row["strategy"],
            "timeout": row["timeout"],
            "max_wait_time": row["max_wait_time"],
            "music_on_hold": row["moh"],
            "asterisk_queue_name": state.context_prefix(row["org_id"]) + row["number"],
            "wrap_up_time": row["wrap_up_time"],
            **{k: row.get("oss", {}).get(k, v) for k, v in OSS_QUEUE_COLUMNS.items()},
            "timeout_destination": row["timeout_destination"],
            "timeout_destination_type": row["timeout_destination_type"] or "hangup",
            "status": row["status"],
            "createdAt": state.iso(row["created"]),
            "updatedAt": state.iso(row["updated"]),
            "members": [
                _member_view(state, m, embedded=True) for m in state.members.get(row["id"], [])
            ],
        }
        if created:
            for name in _NOT_IN_CREATE_ANSWER:
                del out[name]
        elif not members:
            del out["members"]
        return out
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "number": row["number"],
        "name": row["name"],
        "ring_strategy": row["strategy"],
        "timeout": row["timeout"],
        "timeout_destination_type": row["timeout_destination_type"],
        "timeout_destination": row["timeout_destination"],
        "moh_class": row["moh"],
        "status": row["status"],
        "created_at": state.iso(row["created"]),
        "updated_at": state.iso(row["updated"]),
    }


def _number_taken(
    state: AstradialState,
    org: str,
    number: str,
    *,
    queue_id: str | None = None,
    ivr_id: str | None = None,
) -> bool:
    return any(
        q["org_id"] == org and q["number"] == number and q["id"] != queue_id
        for q in state.queues.values()
    ) or any(
        i["org_id"] == org and i["extension"] == number and i["id"] != ivr_id
        for i in state.ivrs.values()
    )


def _apply_queue(
    ctx: Ctx, row: dict[str, Any], body: Mapping[str, Any], *, creating: bool = False
) -> None:
    strategy_key, moh_key = (
        ("strategy", "music_on_hold") if ctx.oss else ("ring_strategy", "moh_class")
    )
    strategies = OSS_STRATEGIES if ctx.oss else DOC_STRATEGIES
    if strategy_key in body and body[strategy_key] not in strategies:
        if ctx.oss and not creating:
            raise sql_update_error(
                ctx.state,
                "Data truncated for column 'strategy' at row 1",
                "queues",
                {"strategy": body["strategy"]},
                row["id"],
            )
        if ctx.oss:
            raise sql_error(
                "Data truncated for column 'strategy' at row 1", "queues", QUEUE_INSERT_COLUMNS
            )
        raise Reject(400, {"error": "Invalid ring_strategy", "valid_values": list(strategies)})
    kind = body.get("timeout_destination_type")
    if not ctx.oss and kind is not None and kind not in TIMEOUT_DESTINATIONS:
        raise Reject(
            400,
            {
                "error": "Invalid timeout_destination_type",
                "valid_values": list(TIMEOUT_DESTINATIONS),
            },
        )
    if "number" in body:
        number = body["number"]
        if not isinstance(number, str | int) or not _DIGITS.match(str(number)):
            raise Reject(
                400, {"error": "Invalid number", "message": "number must contain digits only"}
            )
        if _number_taken(ctx.state, ctx.org, str(number), queue_id=row.get("id")):
            raise Reject(409, {"error": "Queue number already exists"})
        row["number"] = str(number)
    timeout = _int(body, "timeout", low=0)
    if timeout is not None:
        row["timeout"] = timeout
    if ctx.oss:
        for name in ("max_wait_time", "wrap_up_time"):
            value = _int(body, name, low=0)
            if value is not None:
                row[name] = value
        if "status" in body:
            if body["status"] not in ("active", "inactive", "paused"):
                if creating:
                    raise sql_error(
                        "Data truncated for column 'status' at row 1",
                        "queues",
                        QUEUE_INSERT_COLUMNS,
                    )
                raise sql_update_error(
                    ctx.state,
                    "Data truncated for column 'status' at row 1",
                    "queues",
                    {"status": body["status"]},
                    row["id"],
                )
            row["status"] = body["status"]
    if "name" in body:
        if not _present(body, "name"):
            raise Reject(400, {"error": "name must not be empty"})
        row["name"] = body["name"]
    if strategy_key in body:
        row["strategy"] = body[strategy_key]
    if moh_key in body:
        row["moh"] = body[moh_key]
    if ctx.oss:
        # The documented names (ring_strategy, moh_class) are ignored; a create takes none of
        # the other columns, an update takes its allowedFields, timeout destination included.
        if not creating:
            extra = row.setdefault("oss", {})
            for name in OSS_QUEUE_UPDATABLE:
                if body.get(name) is None:
                    continue
                if name.startswith("timeout_destination"):
                    row[name] = body[name]
                else:
                    extra[name] = body[name]
        elif body.get("recording_enabled") is not None:
            row.setdefault("oss", {})["recording_enabled"] = body["recording_enabled"]
        return
    for name in ("timeout_destination_type", "timeout_destination"):
        if name in body:
            row[name] = body[name]


def list_queues(ctx: Ctx) -> Reply:
    """``GET /queues``."""
    rows = [q for q in ctx.state.queues.values() if q["org_id"] == ctx.org]
    return Reply(200, [render_queue(ctx.state, q) for q in rows])


def create_queue(ctx: Ctx) -> Reply:
    """``POST /queues``: 201, 409 on a taken number."""
    body = ctx.body
    missing = [name for name in ("name", "number") if not _present(body, name)]
    if missing:
        if ctx.oss:
            raise Reject(400, {"error": "name and number are required"})
        raise Reject(400, {"error": "Missing required fields", "required_fields": missing})
    scratch: dict[str, Any] = {"id": None}
    _apply_queue(ctx, scratch, body, creating=True)
    row = ctx.state._insert_queue(
        ctx.org, {"number": scratch["number"], "name": scratch["name"]}, ctx.state.now()
    )
    if ctx.oss:
        row.update(timeout=30, max_wait_time=None)  # the handler's defaults
    _apply_queue(ctx, row, body, creating=True)
    return Reply(201, render_queue(ctx.state, row, created=True))


def get_queue(ctx: Ctx) -> Reply:
    """``GET /queues/{queue_id}`` (the open-source server's; members embedded there)."""
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    return Reply(200, render_queue(ctx.state, row))


def update_queue(ctx: Ctx) -> Reply:
    """``PUT /queues/{queue_id}`` (partial)."""
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    _apply_queue(ctx, row, ctx.body)
    row["updated"] = ctx.state.now()
    return Reply(200, render_queue(ctx.state, row, members=False))


def set_music(ctx: Ctx) -> Reply:
    """``PUT /queues/{queue_id}/music`` (open-source server): ``music_on_hold`` only."""
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    if ctx.body.get("music_on_hold") is not None:
        row["moh"] = ctx.body["music_on_hold"]
        row["updated"] = ctx.state.now()
    return Reply(200, render_queue(ctx.state, row, members=False))


def delete_queue(ctx: Ctx) -> Reply:
    """``DELETE /queues/{queue_id}``: 204."""
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    del ctx.state.queues[row["id"]]
    ctx.state.members.pop(row["id"], None)
    return Reply(204)


def list_members(ctx: Ctx) -> Reply:
    """``GET /queues/{queue_id}/members`` (the OSS server has no such route)."""
    if ctx.oss:
        raise NoRoute
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    return Reply(200, [_member_view(ctx.state, m) for m in ctx.state.members[row["id"]]])


def add_member(ctx: Ctx) -> Reply:
    """``POST /queues/{queue_id}/members``: by extension (docs) or user_id/user_ids (OSS)."""
    state = ctx.state
    queue = _find(state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    body = ctx.body
    members = state.members[queue["id"]]
    penalty = _int(body, "penalty", low=0, high=10 if ctx.oss else None) or 0
    org_users = {u["id"]: u for u in state.users.values() if u["org_id"] == ctx.org}
    if ctx.oss:
        ids = body.get("user_ids")
        if ids is None and not _present(body, "user_id"):
            raise Reject(400, {"error": "user_id or user_ids is required"})
        if ids is not None and (not isinstance(ids, list) or not ids):
            raise Reject(400, {"error": "user_ids must be a non-empty array"})
        if ids is None:
            user_id = str(body["user_id"])
            if user_id not in org_users:
                raise Reject(400, {"error": "invalid_user", "skipped": [user_id]})
            if any(m["user_id"] == user_id for m in members):
                raise Reject(409, {"error": "already_member", "skipped": [user_id]})
            member = state._add_member(queue["id"], user_id, penalty, state.now())
            return Reply(201, _member_view(state, member))
        created, skipped = [], []
        for raw in ids:
            user_id = str(raw)
            if user_id not in org_users:
                skipped.append({"user_id": user_id, "reason": "not_found"})
            elif any(m["user_id"] == user_id for m in members):
                skipped.append({"user_id": user_id, "reason": "already_member"})
            else:
                created.append(
                    _member_view(
                        state, state._add_member(queue["id"], user_id, penalty, state.now())
                    )
                )
        if not created:
            if any(s["reason"] == "not_found" for s in skipped):
                raise Reject(400, {"error": "invalid_user", "skipped": skipped})
            raise Reject(409, {"error": "already_member", "skipped": skipped})
        return Reply(201, {"created": created, "skipped": skipped})
    if _present(body, "extension"):
        ext = str(body["extension"])
        user = next((u for u in org_users.values() if u["extension"] == ext), None)
        if user is None:
            raise Reject(404, {"error": f"No user with extension {ext} in your org"})
    elif _present(body, "user_id") and str(body["user_id"]) in org_users:
        user = org_users[str(body["user_id"])]
    else:
        raise Reject(400, {"error": "Missing required fields", "required_fields": ["extension"]})
    if any(m["user_id"] == user["id"] for m in members):
        raise Reject(
            409,
            {
                "error": "already_member",
                "message": f"Extension {user['extension']} is already a member",
            },
        )
    member = state._add_member(queue["id"], user["id"], penalty, state.now())
    return Reply(201, {**_member_view(state, member), "queue_id": queue["id"]})


def remove_member(ctx: Ctx) -> Reply:
    """``DELETE /queues/{queue_id}/members/{extension}`` (documented; absent from OSS)."""
    if ctx.oss:
        raise NoRoute
    state = ctx.state
    queue = _find(state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    ext = ctx.params["extension"]
    members = state.members[queue["id"]]
    kept = [m for m in members if state.users.get(m["user_id"], {}).get("extension") != ext]
    if len(kept) == len(members):
        raise Reject(404, {"error": "Member not found"})
    members[:] = kept
    return Reply(204)


def remove_member_by_user(ctx: Ctx) -> Reply:
    """``DELETE /queues/{queue_id}/members?userId=`` (the OSS server's form)."""
    state = ctx.state
    queue = _find(state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    user_id = ctx.query.get("userId")
    if not user_id:
        raise Reject(400, {"error": "userId query parameter is required"})
    members = state.members[queue["id"]]
    kept = [m for m in members if m["user_id"] != user_id]
    if len(kept) == len(members):
        raise Reject(404, {"error": "Member not found"})
    members[:] = kept
    return Reply(204)
