"""Validation rules and listing summaries of the account-scoped document kinds.

Schemas follow the Kazoo crossbar schemas (field names, lengths, enums); module rules add what
Kazoo checks in code (uniqueness, references). Unknown keys are allowed and stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from .._schema import SchemaError
from .._store import UNIQUE_KEYS, Doc, Store, get_path

__all__ = [
    "ACCOUNT",
    "CALLFLOW",
    "DEVICE",
    "KINDS",
    "PHONE_NUMBER",
    "USER",
    "Kind",
    "normalise_name",
    "pick",
]

Schema = dict[str, Any]
Rules = Callable[[Store, str, dict[str, Any], str | None], list[SchemaError]]


def _text(low: int | None = None, high: int | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "string", **extra}
    if low is not None:
        out["minLength"] = low
    if high is not None:
        out["maxLength"] = high
    return out


_BOOL: Schema = {"type": "boolean"}
_OBJ: Schema = {"type": "object"}
_STR: Schema = {"type": "string"}
_STRINGS: Schema = {"type": "array", "items": _STR}

USER_SCHEMA: Schema = {
    "type": "object",
    "required": ["first_name", "last_name"],
    "properties": {
        "first_name": _text(1, 128),
        "last_name": _text(1, 128),
        "username": _text(1, 256, pattern=r"^([+@.\w_-]+)$"),
        "email": _text(3, 254, format="email"),
        "password": {"type": "string", "x-secret": True},
        "priv_level": {"type": "string", "enum": ["user", "admin"]},
        "enabled": _BOOL,
        "vm_to_email_enabled": _BOOL,
        "verified": _BOOL,
        "require_password_update": _BOOL,
        "timezone": _STR,
        "language": _STR,
        "presence_id": _STR,
        "feature_level": _STR,
        "flags": _STRINGS,
        "caller_id": _OBJ,
        "caller_id_options": _OBJ,
        "call_forward": _OBJ,
        "do_not_disturb": _OBJ,
        "hotdesk": _OBJ,
        "music_on_hold": _OBJ,
        "ringtones": _OBJ,
        "contact_list": _OBJ,
        "voicemail": _OBJ,
    },
}

DEVICE_SCHEMA: Schema = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _text(1, 128),
        "owner_id": _text(32, 32),
        "device_type": _STR,
        "enabled": _BOOL,
        "mac_address": _STR,
        "language": _STR,
        "timezone": _STR,
        "presence_id": _STR,
        "exclude_from_queues": _BOOL,
        "mwi_unsolicited_updates": _BOOL,
        "flags": _STRINGS,
        "caller_id": _OBJ,
        "call_forward": _OBJ,
        "media": _OBJ,
        "music_on_hold": _OBJ,
        "provision": _OBJ,
        "sip": {
            "type": "object",
            "properties": {
                "username": _text(2, 32),
                "password": {**_text(5, 32), "x-secret": True},
                "realm": _text(4, 253, pattern=r"^[.\w_-]+$"),
                "method": {"type": "string", "enum": ["password", "ip"]},
                "invite_format": {
                    "type": "string",
                    "enum": ["username", "npan", "1npan", "e164", "route", "strip_plus", "contact"],
                },
                "expire_seconds": {"type": "integer"},
                "ip": _STR,
                "number": _STR,
                "route": _STR,
                "custom_sip_headers": _OBJ,
            },
        },
    },
}

CALLFLOW_SCHEMA: Schema = {
    "definitions": {
        "action": {
            "type": "object",
            "required": ["module", "data"],
            "properties": {
                "module": _text(1, 64),
                "data": _OBJ,
                "children": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/definitions/action"},
                },
            },
        }
    },
    "type": "object",
    "properties": {
        "name": _STR,
        "numbers": {"type": "array", "uniqueItems": True, "items": _text(1, 36)},
        "patterns": {"type": "array", "items": _text(1)},
        "flow": {"$ref": "#/definitions/action"},
        "featurecode": {
            "type": "object",
            "properties": {"name": _text(1, 128), "number": _text(1, 30)},
        },
        "flags": _STRINGS,
        "ringback": _OBJ,
        "metaflow": _OBJ,
    },
}

ACCOUNT_SCHEMA: Schema = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _text(1, 128),
        "realm": _text(4, 253, pattern=r"^[.\w-]+$"),
        "timezone": _text(5, 32),
        "language": _STR,
        "enabled": _BOOL,
        "org": _STR,
        "flags": _STRINGS,
        "caller_id": _OBJ,
        "caller_id_options": _OBJ,
        "music_on_hold": _OBJ,
        "notifications": _OBJ,
    },
}

NUMBER_STATES = [
    "aging",
    "available",
    "deleted",
    "discovery",
    "in_service",
    "port_in",
    "port_out",
    "released",
    "reserved",
]

PHONE_NUMBER_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "carrier_name": _text(1, 30),
        "create_with_state": {"type": "string", "enum": NUMBER_STATES},
        "cnam": {
            "type": "object",
            "properties": {"display_name": _text(1, 15), "inbound_lookup": _BOOL},
        },
        "e911": {
            "type": "object",
            "required": ["street_address", "locality", "region", "postal_code"],
            "properties": {
                "street_address": _STR,
                "extended_address": _STR,
                "locality": _STR,
                "region": _text(2, 2),
                "postal_code": _STR,
                "caller_name": _text(3),
                "notification_contact_emails": _STRINGS,
            },
        },
        "porting": _OBJ,
    },
}


@dataclass(frozen=True)
class Kind:
    """Everything the generic write pipeline needs to know about one document kind."""

    name: str
    collection: str
    schema: Schema
    defaults: dict[str, Any] = field(default_factory=dict)
    secret_paths: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    rules: Rules | None = None
    normalise: Callable[[Store, str, dict[str, Any]], None] | None = None
    summary: Callable[[Doc], dict[str, Any]] | None = None
    #: The spec component the server also validates bodies against (``VoicemailBoxInput``).
    spec_input: str | None = None


def pick(doc: Doc, keys: tuple[str, ...]) -> dict[str, Any]:
    """``id`` plus the given keys of a document that it has (a listing summary)."""
    out: dict[str, Any] = {"id": doc.id}
    for key in keys:
        if key in doc.data:
            out[key] = doc.data[key]
    return out


# -- users ------------------------------------------------------------------------------------


def _user_features(data: dict[str, Any]) -> list[str]:
    features: list[str] = []
    for name in ("call_forward", "hotdesk", "do_not_disturb"):
        if get_path(data, f"{name}.enabled") is True:
            features.append(name)
    if data.get("caller_id"):
        features.append("caller_id")
    if data.get("vm_to_email_enabled") is True and data.get("email"):
        features.append("vm_to_email")
    return features


def _user_summary(doc: Doc) -> dict[str, Any]:
    out = pick(
        doc,
        (
            "username",
            "email",
            "first_name",
            "last_name",
            "priv_level",
            "presence_id",
            "timezone",
            "enabled",
        ),
    )
    out["features"] = _user_features(doc.data)
    return out


def _user_normalise(store: Store, account_id: str, data: dict[str, Any]) -> None:
    if isinstance(data.get("username"), str):
        data["username"] = data["username"].lower()


def _user_rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    username = data.get("username")
    if not isinstance(username, str):
        return []
    for other in store.holders("user", account_id, ("username", username)):
        if other.id != self_id:
            return [
                SchemaError(
                    ("username",),
                    "unique",
                    "Username must be unique within account",
                    cause=username,
                )
            ]
    return []


# -- devices ----------------------------------------------------------------------------------


def _device_summary(doc: Doc) -> dict[str, Any]:
    out = pick(doc, ("name", "mac_address", "owner_id", "enabled", "device_type"))
    username = get_path(doc.data, "sip.username")
    if username is not None:
        out["username"] = username
    return out


def _device_normalise(store: Store, account_id: str, data: dict[str, Any]) -> None:
    sip = data.get("sip")
    if isinstance(sip, dict) and "realm" not in sip:
        account = store.accounts.get(account_id)
        if account is not None and isinstance(account.data.get("realm"), str):
            sip["realm"] = account.data["realm"]


def _mac(value: str) -> str:
    return re.sub(r"[^0-9a-f]", "", value.lower())


def _sip_key(data: dict[str, Any]) -> tuple[str, str, str] | None:
    username = get_path(data, "sip.username")
    if not isinstance(username, str):
        return None
    return ("sip", username.lower(), str(get_path(data, "sip.realm", "")).lower())


def _device_keys(data: dict[str, Any]) -> list[Hashable]:
    keys: list[Hashable] = []
    sip_key = _sip_key(data)
    if sip_key is not None:
        keys.append(sip_key)
    mac = data.get("mac_address")
    if isinstance(mac, str) and _mac(mac):
        keys.append(("mac", _mac(mac)))
    return keys


def _user_keys(data: dict[str, Any]) -> list[Hashable]:
    username = data.get("username")
    return [("username", username)] if isinstance(username, str) else []


# What the user and device uniqueness rules look up, indexed by the store (no scans).
UNIQUE_KEYS["user"] = _user_keys
UNIQUE_KEYS["device"] = _device_keys


def _device_rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    errors: list[SchemaError] = []
    owner = data.get("owner_id")
    if isinstance(owner, str) and len(owner) == 32 and store.get("user", account_id, owner) is None:
        errors.append(
            SchemaError(("owner_id",), "not_found", "Referenced user does not exist", cause=owner)
        )
    sip_key = _sip_key(data)
    if sip_key is not None:
        username = get_path(data, "sip.username")
        for other in store.holders("device", account_id, sip_key):
            if other.id != self_id:
                errors.append(
                    SchemaError(
                        ("sip", "username"),
                        "unique",
                        "SIP credentials already in use",
                        cause=username,
                    )
                )
                break
    mac = data.get("mac_address")
    if isinstance(mac, str) and _mac(mac):
        for other in store.holders("device", account_id, ("mac", _mac(mac))):
            if other.id != self_id:
                errors.append(
                    SchemaError(("mac_address",), "unique", "Mac address already in use", cause=mac)
                )
                break
    return errors


# -- callflows --------------------------------------------------------------------------------


def _modules(flow: Any) -> list[str]:
    found: list[str] = []
    stack = [flow]
    while stack:
        node = stack.pop(0)
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("module"), str):
            found.append(node["module"])
        children = node.get("children")
        if isinstance(children, dict):
            stack.extend(children.values())
    return found


def _callflow_summary(doc: Doc) -> dict[str, Any]:
    out = pick(doc, ("name", "numbers", "patterns"))
    out["modules"] = _modules(doc.data.get("flow"))
    return out


def _fill_action_data(node: Any) -> None:
    if not isinstance(node, dict):
        return
    node.setdefault("data", {})
    children = node.get("children")
    if isinstance(children, dict):
        for child in children.values():
            _fill_action_data(child)


def _callflow_normalise(store: Store, account_id: str, data: dict[str, Any]) -> None:
    _fill_action_data(data.get("flow"))


def _callflow_rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    numbers = data.get("numbers")
    patterns = data.get("patterns")
    if not isinstance(numbers, list) or not isinstance(patterns, list):
        return []
    if not numbers and not patterns:
        return [
            SchemaError(
                ("numbers",),
                "required",
                "Callflows must be assigned at least one number or pattern",
            )
        ]
    errors: list[SchemaError] = []
    for index, pattern in enumerate(patterns):
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error:
                errors.append(
                    SchemaError(
                        ("patterns", index),
                        "invalid",
                        "Pattern is not a valid regex",
                        value=pattern,
                    )
                )
    for other in store.of_account("callflow", account_id):
        if other.id == self_id:
            continue
        label = f"{other.id} {other.data.get('name', '')}".strip()
        for number in numbers:
            if number in other.data.get("numbers", []):
                message = f"Number {number} exists in callflow {label}"
                errors.append(SchemaError(("numbers",), "unique", message, cause=number))
                return errors
        for pattern in patterns:
            if pattern in other.data.get("patterns", []):
                message = f"Pattern {pattern} exists in callflow {label}"
                errors.append(SchemaError(("patterns",), "unique", message, cause=pattern))
                return errors
    return errors


# -- accounts ---------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """Kazoo's account-name normalisation: lower case, alphanumerics only."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _account_summary(doc: Doc) -> dict[str, Any]:
    return pick(doc, ("name", "realm"))


