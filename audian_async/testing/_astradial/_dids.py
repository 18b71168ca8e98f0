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
    sql_error,
)

# -- DIDs -------------------------------------------------------------------------------------


def render_did(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """A DID as the server sends it."""
    out = {
        "id": row["id"],
        "number": row["number"],
        "routing_type": row["routing_type"],
        "routing_destination": row["routing_destination"],
        "description": row["description"],
        "status": row["status"],
    }
    if state.oss:
        out.update(
            org_id=row["org_id"],
            trunk_id=row["trunk_id"],
            recording_enabled=row["recording_enabled"],
            pool_status=row["pool_status"],
            monthly_price=row["monthly_price"],
            region=row["region"],
            provider=row["provider"],
            createdAt=state.iso(row["created"]),
            updatedAt=state.iso(row["updated"]),
        )
    return out


def list_dids(ctx: Ctx) -> Reply:
    """``GET /dids``."""
    rows = [d for d in ctx.state.dids.values() if d["org_id"] == ctx.org]
    return Reply(200, [render_did(ctx.state, d) for d in rows])


def _check_routing(ctx: Ctx, body: Mapping[str, Any]) -> None:
    columns = ["id", "number", "routing_type", "routing_destination", "status"]
    if (
        "routing_type" in body
        and body["routing_type"] is not None
        and body["routing_type"] not in DID_ROUTING_TYPES
    ):
        if ctx.oss:
            raise sql_error("Data truncated for column 'routing_type' at row 1", "dids", columns)
        raise Reject(400, {"error": "Invalid routing_type", "valid_types": list(DID_ROUTING_TYPES)})
    if body.get("routing_type") == "external":
        dest = body.get("routing_destination")
        if not isinstance(dest, str) or not _E164.match(dest):
            raise Reject(
                400, {"error": "routing_destination must be an E.164 number for external routing"}
            )


def create_did(ctx: Ctx) -> Reply:
    """``POST /dids`` (open-source server): add a number; duplicate 500/409, bad trunk 400."""
    body = ctx.body
    if not _present(body, "number"):
        raise Reject(400, {"error": "number is required"})
    number = str(body["number"])
    if any(d["number"] == number for d in ctx.state.dids.values()):
        if ctx.oss:
            raise Reject(500, {"error": "Validation error"})
        raise Reject(409, {"error": "Number already exists"})
    if body.get("trunk_id") is not None:
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
        "trunk_id": None,
        "recording_enabled": bool(body.get("recording_enabled", False)),
        "pool_status": "assigned",
        "monthly_price": "0.00",
        "region": None,
        "provider": None,
        "created": now,
        "updated": now,
    }
    ctx.state.dids[did_id] = row
    return Reply(201, render_did(ctx.state, row))


def get_did(ctx: Ctx) -> Reply:
    """``GET /dids/{did_id}`` (open-source server)."""
    return Reply(
        200,
        render_did(
            ctx.state, _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
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
        raise Reject(400, {"error": "routing_type and routing_destination are required"})
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
    columns = ["id", "number", "routing_type", "routing_destination", "status"]
    if (
        "routing_type" in body
        and body["routing_type"] is not None
        and body["routing_type"] not in DID_ROUTING_TYPES
    ):
        if ctx.oss:
            raise sql_error("Data truncated for column 'routing_type' at row 1", "dids", columns)
        raise Reject(400, {"error": "Invalid routing_type", "valid_types": list(DID_ROUTING_TYPES)})
    if "status" in body and body["status"] not in ("active", "inactive"):
        if ctx.oss:
            raise sql_error("Data truncated for column 'status' at row 1", "dids", columns)
        raise Reject(400, {"error": "Invalid status"})
    if ctx.oss and body.get("trunk_id") is not None:
        raise Reject(400, {"error": "Trunk not found"})
    if body.get("routing_type") == "external":
        dest = body.get("routing_destination")
        if not isinstance(dest, str) or not _E164.match(dest):
            raise Reject(
                400, {"error": "routing_destination must be an E.164 number for external routing"}
            )
    fields = ["routing_type", "routing_destination", "description", "status"]
    if ctx.oss:
        fields += ["recording_enabled", "trunk_id"]
    for name in fields:
        if name in body:
            row[name] = body[name]
    row["updated"] = ctx.state.now()
    return Reply(200, render_did(ctx.state, row))


def request_did(ctx: Ctx) -> Reply:
    """``POST /did-pool/{did_id}/request``: take an available pool number."""
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
