"""Phone numbers: ``/dids`` and the DID pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._state import (
    _E164,
    DID_ROUTING_TYPES,
    AstradialState,
    Ctx,
    NoRoute,
    Reject,
    Reply,
    _find,
    _present,
    sql_update_error,
)

# -- DIDs -------------------------------------------------------------------------------------


def render_did(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False, trunk: bool = False
) -> dict[str, Any]:
    """A DID as the server sends it (the open-source server: every column; ``trunk`` adds the
    ``{name, host}`` of its trunk, as listings and ``get`` include it)."""
    if state.oss:
        return _oss_did(state, row, created=created, trunk=trunk)
    out = {
        "id": row["id"],
        "number": row["number"],
        "routing_type": row["routing_type"],
        "routing_destination": row["routing_destination"],
        "description": row["description"],
        "status": row["status"],
    }
    return out


#: Columns a create answer leaves out (Sequelize returns what the INSERT set or defaulted).
_NOT_IN_CREATE_ANSWER = (
    "description",
    "routing_type",
    "routing_destination",
    "requested_by_org",
    "requested_at",
    "monthly_price",
    "region",
    "provider",
    "asterisk_extension",
    "routing_rule_id",
)


def _oss_did(
    state: AstradialState, row: Mapping[str, Any], *, created: bool, trunk: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["id"],
        "org_id": row["org_id"],
        "trunk_id": row["trunk_id"],
        "number": row["number"],
        "description": row["description"],
        "routing_type": row["routing_type"],
        "routing_destination": row["routing_destination"],
        "recording_enabled": row["recording_enabled"],
        "status": row["status"],
        "pool_status": row["pool_status"],
        "requested_by_org": row.get("requested_by_org"),
        "requested_at": state.iso(row["requested_at"]) if row.get("requested_at") else None,
        "monthly_price": row["monthly_price"],
        "region": row["region"],
        "provider": row["provider"],
        "asterisk_extension": None,
        "call_limit": 0,
        "createdAt": state.iso(row["created"]),
        "updatedAt": state.iso(row["updated"]),
        "routing_rule_id": None,
    }
    if created:
        for name in _NOT_IN_CREATE_ANSWER:
            if out[name] is None:
                del out[name]
    if trunk:
        found = state.trunks.get(str(row["trunk_id"]))
        out["trunk"] = {"name": found["name"], "host": found["host"]} if found else None
    return out


def list_dids(ctx: Ctx) -> Reply:
    """``GET /dids``."""
    rows = [d for d in ctx.state.dids.values() if d["org_id"] == ctx.org]
    return Reply(200, [render_did(ctx.state, d, trunk=True) for d in rows])


def _own_trunk(ctx: Ctx, trunk_id: Any) -> None:
    """The open-source server's trunk check (400 ``Invalid trunk``)."""
    trunk = ctx.state.trunks.get(str(trunk_id))
    if trunk is None or trunk["org_id"] != ctx.org:
        raise Reject(400, {"error": "Invalid trunk"})


def _check_routing(ctx: Ctx, body: Mapping[str, Any]) -> None:
    if (
        not ctx.oss  # the open-source server's routing_type is a free string: stored as sent
        and "routing_type" in body
        and body["routing_type"] is not None
        and body["routing_type"] not in DID_ROUTING_TYPES
    ):
        raise Reject(400, {"error": "Invalid routing_type", "valid_types": list(DID_ROUTING_TYPES)})
    if not ctx.oss and body.get("routing_type") == "external":
        dest = body.get("routing_destination")
        if not isinstance(dest, str) or not _E164.match(dest):
            raise Reject(
                400, {"error": "routing_destination must be an E.164 number for external routing"}
            )