def _account_rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    errors: list[SchemaError] = []
    name = data.get("name")
    realm = data.get("realm")
    for other in store.accounts.values():
        if other.id == self_id:
            continue
        other_name = other.data.get("name")
        if (
            isinstance(name, str)
            and isinstance(other_name, str)
            and normalise_name(other_name) == normalise_name(name)
        ):
            errors.append(
                SchemaError(("name",), "unique", "Account name already in use", cause=name)
            )
            break
    for other in store.accounts.values():
        if (
            other.id != self_id
            and isinstance(realm, str)
            and str(other.data.get("realm", "")).lower() == realm.lower()
        ):
            errors.append(
                SchemaError(("realm",), "unique", "Account realm already in use", cause=realm)
            )
            break
    return errors


USER = Kind(
    name="user",
    collection="users",
    schema=USER_SCHEMA,
    defaults={
        "enabled": True,
        "priv_level": "user",
        "vm_to_email_enabled": True,
        "verified": False,
        "require_password_update": False,
    },
    secret_paths=("password",),
    rules=_user_rules,
    normalise=_user_normalise,
    summary=_user_summary,
)

DEVICE = Kind(
    name="device",
    collection="devices",
    schema=DEVICE_SCHEMA,
    defaults={"enabled": True, "device_type": "sip_device", "sip": {}},
    secret_paths=("sip.password",),
    rules=_device_rules,
    normalise=_device_normalise,
    summary=_device_summary,
)

CALLFLOW = Kind(
    name="callflow",
    collection="callflows",
    schema=CALLFLOW_SCHEMA,
    defaults={"numbers": [], "patterns": []},
    rules=_callflow_rules,
    normalise=_callflow_normalise,
    summary=_callflow_summary,
)

ACCOUNT = Kind(
    name="account",
    collection="accounts",
    schema=ACCOUNT_SCHEMA,
    defaults={"enabled": True},
    read_only=("created",),
    rules=_account_rules,
    summary=_account_summary,
)

PHONE_NUMBER = Kind(
    name="phone_number",
    collection="phone_numbers",
    schema=PHONE_NUMBER_SCHEMA,
    read_only=("state", "features", "assigned_to", "created", "updated", "modified"),
)

#: The kinds served by the generic CRUD routes, by collection name.
KINDS: dict[str, Kind] = {k.collection: k for k in (USER, DEVICE, CALLFLOW)}
