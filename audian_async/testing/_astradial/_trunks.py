"""Open-source server routes of the trunks: ``/trunks`` and ``/outbound-routes``.

Shapes and messages follow the server's handlers (``src/server.js``) and its Sequelize models
(``SipTrunk``, ``OutboundRoute``), checked against recorded exchanges
(``tests/simulator/recordings/astradial_oss``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._state import AstradialState, Ctx, Reject, Reply, _find, sql_error, sql_update_error

# -- trunks ------------------------------------------------------------------------------------

TRUNK_TYPES = ("inbound", "outbound", "peer2peer")
TRANSPORTS = ("udp", "tcp", "tls")
TRUNK_STATUSES = ("active", "inactive", "maintenance")
_TRUNK_UPDATABLE = (
    "name",
    "host",
    "port",
    "username",
    "password",
    "transport",
    "status",
    "max_channels",
    "trunk_type",
    "retry_interval",
    "expiration",
    "contact_user",
)
_TYPE_HELP = {
    "inbound": "Remote provider registers TO our server (they register to us)",
    "outbound": "We register TO remote provider (we initiate registration)",
    "peer2peer": "No registration - SIP OPTIONS keepalive only",
}
#: The columns of the server's trunk INSERT, in the model's order (unset credentials are left
#: out); its error quotes them.
_TRUNK_INSERT = [
    "id",
    "org_id",
    "name",
    "host",
    "username",
    "password",
    "port",
    "transport",
    "trunk_type",
    "retry_interval",
    "expiration",
    "contact_user",
    "max_channels",
    "status",
    "asterisk_peer_name",
    "registration_status",
    "configuration",
    "created_at",
    "updated_at",
]
#: ``settings.max_trunks`` of a new organisation.
MAX_TRUNKS = 5


def render_trunk(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False
) -> dict[str, Any]:
    """A trunk as Sequelize sends it (a create answer lacks ``last_registration``)."""
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "name": row["name"],
        "host": row["host"],
        "username": row["username"],
        "password": row["password"],
        "port": row["port"],
        "transport": row["transport"],
        "trunk_type": row["trunk_type"],
        "retry_interval": row["retry_interval"],
        "expiration": row["expiration"],
        "contact_user": row["contact_user"],
        "max_channels": row["max_channels"],
        "status": row["status"],
        "asterisk_peer_name": row["asterisk_peer_name"],
        "last_registration": None,
        "registration_status": "unknown",
        "configuration": {},
        "createdAt": state.iso(row["created"]),
        "updatedAt": state.iso(row["updated"]),
    }
    if created:
        del out["last_registration"]
    return out


def trunk_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """The trunk columns an outbound-route listing includes."""
    return {
        "id": row["id"],
        "name": row["name"],
        "asterisk_peer_name": row["asterisk_peer_name"],
        "host": row["host"],
        "status": row["status"],
    }


def _range_problem(name: str, value: Any, low: int, high: int) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < low:
            return f"Validation min on {name} failed"
        if value > high:
            return f"Validation max on {name} failed"
    return None


def _check_trunk_columns(ctx: Ctx, row_id: str | None, changes: Mapping[str, Any]) -> None:
    """The model's validators (500 ``Validation error``) and enum columns (500 SQL text)."""
    problems = []
    name = changes.get("name")
    if name is not None and not 2 <= len(str(name)) <= 255:
        problems.append("Validation len on name failed")
    for column, low, high in (("port", 1, 65535), ("max_channels", 1, 1000)):
        problem = _range_problem(column, changes.get(column), low, high)
        if problem:
            problems.append(problem)
    if problems:
        raise Reject(500, {"error": "Validation error: " + ",\nValidation error: ".join(problems)})
    if name is not None and any(
        t["org_id"] == ctx.org and t["name"] == name and t["id"] != row_id
        for t in ctx.state.trunks.values()
    ):
        raise Reject(500, {"error": "Validation error"})  # the (org_id, name) unique index
    for column, allowed in (("transport", TRANSPORTS), ("status", TRUNK_STATUSES)):
        value = changes.get(column)
        if value is not None and value not in allowed and row_id is not None:
            raise sql_update_error(
                ctx.state,
                f"Data truncated for column '{column}' at row 1",
                "sip_trunks",
                changes,
                row_id,
            )
        if value is not None and value not in allowed:
            columns = [
                c for c in _TRUNK_INSERT if c not in ("username", "password") or changes.get(c)
            ]
            raise sql_error(f"Data truncated for column '{column}' at row 1", "sip_trunks", columns)


