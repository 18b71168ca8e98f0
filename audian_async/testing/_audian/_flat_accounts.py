"""``POST /v2/accounts``: the flat, camelCase account creation documented by Audian.

Unlike the rest of ``/v2`` the body is not wrapped in ``data`` and the success (201) and every
error the endpoint produces (validation, conflict, but also 401/403/429) are flat JSON
(``{"error": {"code", "message", "details"?}}``), as the spec documents. Injected faults keep
their own shapes. ``phone`` is left out of the response when none was given. The created
account becomes a child of the token's account; its flat profile is kept apart from the Kazoo
account document (which gets ``name``, a generated ``realm`` and the timezone/language).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .._config import SimulatorConfig
from .._sim_clock import iso_from_gregorian
from .._store import Doc, Store
from ._kinds import normalise_name
from ._resources import create_account

__all__ = ["FlatError", "create_flat_account", "flat_error", "render_flat"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,20}$")  # as spec/audian.yaml AccountCreateRequest.phone
_PLANS = ("starter", "professional", "enterprise")
_ADDRESS_KEYS = ("street", "city", "state", "postalCode", "country")


@dataclass
class FlatError(Exception):
    """A flat-shaped error: ``{"error": {"code", "message", "details"?}}``."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        inner: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            inner["details"] = self.details
        return {"error": inner}


_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
}


def flat_error(err: Any) -> FlatError:
    """The flat rendering of a Kazoo-style ``ApiError`` (status, message, data)."""
    data = err.data if isinstance(err.data, dict) else {}
    message = str(data.get("message") or err.message)
    return FlatError(err.status, _CODES.get(err.status, "ERROR"), message)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _invalid(name: str, why: str) -> FlatError:
    return FlatError(
        400, "INVALID_REQUEST", f"Invalid value for field: {name} ({why})", {"field": name}
    )


def _validate(body: Any) -> None:
    if not isinstance(body, dict):
        raise FlatError(
            400, "INVALID_REQUEST", "Request body must be a JSON object", {"field": "body"}
        )
    for name in ("name", "email"):
        if name not in body or body[name] is None:
            raise FlatError(
                400, "INVALID_REQUEST", f"Missing required field: {name}", {"field": name}
            )
    name = body["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise _invalid("name", "must be a string of 1-100 characters")
    if not isinstance(body["email"], str) or not _EMAIL.match(body["email"]):
        raise _invalid("email", "must be a valid email address")
    phone = body.get("phone")
    if phone is not None and (not isinstance(phone, str) or not _PHONE.match(phone)):
        raise _invalid("phone", "must be a valid phone number")
    plan = body.get("plan")
    if plan is not None and plan not in _PLANS:
        raise _invalid("plan", "must be one of starter, professional, enterprise")
    display = body.get("displayName")
    if display is not None and not isinstance(display, str):
        raise _invalid("displayName", "must be a string")
    for key in ("address", "settings", "metadata"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise _invalid(key, "must be an object")
    for key in _ADDRESS_KEYS:
        value = (body.get("address") or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise _invalid(f"address.{key}", "must be a string")
    timezone = (body.get("settings") or {}).get("timezone")
    if timezone is not None and (not isinstance(timezone, str) or timezone not in _zones()):
        raise _invalid("settings.timezone", "must be a valid IANA timezone")


def create_flat_account(store: Store, config: SimulatorConfig, parent_id: str, body: Any) -> Doc:
    """Validate the flat body and create the account under ``parent_id``."""
    _validate(body)
    wanted = normalise_name(body["name"])
    if any(normalise_name(str(a.data.get("name", ""))) == wanted for a in store.accounts.values()):
        raise FlatError(409, "CONFLICT", "account name already exists")
    settings: dict[str, Any] = dict(body.get("settings") or {})
    kazoo: dict[str, Any] = {"name": body["name"]}
    timezone = settings.get("timezone")
    if isinstance(timezone, str) and 5 <= len(timezone) <= 32:
        kazoo["timezone"] = timezone
    if isinstance(settings.get("language"), str):
        kazoo["language"] = settings["language"]
    doc = create_account(store, config, parent_id, kazoo)
    doc.extra["flat"] = {
        "displayName": body.get("displayName") or body["name"],
        "email": body["email"],
        "phone": body.get("phone"),
        "plan": body.get("plan") or "starter",
        "address": dict(body.get("address") or {}),
        "settings": settings,
        "metadata": dict(body.get("metadata") or {}),
    }
    return doc


def render_flat(doc: Doc) -> dict[str, Any]:
    """The flat 201 body for an account created through this endpoint."""
    profile = doc.extra.get("flat", {})
    out: dict[str, Any] = {
        "id": doc.id,
        "name": doc.data.get("name"),
        "displayName": profile.get("displayName"),
        "email": profile.get("email"),
        "phone": profile.get("phone"),
        "status": "active" if doc.data.get("enabled", True) else "suspended",
        "plan": profile.get("plan"),
        "address": profile.get("address", {}),
        "settings": profile.get("settings", {}),
        "metadata": profile.get("metadata", {}),
        "createdAt": iso_from_gregorian(doc.created),
        "updatedAt": iso_from_gregorian(doc.modified),
    }
    return {k: v for k, v in out.items() if v is not None}
