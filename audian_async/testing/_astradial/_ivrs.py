"""IVRs (the documented cloud API; the open-source server has none): ``/ivrs``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._queues import _number_taken
from ._state import (
    _DIGITS,
    MENU_ACTIONS,
    AstradialState,
    Ctx,
    NoRoute,
    Reject,
    Reply,
    _find,
    _int,
    _present,
    wav_bytes,
)

# -- IVRs (documented cloud API; absent from the OSS server) ----------------------------------


def render_ivr(
    state: AstradialState, row: Mapping[str, Any], *, menu: bool = False
) -> dict[str, Any]:
    """An IVR as the server sends it (camelCase timestamps, as documented)."""
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "name": row["name"],
        "extension": row["extension"],
        "description": row["description"],
        "greeting_prompt": row["greeting_prompt"],
        "greeting_text": row["greeting_text"],
        "greeting_language": row["greeting_language"],
        "greeting_voice": row["greeting_voice"],
        "timeout": row["timeout"],
        "max_retries": row["max_retries"],
        "enable_direct_dial": row["enable_direct_dial"],
        "status": row["status"],
        "createdAt": state.iso(row["created"]),
        "updatedAt": state.iso(row["updated"]),
    }
    if menu:
        out["menuOptions"] = [dict(o) for o in state.menus.get(row["id"], [])]
    return out


def _ivr(ctx: Ctx) -> dict[str, Any]:
    if ctx.oss:
        raise NoRoute
    return _find(
        ctx.state.ivrs, ctx.params["ivr_id"], ctx.org, "IVR not found (or not in your org)"
    )


def _apply_ivr(ctx: Ctx, row: dict[str, Any], body: Mapping[str, Any]) -> None:
    if "extension" in body:
        ext = body["extension"]
        if not isinstance(ext, str | int) or not _DIGITS.match(str(ext)):
            raise Reject(400, {"error": "extension must contain digits only"})
        ext = str(ext)
        taken = _number_taken(ctx.state, ctx.org, ext, ivr_id=row.get("id")) or any(
            u["org_id"] == ctx.org and u["extension"] == ext for u in ctx.state.users.values()
        )
        if taken:
            raise Reject(409, {"error": f"Extension {ext} is already in use"})
        row["extension"] = ext
    if "name" in body:
        if not _present(body, "name"):
            raise Reject(400, {"error": "name must not be empty"})
        row["name"] = body["name"]
    timeout = _int(body, "timeout", low=0)
    if timeout is not None:
        row["timeout"] = timeout
    retries = _int(body, "max_retries", low=0)
    if retries is not None:
        row["max_retries"] = retries
    if "enable_direct_dial" in body:
        if not isinstance(body["enable_direct_dial"], bool):
            raise Reject(400, {"error": "enable_direct_dial must be a boolean"})
        row["enable_direct_dial"] = body["enable_direct_dial"]
    for name in ("description", "greeting_language", "greeting_voice"):
        if name in body:
            row[name] = body[name]


def list_ivrs(ctx: Ctx) -> Reply:
    """``GET /ivrs``."""
    if ctx.oss:
        raise NoRoute
    rows = [i for i in ctx.state.ivrs.values() if i["org_id"] == ctx.org]
    return Reply(200, [render_ivr(ctx.state, i) for i in rows])


def create_ivr(ctx: Ctx) -> Reply:
    """``POST /ivrs``: 201; nothing generated or published."""
    if ctx.oss:
        raise NoRoute
    body = ctx.body
    missing = [name for name in ("name", "extension") if not _present(body, name)]
    if missing:
        raise Reject(400, {"error": "Missing required fields", "required_fields": missing})
    now = ctx.state.now()
    row: dict[str, Any] = {
        "id": None,
        "org_id": ctx.org,
        "name": None,
        "extension": None,
        "description": None,
        "greeting_prompt": None,
        "greeting_text": None,
        "greeting_language": "en-IN",
        "greeting_voice": "en-IN-Wavenet-D",
        "timeout": 10,
        "max_retries": 3,
        "enable_direct_dial": False,
        "status": "active",
        "created": now,
        "updated": now,
    }
    _apply_ivr(ctx, row, body)
    row["id"] = ctx.state.new_id()
    ctx.state.ivrs[row["id"]] = row
    ctx.state.menus[row["id"]] = []
    return Reply(201, render_ivr(ctx.state, row))


def get_ivr(ctx: Ctx) -> Reply:
    """``GET /ivrs/{ivr_id}`` with ``menuOptions``."""
    return Reply(200, render_ivr(ctx.state, _ivr(ctx), menu=True))


def update_ivr(ctx: Ctx) -> Reply:
    """``PUT /ivrs/{ivr_id}``."""
    row = _ivr(ctx)
    _apply_ivr(ctx, row, ctx.body)
    row["updated"] = ctx.state.now()
    return Reply(200, render_ivr(ctx.state, row))


def delete_ivr(ctx: Ctx) -> Reply:
    """``DELETE /ivrs/{ivr_id}``: cascades to the menu and greeting (DIDs keep the dead id)."""
    row = _ivr(ctx)
    state = ctx.state
    del state.ivrs[row["id"]]
    state.menus.pop(row["id"], None)
    state.greetings.pop(row["id"], None)
    return Reply(204)


def replace_menu(ctx: Ctx) -> Reply:
    """``PUT /ivrs/{ivr_id}/menu``: every option replaced at once."""
    row = _ivr(ctx)
    options = ctx.body.get("options")
    if not isinstance(options, list):
        raise Reject(400, {"error": "options must be an array"})
    menu: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, option in enumerate(options):
        if not isinstance(option, Mapping):
            raise Reject(400, {"error": f"options[{index}] must be an object"})
        digit = option.get("digit")
        if not isinstance(digit, str) or len(digit) != 1 or digit not in "0123456789*#":
            raise Reject(400, {"error": f"options[{index}].digit must be 0-9, * or #"})
        if digit in seen:
            raise Reject(400, {"error": f"Duplicate digit {digit}"})
        seen.add(digit)
        action = option.get("action_type")
        if action not in MENU_ACTIONS:
            raise Reject(
                400,
                {
                    "error": f"options[{index}].action_type is invalid",
                    "valid_types": list(MENU_ACTIONS),
                },
            )
        destination = option.get("action_destination")
        if action not in ("hangup", "callback") and not destination:
            raise Reject(
                400, {"error": f"options[{index}].action_destination is required for {action}"}
            )
        menu.append(
            {
                "id": ctx.state.new_id(),
                "digit": digit,
                "action_type": action,
                "action_destination": destination if action not in ("hangup", "callback") else None,
                "description": option.get("description"),
                "order": option.get("order", index + 1),
            }
        )
    ctx.state.menus[row["id"]] = menu
    row["updated"] = ctx.state.now()
    return Reply(200, render_ivr(ctx.state, row, menu=True))


def generate_greeting(ctx: Ctx) -> Reply:
    """``POST /ivrs/{ivr_id}/generate-greeting`` (text-to-speech; not published)."""
    row = _ivr(ctx)
    text = ctx.body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Reject(400, {"error": "text is required"})
    if not ctx.state.tts_available:
        raise Reject(500, {"error": "Failed to generate greeting", "details": "TTS quota exceeded"})
    language = ctx.body.get("language") or row["greeting_language"]
    voice = ctx.body.get("voice") or row["greeting_voice"]
    prompt = f"greeting_ivr_{row['id']}"
    row.update(
        greeting_prompt=prompt,
        greeting_text=text,
        greeting_language=language,
        greeting_voice=voice,
        updated=ctx.state.now(),
    )
    size = 44 + 1600 * min(len(text), 400)
    ctx.state.greetings[row["id"]] = wav_bytes(size, len(text))
    return Reply(
        200, {"success": True, "greeting_prompt": prompt, "language": language, "voice": voice}
    )


def greeting_audio(ctx: Ctx) -> Reply:
    """``GET /ivrs/{ivr_id}/greeting-audio``: the WAV."""
    row = _ivr(ctx)
    audio = ctx.state.greetings.get(row["id"])
    if audio is None:
        raise Reject(404, {"error": "No greeting audio for this IVR; generate one first"})
    return Reply(200, content=audio, content_type="audio/wav")


def publish_ivr(ctx: Ctx) -> Reply:
    """``POST /ivrs/{ivr_id}/publish`` (idempotent; redeploys the org's dialplan)."""
    row = _ivr(ctx)
    ctx.state.published[row["id"]] = ctx.state.published.get(row["id"], 0) + 1
    org = ctx.state.orgs[ctx.org]["name"]
    return Reply(
        200, {"success": True, "message": f"Configuration deployed for organization {org}"}
    )