def list_trunks(ctx: Ctx) -> Reply:
    """``GET /trunks``."""
    rows = [t for t in ctx.state.trunks.values() if t["org_id"] == ctx.org]
    return Reply(200, [render_trunk(ctx.state, t) for t in rows])


def create_trunk(ctx: Ctx) -> Reply:
    """``POST /trunks``: the server's checks in its order, then the model's."""
    body = ctx.body
    trunk_type = body.get("trunk_type") or "outbound"
    if not body.get("name"):
        raise Reject(400, {"error": "Name is required"})
    if trunk_type != "inbound" and not body.get("host"):
        raise Reject(
            400,
            {
                "error": "Host is required for outbound and peer2peer trunk types",
                "note": "Inbound trunks do not require host - remote provider registers "
                "dynamically",
            },
        )
    if trunk_type not in TRUNK_TYPES:
        raise Reject(
            400,
            {
                "error": "Invalid trunk_type",
                "valid_types": list(TRUNK_TYPES),
                "description": dict(_TYPE_HELP),
            },
        )
    credentials = body.get("username") and body.get("password")
    if trunk_type == "inbound" and not credentials:
        raise Reject(
            400,
            {
                "error": "Username and password are required for inbound trunks (for "
                "authenticating the remote provider)"
            },
        )
    if trunk_type == "outbound" and not credentials:
        raise Reject(
            400, {"error": "Username and password are required for outbound registration trunks"}
        )
    count = sum(1 for t in ctx.state.trunks.values() if t["org_id"] == ctx.org)
    if count >= MAX_TRUNKS:
        raise Reject(403, {"error": "Trunk limit reached", "current": count, "limit": MAX_TRUNKS})
    outbound = trunk_type == "outbound"
    inbound = trunk_type == "inbound"
    row = {
        "org_id": ctx.org,
        "name": body["name"],
        "host": None if inbound else body.get("host"),
        "port": None if inbound else body.get("port", 5060),
        "username": body.get("username"),
        "password": body.get("password"),
        "transport": body.get("transport", "udp"),
        "trunk_type": trunk_type,
        "retry_interval": body.get("retry_interval", 60) if outbound else None,
        "expiration": body.get("expiration", 3600) if outbound else None,
        "contact_user": (body.get("contact_user") or body.get("username")) if outbound else None,
        "max_channels": 10,
        "status": "active",
    }
    _check_trunk_columns(ctx, None, row)
    now = ctx.state.now()
    millis = int(now * 1000)
    row.update(
        id=ctx.state.new_id(),
        asterisk_peer_name=f"{ctx.state.context_prefix(ctx.org)}trunk{millis}",
        created=now,
        updated=now,
    )
    ctx.state.trunks[row["id"]] = row
    out = render_trunk(ctx.state, row, created=True)
    for name in ("username", "password"):  # left undefined by the handler: not in the answer
        if name not in body:
            del out[name]
    return Reply(201, out)


def get_trunk(ctx: Ctx) -> Reply:
    """``GET /trunks/{trunk_id}``."""
    row = _find(ctx.state.trunks, ctx.params["trunk_id"], ctx.org, "Trunk not found")
    return Reply(200, render_trunk(ctx.state, row))


def update_trunk(ctx: Ctx) -> Reply:
    """``PUT /trunks/{trunk_id}``: the allowed fields that were sent."""
    row = _find(ctx.state.trunks, ctx.params["trunk_id"], ctx.org, "Trunk not found")
    changes = {k: ctx.body[k] for k in _TRUNK_UPDATABLE if k in ctx.body}
    if changes.get("trunk_type") and changes["trunk_type"] not in TRUNK_TYPES:
        raise Reject(400, {"error": "Invalid trunk_type", "valid_types": list(TRUNK_TYPES)})
    _check_trunk_columns(ctx, row["id"], changes)
    row.update(changes, updated=ctx.state.now())
    return Reply(200, render_trunk(ctx.state, row))


def delete_trunk(ctx: Ctx) -> Reply:
    """``DELETE /trunks/{trunk_id}``: 204 (routes through it stay, as on the server)."""
    row = _find(ctx.state.trunks, ctx.params["trunk_id"], ctx.org, "Trunk not found")
    del ctx.state.trunks[row["id"]]
    return Reply(204)


# -- outbound routes -----------------------------------------------------------------------------