def create_did(ctx: Ctx) -> Reply:
    """``POST /dids`` (open-source server): add a number; duplicate 500/409, bad trunk 400."""
    body = ctx.body
    if not _present(body, "number"):
        raise Reject(400, {"error": "Number is required" if ctx.oss else "number is required"})
    number = str(body["number"])
    if ctx.oss:
        count = sum(1 for d in ctx.state.dids.values() if d["org_id"] == ctx.org)
        if count >= MAX_DIDS:
            raise Reject(403, {"error": "DID limit reached", "current": count, "limit": MAX_DIDS})
        if body.get("trunk_id"):
            _own_trunk(ctx, body["trunk_id"])
    if any(d["number"] == number for d in ctx.state.dids.values()):
        if ctx.oss:
            raise Reject(500, {"error": "Validation error"})
        raise Reject(409, {"error": "Number already exists"})
    if not ctx.oss and body.get("trunk_id") is not None:
        raise Reject(400, {"error": "Trunk not found"})
    _check_routing(ctx, body)
    now = ctx.state.now()
    did_id = ctx.state.new_id()
    row = {
        "id": did_id,
        "org_id": ctx.org,
        "number": number,
        "routing_type": body.get("routing_type"),
        "routing_destination": body.get("routing_destination"),
        "description": body.get("description"),
        "status": "active",
        "trunk_id": (body.get("trunk_id") or None) if ctx.oss else None,
        "recording_enabled": bool(body.get("recording_enabled", False)),
        "pool_status": "assigned",
        "monthly_price": None if ctx.oss else "0.00",
        "region": None,
        "provider": None,
        "created": now,
        "updated": now,
    }
    ctx.state.dids[did_id] = row
    return Reply(201, render_did(ctx.state, row, created=True))


def get_did(ctx: Ctx) -> Reply:
    """``GET /dids/{did_id}`` (open-source server)."""
    return Reply(
        200,
        render_did(
            ctx.state,
            _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found"),
            trunk=True,
        ),
    )


def delete_did(ctx: Ctx) -> Reply:
    """``DELETE /dids/{did_id}`` (open-source server): 204."""
    row = _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
    del ctx.state.dids[row["id"]]
    return Reply(204)


def set_did_routing(ctx: Ctx) -> Reply:
    """``PUT /dids/{did_id}/routing`` (open-source server): both fields required, else 400."""
    row = _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
    body = ctx.body
    if not _present(body, "routing_type") or not _present(body, "routing_destination"):
        raise Reject(400, {"error": "Routing type and destination required"})
    _check_routing(ctx, body)
    row.update(
        routing_type=body["routing_type"],
        routing_destination=body["routing_destination"],
        updated=ctx.state.now(),
    )
    return Reply(200, render_did(ctx.state, row))


def update_did(ctx: Ctx) -> Reply:
    """``PUT /dids/{did_id}``: routing (and description/status; OSS also recording, trunk)."""
    row = _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
    body = ctx.body
    _check_routing(ctx, body)
    if ctx.oss and body.get("trunk_id"):
        _own_trunk(ctx, body["trunk_id"])
    if "status" in body and body["status"] not in ("active", "inactive", "pending"):
        if ctx.oss:
            changes = {k: body[k] for k in _DID_UPDATABLE if k in body}
            raise sql_update_error(
                ctx.state,
                "Data truncated for column 'status' at row 1",
                "did_numbers",
                changes,
                row["id"],
            )
        raise Reject(400, {"error": "Invalid status"})
    if not ctx.oss and body.get("routing_type") == "external":
        dest = body.get("routing_destination")
        if not isinstance(dest, str) or not _E164.match(dest):
            raise Reject(
                400, {"error": "routing_destination must be an E.164 number for external routing"}
            )
    fields = ["routing_type", "routing_destination", "description", "status"]
    if ctx.oss:
        fields = [*_DID_UPDATABLE, "trunk_id"]
    for name in fields:
        if name in body and (name != "trunk_id" or body[name]):
            row[name] = body[name]
    row["updated"] = ctx.state.now()
    return Reply(200, render_did(ctx.state, row))


def request_did(ctx: Ctx) -> Reply:
    """``POST /did-pool/{did_id}/request``: take an available pool number (the open-source
    server: ask for it; it stays pending until an administrator approves)."""
    if ctx.oss:
        return _oss_request(ctx)
    row = ctx.state.dids.get(ctx.params["did_id"])
    if row is None or (row["org_id"] not in (None, ctx.org)):
        raise Reject(404, {"error": "DID not found in pool"})
    if row["org_id"] is not None or row["pool_status"] != "available":
        raise Reject(409, {"error": "DID is not available"})
    row.update(org_id=ctx.org, pool_status="assigned", status="active", updated=ctx.state.now())
    return Reply(
        200,
        {
            "success": True,
            "message": f"DID {row['number']} assigned to your organization",
            "did": render_did(ctx.state, row),
        },
    )


