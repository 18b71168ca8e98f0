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
    """A call-history row: documented keys, or the OSS server's CDR columns and derived fields
    (the SELECT of its ``GET /calls``)."""
    recording = f"/api/v1/calls/{row['id']}/recording" if row["has_recording"] else None
    if state.oss:
        return _oss_call(state, row)
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


#: Hangup causes (``userfield``'s first part) as the server's CASE names them.
_CAUSES = {
    "0": "Not Set",
    "1": "Unallocated Number",
    "16": "Normal Clearing",
    "17": "User Busy",
    "18": "No User Responding",
    "19": "No Answer",
    "21": "Call Rejected",
    "27": "Destination Out of Order",
    "31": "Normal Unspecified",
    "34": "No Circuit Available",
    "38": "Network Out of Order",
    "127": "Interworking",
}


def cdr(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """The seeded call as its ``asterisk_cdr`` row."""
    prefix = state.context_prefix(row["org_id"])
    answered = row["disposition"] == "ANSWERED"
    context = {"inbound": "incoming", "outbound": "outbound", "internal": "internal"}
    return {
        "id": row["id"],
        "calldate": state.iso(row["start"]),
        "clid": f'"{row["from"]}" <{row["from"]}>',
        "src": row["from"],
        "dst": row["to"],
        "dcontext": prefix + context[row["direction"]],
        "channel": row["channel"],
        "dstchannel": f"PJSIP/{row['to']}-{row['id']:08x}" if answered else "",
        "lastapp": "Dial",
        "lastdata": f"PJSIP/{row['to']}",
        "duration": row["duration"],
        "billsec": row["talk_time"],
        "disposition": row["disposition"],
        "amaflags": 3,
        "accountcode": row["org_id"],
        "uniqueid": row["uniqueid"],
        "linkedid": row["linkedid"],
        "userfield": f"{_Q850[row['disposition']]}|caller",
        "recordingfile": f"{row['uniqueid']}.wav" if row["has_recording"] else "",
        "peeraccount": "",
        "sequence": 0,
    }


def _oss_call(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    raw = cdr(state, row)
    cause, _, source = raw["userfield"].partition("|")
    dst = raw["dstchannel"]
    endpoint = dst.split("/")[-1].split("-")[0].split("_")[-1] if dst.startswith("PJSIP/") else None
    answered = raw["disposition"] == "ANSWERED"
    return {
        **raw,
        "hangup_reason": _CAUSES.get(cause, f"Cause {cause}"),
        "queue_name": row["queue"],
        "queue_wait_time": None,
        "answered_agent": None,
        "started_at": raw["calldate"],
        "ended_at": state.iso(row["end"]),
        "from_number": raw["src"],
        "caller_id": raw["clid"],
        "to_number": raw["dst"],
        "talk_time": raw["billsec"],
        "wait_time": raw["duration"] - raw["billsec"],
        "direction": row["direction"],
        "rang_extension": endpoint,
        "answered_by": endpoint if answered else None,
        "answered_type": ("human" if dst.startswith("PJSIP/") else "prompt") if answered else None,
        "queue_name_display": row["queue"],
        "hangup_cause": cause,
        "hangup_source": source or None,
        "disconnected_by": "system",
        "recording_url": (
            f"/api/v1/calls/{row['id']}/recording"
            if raw["recordingfile"] and raw["billsec"] > 0
            else None
        ),
    }


def history_item(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``GET /calls/history`` item: the server maps the CDR columns to these names."""
    raw = cdr(state, row)
    return {
        "id": raw["id"],
        "started_at": raw["calldate"],
        "ended_at": state.iso(row["end"]),
        "from_number": raw["src"],
        "to_number": raw["dst"],
        "duration": raw["duration"],
        "talk_time": raw["billsec"],
        "status": raw["disposition"],
        "org_id": raw["accountcode"],
        "channel_id": raw["channel"],
        "call_id": raw["uniqueid"],
        "linkedid": raw["linkedid"],
        "recording_file": raw["recordingfile"],
        "direction": row["direction"],
        "recording_url": (
            f"/api/v1/calls/{row['id']}/recording"
            if raw["recordingfile"] and raw["billsec"] > 0
            else None
        ),
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
            "items": [
                history_item(ctx.state, c) if ctx.oss else render_call(ctx.state, c)
                for c in rows[start : start + limit]
            ],
            "total": total,
            "page": page,
            "pages": math.ceil(total / limit),
            "hasMore": start + limit < total,
        },
    )


def count_calls(ctx: Ctx) -> Reply:
    """``GET /calls/count`` (the OSS server reads only ``from`` and ``to``)."""
    if ctx.oss:
        # The server counts its own call_records table (its model), not asterisk_cdr, which
        # the listings read: on a server the phone system fills, it stays empty. `status`,
        # `from` and `to` (dates, compared with started_at) are read; `active` counts the
        # server's in-memory calls (only its test-event route adds any).
        rows = [r for r in ctx.state.call_records if r["org_id"] == ctx.org]
        if ctx.query.get("status"):
            rows = [r for r in rows if r["status"] == ctx.query["status"]]
        for key, sign in (("from", 1), ("to", -1)):
            if ctx.query.get(key):
                try:
                    edge = datetime.fromisoformat(ctx.query[key]).replace(tzinfo=UTC).timestamp()
                except ValueError:
                    rows = []  # new Date("...") is invalid: nothing compares
                    continue
                rows = [r for r in rows if sign * (r["started"] - edge) >= 0]
        total_duration = sum(r.get("duration") or 0 for r in rows)
        return Reply(
            200,
            {
                "total": len(rows),
                "active": 0,
                "completed": len([r for r in rows if r["status"] == "completed"]),
                "failed": len([r for r in rows if r["status"] == "failed"]),
                "average_duration": round(total_duration / len(rows)) if rows else 0,
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
        return Reply(200, _oss_stats(ctx, rows))
    return Reply(200, {**totals, "weekly": weekly})


def _oss_stats(ctx: Ctx, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The server's two queries: the last 7 days by day (days with calls only), all-time totals
    (SUMs are null over no rows; ``missed`` is ``NO ANSWER`` only; the average talk time of
    the answered, rounded)."""
    today = datetime.fromtimestamp(ctx.state.now(), tz=UTC).date()
    days: dict[str, dict[str, Any]] = {}
    for c in sorted(rows, key=lambda c: c["start"]):
        day = datetime.fromtimestamp(c["start"], tz=UTC).date()
        if day >= today - timedelta(days=7):
            entry = days.setdefault(
                day.isoformat(), {"date": day.isoformat(), "inbound": 0, "outbound": 0}
            )
            if c["direction"] in ("inbound", "outbound"):
                entry[c["direction"]] += 1
    talked = [c["talk_time"] for c in rows if c["talk_time"] > 0]
    if not rows:
        totals: dict[str, Any] = {
            "total_calls": 0,
            "inbound": None,
            "outbound": None,
            "answered": None,
            "missed": None,
            "avg_duration": None,
        }
    else:
        totals = {
            "total_calls": len(rows),
            "inbound": len([c for c in rows if c["direction"] == "inbound"]),
            "outbound": len([c for c in rows if c["direction"] == "outbound"]),
            "answered": len([c for c in rows if c["disposition"] == "ANSWERED" and c["talk_time"]]),
            "missed": len([c for c in rows if c["disposition"] == "NO ANSWER"]),
            "avg_duration": round(sum(talked) / len(talked)) if talked else None,
        }
    return {"weekly": list(days.values()), "totals": totals}


#: The refused manager connection, as Node words it (AMI's default port).
REFUSED = "connect ECONNREFUSED 127.0.0.1:5038"
#: What each call-control route of the open-source server answers without its phone system.
_DOWN = {
    "live": {"error": "Failed to fetch live calls from Asterisk", "message": REFUSED},
    "click_to_call": {"error": "Failed to initiate call via AMI", "details": REFUSED},
    "originate": {"error": "Failed to initiate AI agent call", "details": REFUSED},
    "control": {"error": REFUSED},  # transfer, hangup: the bare error message
}


def _pbx_down(ctx: Ctx, action: str = "live") -> Reject:
    if ctx.oss:
        return Reject(500, dict(_DOWN[action]))
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