_ROUTE_FIELDS = (
    "name",
    "description",
    "trunk_id",
    "dial_pattern",
    "dial_prefix",
    "strip_digits",
    "prepend_digits",
    "caller_id_override",
    "caller_id_name_override",
    "recording_enabled",
    "max_channels",
    "route_type",
    "priority",
    "time_conditions",
    "user_permissions",
    "status",
)
ROUTE_TYPES = ("emergency", "local", "long_distance", "international", "toll_free", "custom")
_NO_TRUNK = {"error": "SIP trunk not found or does not belong to organization"}


def render_route(
    state: AstradialState, row: Mapping[str, Any], *, summary: bool = False
) -> dict[str, Any]:
    """A route with its trunk: a summary in listings, the whole trunk otherwise."""
    out = {name: row[name] for name in ("id", "org_id", *_ROUTE_FIELDS)}
    out["createdAt"] = state.iso(row["created"])
    out["updatedAt"] = state.iso(row["updated"])
    trunk = state.trunks.get(str(row["trunk_id"]))
    if trunk is None:
        out["trunk"] = None
    else:
        out["trunk"] = trunk_summary(trunk) if summary else render_trunk(state, trunk)
    return out


def _own_trunk(ctx: Ctx, trunk_id: Any) -> None:
    if trunk_id is None:  # Sequelize refuses the lookup itself
        raise Reject(500, {"error": 'WHERE parameter "id" has invalid "undefined" value'})
    trunk = ctx.state.trunks.get(str(trunk_id))
    if trunk is None or trunk["org_id"] != ctx.org:
        raise Reject(404, dict(_NO_TRUNK))


def _check_route(ctx: Ctx, row: Mapping[str, Any]) -> None:
    for column in ("name", "dial_pattern"):
        if row.get(column) is None:
            raise Reject(
                500, {"error": f"notNull Violation: OutboundRoute.{column} cannot be null"}
            )
    if row.get("route_type") not in ROUTE_TYPES:
        raise Reject(500, {"error": "Data truncated for column 'route_type' at row 1"})
    if row.get("status") not in ("active", "inactive"):
        raise Reject(500, {"error": "Data truncated for column 'status' at row 1"})


def list_routes(ctx: Ctx) -> Reply:
    """``GET /outbound-routes``: by priority."""
    rows = [r for r in ctx.state.routes.values() if r["org_id"] == ctx.org]
    rows.sort(key=lambda r: r["priority"])
    return Reply(200, [render_route(ctx.state, r, summary=True) for r in rows])


def create_route(ctx: Ctx) -> Reply:
    """``POST /outbound-routes``: the trunk must be the organisation's."""
    body = ctx.body
    _own_trunk(ctx, body.get("trunk_id"))
    row: dict[str, Any] = {name: body.get(name) for name in _ROUTE_FIELDS}
    row.update(
        strip_digits=body.get("strip_digits") or 0,
        recording_enabled=body.get("recording_enabled") or False,
        route_type=body.get("route_type") or "custom",
        priority=body.get("priority") or 10,
        status="active",
    )
    _check_route(ctx, row)
    now = ctx.state.now()
    row.update(id=ctx.state.new_id(), org_id=ctx.org, created=now, updated=now)
    ctx.state.routes[row["id"]] = row
    return Reply(201, render_route(ctx.state, row))


def get_route(ctx: Ctx) -> Reply:
    """``GET /outbound-routes/{route_id}``."""
    row = _find(ctx.state.routes, ctx.params["route_id"], ctx.org, "Outbound route not found")
    return Reply(200, render_route(ctx.state, row))


def update_route(ctx: Ctx) -> Reply:
    """``PUT /outbound-routes/{route_id}``: every field that was sent."""
    row = _find(ctx.state.routes, ctx.params["route_id"], ctx.org, "Outbound route not found")
    body = ctx.body
    if body.get("trunk_id") and body["trunk_id"] != row["trunk_id"]:
        _own_trunk(ctx, body["trunk_id"])
    changed = {**row, **{k: body[k] for k in _ROUTE_FIELDS if k in body}}
    _check_route(ctx, changed)
    row.update(changed, updated=ctx.state.now())
    return Reply(200, render_route(ctx.state, row))


def delete_route(ctx: Ctx) -> Reply:
    """``DELETE /outbound-routes/{route_id}``: 204."""
    row = _find(ctx.state.routes, ctx.params["route_id"], ctx.org, "Outbound route not found")
    del ctx.state.routes[row["id"]]
    return Reply(204)
