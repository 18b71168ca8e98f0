"""Call history, counts, statistics, live calls, recordings and journeys: ``/calls``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ._state import _ROLE_RANK, ANCHOR, AstradialState, Ctx, Reject, Reply

# -- calls ------------------------------------------------------------------------------------


def render_call(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """A call-history row: documented keys, or the OSS server's raw CDR columns."""
    recording = f"/api/v1/calls/{row['id']}/recording" if row["has_recording"] else None
    if state.oss:
        # Raw CDR columns plus the derived fields; empty values are "" (not null) and the
        # hangup cause is a Q.850 code as text (reference 5e).
        answered = row["disposition"] == "ANSWERED"
        return {
            "id": row["id"],
            "calldate": state.iso(row["start"]),
            "clid": f'"{row["from"]}" <{row["from"]}>',
            "src": row["from"],
            "dst": row["to"],
            "channel": row["channel"],
            "dstchannel": f"PJSIP/{row['to']}-{row['id']:08x}" if answered else "",
            "lastapp": "Dial",
            "lastdata": f"PJSIP/{row['to']}",
            "duration": row["duration"],
            "billsec": row["talk_time"],
            "disposition": row["disposition"],
            "uniqueid": row["uniqueid"],
            "linkedid": row["linkedid"],
            "recordingfile": f"{row['uniqueid']}.wav" if row["has_recording"] else "",
            "caller_id": row["from"],
            "direction": row["direction"],
            "queue_name": row["queue"] or "",
            "hangup_cause": _Q850[row["disposition"]],
            "from_number": row["from"],
            "to_number": row["to"],
            "started_at": state.iso(row["start"]),
            "ended_at": state.iso(row["end"]),
            "talk_time": row["talk_time"],
            "recording_url": recording or "",
            "answered_by": row["to"] if answered else "",
        }
    return {
        "id": str(row["id"]),
        "from_number": row["from"],
        "to_number": row["to"],
        "direction": row["direction"],
        "status": row["disposition"],
        "duration": row["duration"],
        "talk_time": row["talk_time"],
        "started_at": state.iso(row["start"]),
        "ended_at": state.iso(row["end"]),
        "recording_url": recording,
    }


#: Q.850 cause codes of the seeded dispositions, as the open-source server sends them.
_Q850 = {"ANSWERED": "16", "NO ANSWER": "19", "BUSY": "17", "FAILED": "21"}


def _filtered_calls(ctx: Ctx) -> list[dict[str, Any]]:
    q = ctx.query
    rows = [c for c in ctx.state.calls if c["org_id"] == ctx.org]
    direction = q.get("direction")
    if direction and not (ctx.oss and direction == "all"):
        rows = [c for c in rows if c["direction"] == direction]
    disposition = q.get("disposition")
    if disposition:
        wanted = disposition.upper() if ctx.oss else disposition
        rows = [c for c in rows if c["disposition"] == wanted]
    for key in ("from", "to"):
        value = q.get(key)
        if value:
            needle = re.sub(r"\D", "", value) if ctx.oss else value
            rows = [c for c in rows if needle in (re.sub(r"\D", "", c[key]) if ctx.oss else c[key])]
    for key, end in (("date_from", False), ("date_to", True)):
        value = q.get(key)
        if value:
            try:
                day = datetime.fromisoformat(value[:10]).replace(tzinfo=UTC)
            except ValueError:
                raise Reject(400, {"error": f"Invalid {key}"}) from None
            edge = (day + timedelta(days=1)).timestamp() if end else day.timestamp()
            rows = [c for c in rows if (c["start"] < edge if end else c["start"] >= edge)]
    search = q.get("search")
    if search:
        rows = [
            c for c in rows if search in c["from"] or search in c["to"] or search in str(c["id"])
        ]
    return sorted(rows, key=lambda c: c["start"], reverse=True)


def list_calls(ctx: Ctx) -> Reply:
    """``GET /calls``: newest first, ``limit``/``offset``, one of the two envelopes."""
    q = ctx.query
    default = 50 if ctx.oss else 20
    try:
        limit = int(q.get("limit", default))
        offset = int(q.get("offset", 0))
    except ValueError:
        raise Reject(400, {"error": "limit and offset must be numbers"}) from None
    if ctx.oss:
        limit = min(limit, 200)  # capped without error
    if not 1 <= limit <= 200 or offset < 0:
        raise Reject(400, {"error": "limit must be between 1 and 200 and offset at least 0"})
    rows = _filtered_calls(ctx)
    page = [render_call(ctx.state, c) for c in rows[offset : offset + limit]]
    total = len(rows)
    if ctx.oss:
        return Reply(
            200,
            {
                "data": page,
                "pagination": {
                    "total": total,
                    "limit": limit,
                    "offset": offset,
                    "has_more": offset + limit < total,
                },
            },
        )
    return Reply(
        200,
        {
            "data": page,
            "total": total,
            "page": offset // limit + 1,
            "pages": math.ceil(total / limit),
        },
    )


