"""Live state: SIP registrations, channels (calls in progress) and user presence.

Registrations and channels are put in place by tests (:meth:`Simulator.register_device`,
:meth:`Simulator.start_call`); presence is derived from the account's users, with the status
set through ``POST /presence/{presence_id}`` (``offline`` until then).
"""

from __future__ import annotations

from typing import Any

from .._envelope import ApiError
from .._store import Doc
from ._handlers import Call, Endpoint, Result

__all__ = ["endpoints"]


def list_registrations(call: Call) -> Result:
    """``GET /v2/accounts/{id}/registrations``."""
    docs = call.core.store.of_account("registration", call.account.id)
    return Result([{k: v for k, v in d.data.items()} for d in docs])


def list_channels(call: Call) -> Result:
    """``GET /v2/accounts/{id}/channels``."""
    docs = call.core.store.of_account("channel", call.account.id)
    return Result([{k: v for k, v in d.data.items()} for d in docs])


def _presence_id(user: Doc) -> str:
    value = user.data.get("presence_id") or user.data.get("username") or user.id
    return str(value)


def _entry(user: Doc) -> dict[str, Any]:
    state = user.extra.get("presence", {})
    out: dict[str, Any] = {
        "user_id": user.id,
        "presence_id": _presence_id(user),
        "status": state.get("status", "offline"),
    }
    if state.get("message") is not None:
        out["message"] = state["message"]
    return out


def list_presence(call: Call) -> Result:
    """``GET /v2/accounts/{id}/presence``: one entry per user."""
    users = call.core.store.of_account("user", call.account.id)
    return Result([_entry(u) for u in users])


def update_presence(call: Call) -> Result:
    """``POST /v2/accounts/{id}/presence/{presence_id}`` with ``{status, message}``."""
    wanted = call.params["presence_id"]
    for user in call.core.store.of_account("user", call.account.id):
        if _presence_id(user) == wanted:
            state = user.extra.setdefault("presence", {})
            for key in ("status", "message"):
                if key in call.data:
                    state[key] = call.data[key]
            return Result(_entry(user))
    raise ApiError(404, "bad_identifier", {"message": "bad identifier", "cause": wanted})


def endpoints() -> list[Endpoint]:
    """The live-state routes."""
    base = "/accounts/{account_id}"
    return [
        Endpoint(base + "/registrations", {"GET": list_registrations}),
        Endpoint(base + "/channels", {"GET": list_channels}),
        Endpoint(base + "/presence", {"GET": list_presence}),
        Endpoint(base + "/presence/{presence_id}", {"POST": update_presence}),
    ]