def release_did(ctx: Ctx) -> Reply:
    """``POST /did-pool/{did_id}/release``: give a number back to the pool.

    The open-source server has no such route (only ``/did-pool/admin/{id}/release``).
    """
    if ctx.oss:
        raise NoRoute
    row = _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
    row.update(
        org_id=None,
        pool_status="available",
        status="inactive",
        routing_type=None,
        routing_destination=None,
        updated=ctx.state.now(),
    )
    return Reply(200, {"success": True, "message": f"DID {row['number']} released to the pool"})


# -- the open-source server's DID pool (src/routes/didPool.js) -----------------------------------

#: ``settings.max_dids`` of a new organisation.
MAX_DIDS = 10
_DID_UPDATABLE = (
    "description",
    "routing_type",
    "routing_destination",
    "recording_enabled",
    "status",
)
_POOL_STEPS = {
    "available": ("pending", "assigned", "reserved"),
    "pending": ("available", "assigned"),
    "assigned": ("available",),
    "reserved": ("available", "assigned"),
}


def _pool_number(
    state: AstradialState, row: Mapping[str, Any], *, pending: bool = False
) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "number": row["number"],
        "description": row["description"],
        "region": row["region"],
        "provider": row["provider"],
        "monthly_price": row["monthly_price"],
    }
    if pending:
        out["requested_at"] = state.iso(row["requested_at"]) if row.get("requested_at") else None
    return out


def _price(row: Mapping[str, Any]) -> float:
    value = row["monthly_price"]
    return float(value) if value is not None else 0.0


def list_available(ctx: Ctx) -> Reply:
    """``GET /did-pool/available``: cheapest first, then by number."""
    rows = [
        d
        for d in ctx.state.dids.values()
        if d["pool_status"] == "available" and (d["status"] == "active" or not ctx.oss)
    ]
    rows.sort(key=lambda d: (_price(d), d["number"]))
    return Reply(200, [_pool_number(ctx.state, d) for d in rows])


def my_pool_numbers(ctx: Ctx) -> Reply:
    """``GET /did-pool/my``: assigned numbers (with their trunk) and pending requests."""
    dids = ctx.state.dids.values()
    assigned = sorted(
        (d for d in dids if d["org_id"] == ctx.org and d["pool_status"] == "assigned"),
        key=lambda d: d["number"],
    )
    pending = sorted(
        (d for d in dids if d.get("requested_by_org") == ctx.org and d["pool_status"] == "pending"),
        key=lambda d: d.get("requested_at") or 0,
        reverse=True,
    )
    out = []
    for d in assigned:
        did = _oss_did(ctx.state, d, created=False, trunk=False)
        trunk = ctx.state.trunks.get(str(d["trunk_id"]))
        did["trunk"] = {"id": trunk["id"], "name": trunk["name"]} if trunk else None
        out.append(did)
    return Reply(
        200,
        {"assigned": out, "pending": [_pool_number(ctx.state, d, pending=True) for d in pending]},
    )


def _oss_request(ctx: Ctx) -> Reply:
    row = ctx.state.dids.get(ctx.params["did_id"])
    if row is None:
        raise Reject(404, {"error": "DID not found"})
    if "pending" not in _POOL_STEPS.get(row["pool_status"], ()):
        raise Reject(
            409, {"error": f"This number is {row['pool_status']} and cannot be requested."}
        )
    now = ctx.state.now()
    row.update(pool_status="pending", requested_by_org=ctx.org, requested_at=now, updated=now)
    return Reply(
        200,
        {
            "message": "Number requested, awaiting admin approval",
            "did": _oss_did(ctx.state, row, created=False, trunk=False),
        },
    )


def cancel_pool_request(ctx: Ctx) -> Reply:
    """``POST /did-pool/{did_id}/cancel-request``: back to available."""
    row = ctx.state.dids.get(ctx.params["did_id"])
    if row is None:
        raise Reject(404, {"error": "DID not found"})
    if row["pool_status"] != "pending" or row.get("requested_by_org") != ctx.org:
        raise Reject(403, {"error": "Cannot cancel this request"})
    row.update(
        pool_status="available", requested_by_org=None, requested_at=None, updated=ctx.state.now()
    )
    return Reply(200, {"message": "Request cancelled"})