def call_history(ctx: Ctx) -> Reply:
    """``GET /calls/history`` (the dashboard's): ``{items, total, page, pages, hasMore}``."""
    try:
        page = int(ctx.query.get("page", 1))
        limit = min(int(ctx.query.get("limit", 20)), 200)
    except ValueError:
        raise Reject(400, {"error": "page and limit must be numbers"}) from None
    if page < 1 or limit < 1:
        raise Reject(400, {"error": "page and limit must be at least 1"})
    direction = ctx.query.get("direction")
    query = {"direction": direction} if direction else {}
    rows = _filtered_calls(Ctx(ctx.state, ctx.method, ctx.path, ctx.params, query, {}, ctx.who))
    start = (page - 1) * limit
    total = len(rows)
    return Reply(
        200,
        {
            "items": [render_call(ctx.state, c) for c in rows[start : start + limit]],
            "total": total,
            "page": page,
            "pages": math.ceil(total / limit),
            "hasMore": start + limit < total,
        },
    )


def count_calls(ctx: Ctx) -> Reply:
    """``GET /calls/count`` (the OSS server reads only ``from`` and ``to``)."""
    if ctx.oss:
        # Only `from` and `to` are read, as dates (the last one inclusive); integers, zeros
        # on an empty table.
        dates = {"date_from": ctx.query["from"]} if ctx.query.get("from") else {}
        if ctx.query.get("to"):
            dates["date_to"] = ctx.query["to"]
        ctx = Ctx(ctx.state, ctx.method, ctx.path, ctx.params, dates, ctx.body, ctx.who)
        rows = _filtered_calls(ctx)
        total_duration = sum(c["duration"] for c in rows)
        return Reply(
            200,
            {
                "total": len(rows),
                "active": len([c for c in ctx.state.live if c["org_id"] == ctx.org]),
                "completed": len([c for c in rows if c["disposition"] == "ANSWERED"]),
                "failed": len([c for c in rows if c["disposition"] != "ANSWERED"]),
                "average_duration": total_duration // len(rows) if rows else 0,
                "total_duration": total_duration,
            },
        )
    return Reply(200, {"total": len(_filtered_calls(ctx))})


def call_stats(ctx: Ctx) -> Reply:
    """``GET /calls/stats``: totals plus the last 7 days (flat in the docs, nested in OSS)."""
    rows = [c for c in ctx.state.calls if c["org_id"] == ctx.org]
    last = max((c["start"] for c in rows), default=ANCHOR.timestamp())
    last_day = datetime.fromtimestamp(last, tz=UTC).date()
    weekly = []
    for back in range(6, -1, -1):
        day = last_day - timedelta(days=back)
        today = [c for c in rows if datetime.fromtimestamp(c["start"], tz=UTC).date() == day]
        weekly.append(
            {
                "date": day.isoformat(),
                "inbound": len([c for c in today if c["direction"] == "inbound"]),
                "outbound": len([c for c in today if c["direction"] == "outbound"]),
            }
        )
    answered = [c for c in rows if c["disposition"] == "ANSWERED"]

    def total(direction: str) -> int:
        return len([c for c in rows if c["direction"] == direction])

    avg = round(sum(c["duration"] for c in rows) / len(rows), 1) if rows else 0
    totals: dict[str, Any] = {
        "total_calls": len(rows),
        "inbound": total("inbound"),
        "outbound": total("outbound"),
        "internal": total("internal"),
        "answered": len(answered),
        "missed": len(rows) - len(answered),
        "avg_duration": avg,
    }
    if ctx.oss:
        if not rows:  # SUM() over no rows: null, not 0
            totals = {k: (0 if k == "total_calls" else None) for k in totals}
        else:
            totals["avg_duration"] = f"{avg:.4f}"
        totals.pop("internal")
        return Reply(200, {"weekly": weekly, "totals": totals})
    return Reply(200, {**totals, "weekly": weekly})


