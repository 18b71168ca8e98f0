"""Call control: transfer, hangup, click-to-call, originate to an AI agent."""

from __future__ import annotations

from typing import Any

from ._calls import _pbx_down
from ._state import _DIGITS, TO_TYPES, Ctx, Reject, Reply, _int, _present


def _live_channel(ctx: Ctx, channel: str) -> dict[str, Any]:
    row = next(
        (c for c in ctx.state.live if c["channel_id"] == channel and c["org_id"] == ctx.org), None
    )
    if row is None:
        raise Reject(404, {"error": "Channel not found"})
    return row


def transfer(ctx: Ctx) -> Reply:
    """``POST /calls/transfer`` (docs ``call_id``/``type``; OSS ``channel_id``/``destination_type``)."""
    body = ctx.body
    channel = body.get("channel_id") if ctx.oss else body.get("call_id") or body.get("channel_id")
    if not channel or not _present(body, "destination"):
        raise Reject(
            400,
            {
                "error": "channel_id and destination required"
                if ctx.oss
                else "call_id and destination are required"
            },
        )
    kind = body.get("destination_type", "extension")
    if ctx.oss and kind not in ("extension", "queue", "external"):
        raise Reject(400, {"error": "Invalid destination_type"})
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx, "control")
    row = _live_channel(ctx, str(channel))
    row["to"] = str(body["destination"])
    return Reply(
        200,
        {
            "success": True,
            "message": "Call transferred",
            "channel_id": row["channel_id"],
            "destination": row["to"],
            "context": "internal" if kind != "external" else "outbound",
        },
    )


def hangup_channel(ctx: Ctx) -> Reply:
    """``POST /calls/hangup-channel``."""
    channel = ctx.body.get("channel_id")
    if not channel:
        raise Reject(400, {"error": "channel_id required"})
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx, "control")
    row = _live_channel(ctx, str(channel))
    ctx.state.live.remove(row)
    return Reply(200, {"success": True, "channel_id": row["channel_id"]})


def _originate_failed(ctx: Ctx, details: str) -> Reject:
    if ctx.oss:
        return Reject(500, {"error": "Failed to originate call", "details": details})
    return Reject(400, {"status": "error", "message": f"Failed to originate call: {details}"})


def click_to_call(ctx: Ctx) -> Reply:
    """``POST /calls/click-to-call``: ring ``from``, then bridge to ``to``."""
    body = ctx.body
    missing = [name for name in ("from", "to") if not _present(body, name)]
    if missing:
        if ctx.oss:
            raise Reject(400, {"error": "Missing required fields", "required": ["from", "to"]})
        raise Reject(400, {"status": "error", "message": "from and to are required"})
    to_type = body.get("to_type", "extension")
    if to_type not in TO_TYPES:
        if ctx.oss:
            raise Reject(400, {"error": "Invalid to_type", "valid_types": list(TO_TYPES)})
        raise Reject(400, {"status": "error", "message": "Invalid to_type"})
    _int(body, "timeout", low=1)
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx, "click_to_call")
    source = str(body["from"])
    if (
        _DIGITS.match(source)
        and len(source) <= 5
        and not any(
            u["org_id"] == ctx.org and u["extension"] == source for u in ctx.state.users.values()
        )
    ):
        raise _originate_failed(ctx, "extension not registered")
    channel = ctx.state.next_channel(source if len(source) <= 5 else "trunk")
    ctx.state.live.append(
        {
            "org_id": ctx.org,
            "channel_id": channel,
            "uniqueid": f"{int(ctx.state.now())}.{len(ctx.state.live)}",
            "linkedid": f"{int(ctx.state.now())}.{len(ctx.state.live)}",
            "from": source,
            "to": str(body["to"]),
            "direction": "outbound" if to_type == "external" else "internal",
            "started": ctx.state.now(),
        }
    )
    if ctx.oss:
        return Reply(
            200,
            {
                "success": True,
                "message": "Call initiated successfully",
                "call": {
                    "from": source,
                    "to": body["to"],
                    "to_type": to_type,
                    "caller_id": body.get("caller_id"),
                    "destination": body["to"],
                    "context": "internal",
                    "timeout": body.get("timeout", 30),
                    "response": "Success",
                },
            },
        )
    return Reply(200, {"status": "success", "message": "Call initiated"})


def originate_to_ai(ctx: Ctx) -> Reply:
    """``POST /calls/originate-to-ai``: dial ``to`` and hand the call to a bot."""
    body = ctx.body
    wss = body.get("wss_url")
    if not _present(body, "to") or (not ctx.oss and not wss):
        if ctx.oss:
            raise Reject(400, {"error": "Missing required field: to"})
        raise Reject(400, {"status": "error", "message": "to and wss_url are required"})
    if wss is not None and not str(wss).startswith(("wss://", "ws://")):
        raise Reject(400, {"error": "wss_url must start with wss:// or ws://"})
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx, "originate")
    to = str(body["to"])
    channel = ctx.state.next_channel(to if len(to) <= 4 else "trunk")
    if ctx.oss:
        return Reply(
            200,
            {
                "success": True,
                "message": "Call to AI agent initiated successfully",
                "call": {
                    "to": to,
                    "endpoint": f"PJSIP/{to}",
                    "caller_id": body.get("caller_id"),
                    "ai_agent_app": body.get("ai_agent_app", "ai_agent"),
                    "wss_url": wss,
                    "timeout": body.get("timeout", 30),
                    "channel": channel,
                    "response": "Success",
                },
            },
        )
    return Reply(200, {"status": "success", "message": "Call originated", "channel_id": channel})