def _pbx_down(ctx: Ctx) -> Reject:
    if ctx.oss:
        return Reject(
            500, {"error": "Failed to connect to Asterisk", "message": "AMI connection refused"}
        )
    return Reject(500, {"status": "error", "message": "PBX unreachable"})


def live_calls(ctx: Ctx) -> Reply:
    """``GET /calls/live``: a bare array (docs) or ``{count, calls}`` (OSS)."""
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx)
    now = ctx.state.now()
    rows = [c for c in ctx.state.live if c["org_id"] == ctx.org]
    if ctx.oss:
        calls = [
            {
                "channel_id": c["channel_id"],
                "uniqueid": c["uniqueid"],
                "linkedid": c["linkedid"],
                "from": c["from"],
                "from_name": None,
                "to": c["to"],
                "to_name": None,
                "caller_id": c["from"],
                "direction": c["direction"],
                "status": "Up",
                "context": "internal",
                "extension": c["to"],
                "priority": 1,
                "duration": int(now - c["started"]),
                "application": "Dial",
                "application_data": f"PJSIP/{c['to']}",
                "bridge_id": None,
            }
            for c in rows
        ]
        return Reply(200, {"count": len(calls), "calls": calls})
    return Reply(
        200,
        [
            {
                "channel_id": c["channel_id"],
                "from": c["from"],
                "to": c["to"],
                "direction": c["direction"],
                "status": "answered",
                "duration": int(now - c["started"]),
            }
            for c in rows
        ],
    )


def _call(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.params["call_id"]
    row = next((c for c in ctx.state.calls if str(c["id"]) == raw and c["org_id"] == ctx.org), None)
    if row is None:
        raise Reject(404, {"error": "Call not found"})
    return row


def recording(ctx: Ctx) -> Reply:
    """``GET /calls/{call_id}/recording``: the WAV (OSS: Bearer JWT only, not agents)."""
    if ctx.oss:
        if ctx.who.via != "jwt":
            raise Reject(401, {"error": "Authentication required"})
        if _ROLE_RANK.get(ctx.who.role, 0) < _ROLE_RANK["supervisor"]:
            raise Reject(
                403,
                {
                    "error": "Forbidden",
                    "message": "Insufficient role to access recordings",
                    "your_role": ctx.who.role,
                    "required_role": "manager",
                },
            )
    row = _call(ctx)
    if not row["has_recording"]:
        raise Reject(404, {"error": "Recording not found"})
    return Reply(200, content=ctx.state.recording(row["id"]), content_type="audio/wav")


def journey(ctx: Ctx) -> Reply:
    """``GET /calls/{linked_id}/journey``."""
    linked = ctx.params["linked_id"]
    row = next(
        (c for c in ctx.state.calls if c["linkedid"] == linked and c["org_id"] == ctx.org), None
    )
    if row is None:
        if ctx.oss:  # no CDR rows: an empty journey, not a 404
            return Reply(
                200,
                {
                    "linkedid": linked,
                    "caller": None,
                    "destination": None,
                    "status": "missed",
                    "total_duration": None,
                    "answered_by": None,
                    "steps": [],
                },
            )
        raise Reject(404, {"error": "Call not found"})
    answered = row["disposition"] == "ANSWERED"
    time = datetime.fromtimestamp(row["start"], tz=UTC).strftime("%H:%M:%S")
    steps: list[dict[str, Any]] = []
    target = row["to"]
    if row["queue"]:
        steps.append(
            {
                "time": time,
                "action": f"Queue {row['queue']}",
                "from": row["from"],
                "to": row["queue"],
                "duration": 5,
                "status": "entered",
            }
        )
    steps.append(
        {
            "time": time,
            "action": f"Dial {target}",
            "from": row["from"],
            "to": target,
            "duration": row["duration"],
            "status": "answered" if answered else row["disposition"].lower(),
        }
    )
    if answered:
        steps.append(
            {
                "time": time,
                "action": "Bridged",
                "from": row["from"],
                "to": target,
                "duration": row["talk_time"],
                "status": "answered",
            }
        )
    if ctx.oss:
        for step in steps:
            step.update(
                extension=step["to"],
                billsec=row["talk_time"],
                channel=row["channel"],
                recording=None,
            )
    return Reply(
        200,
        {
            "linkedid": linked,
            "caller": row["from"],
            "destination": row["queue"] or target,
            "status": "answered" if answered else "missed",
            "total_duration": row["duration"],
            "answered_by": target if answered else None,
            "steps": steps,
        },
    )
