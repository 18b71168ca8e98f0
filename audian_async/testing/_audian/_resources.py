"""State-changing operations on documents, accounts and phone numbers (no HTTP in here).

Write semantics (Kazoo): PUT creates, POST replaces every public field, PATCH deep-merges
(objects recursively, arrays and scalars replaced, ``null`` deletes a key). ``id`` and private
keys (``_*``, ``pvt_*``) in a body are ignored; ``null`` values in PUT/POST bodies are dropped.
Secret fields (user ``password``, device ``sip.password``) are stored apart, never returned,
and survive a POST that omits them.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Literal

from .._config import SimulatorConfig
from .._contract import default_spec_location
from .._envelope import ApiError, validation_error
from .._schema import SchemaError, Validator
from .._sim_clock import Clock, iso_from_gregorian
from .._store import Doc, Store, get_path, pop_path, set_path
from ._kinds import ACCOUNT, PHONE_NUMBER, Kind

__all__ = [
    "add_number",
    "available_numbers",
    "create_account",
    "create_doc",
    "delete_account",
    "delete_doc",
    "delete_number",
    "normalise_number",
    "number_entry",
    "render_account",
    "render_number",
    "search_callflows",
    "update_account",
    "update_doc",
    "update_number",
]

Mode = Literal["create", "replace", "patch"]


# -- generic helpers --------------------------------------------------------------------------


def _strip_input(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    blocked = {"id", *kind.read_only}
    return {
        k: copy.deepcopy(v)
        for k, v in body.items()
        if k not in blocked and not k.startswith("_") and not k.startswith("pvt_")
    }


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Kazoo PATCH merge: objects merge recursively, ``None`` deletes, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(_drop_nulls(value))
    return out


def _apply_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, value in defaults.items():
        if key not in data:
            data[key] = copy.deepcopy(value)


def _with_secrets(doc: Doc) -> dict[str, Any]:
    full = copy.deepcopy(doc.data)
    for path, value in doc.secrets.items():
        set_path(full, path, value)
    return full


def prepare(
    store: Store,
    kind: Kind,
    account_id: str,
    body: dict[str, Any],
    existing: Doc | None = None,
    mode: Mode = "create",
    extra_errors: list[SchemaError] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build and validate the new public data and secrets, or raise a 400 validation error."""
    incoming = _strip_input(kind, body)
    if mode == "patch" and existing is not None:
        candidate = deep_merge(_with_secrets(existing), incoming)
    else:
        candidate = _drop_nulls(incoming)
        if mode == "replace" and existing is not None:
            for path, value in existing.secrets.items():
                if get_path(candidate, path) is None:
                    set_path(candidate, path, value)
    _apply_defaults(candidate, kind.defaults)
    if kind.normalise is not None:
        kind.normalise(store, account_id, candidate)
    errors = Validator(kind.schema).validate(candidate, kind.schema)
    errors += _spec_errors(kind, candidate, errors)
    if kind.rules is not None:
        errors += kind.rules(store, account_id, candidate, existing.id if existing else None)
    errors += extra_errors or []
    if errors:
        raise validation_error(errors)
    secrets: dict[str, Any] = {}
    for path in kind.secret_paths:
        value = pop_path(candidate, path)
        if value is not None:
            secrets[path] = value
    return candidate, secrets


# The spec's input schemas: what the server validates beyond the kind's own Kazoo rules
# (nested objects such as caller_id and call_forward are checked field by field there).
_SPEC_INPUTS = {
    "user": "UserInput",
    "device": "DeviceInput",
    "callflow": "CallflowInput",
    "account": "AccountInput",
    "phone_number": "PhoneNumberInput",
}


@lru_cache(maxsize=1)
def _spec_document() -> dict[str, Any] | None:
    location = default_spec_location()
    path = location / "audian.yaml" if location is not None else None
    if path is None or not path.is_file():
        return None
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document if isinstance(document, dict) else None


def _spec_errors(
    kind: Kind, candidate: dict[str, Any], known: list[SchemaError]
) -> list[SchemaError]:
    """Violations of the spec's input schema for ``kind`` not already reported."""
    component = kind.spec_input or _SPEC_INPUTS.get(kind.name)
    document = _spec_document()
    if component is None or document is None:
        return []
    seen = {(e.path, e.rule) for e in known}
    found = Validator(document).validate(candidate, {"$ref": f"#/components/schemas/{component}"})
    return [e for e in found if (e.path, e.rule) not in seen]


# -- account-scoped documents -----------------------------------------------------------------


def create_doc(store: Store, kind: Kind, account_id: str, body: dict[str, Any]) -> Doc:
    """Validate and insert a new document."""
    data, secrets = prepare(store, kind, account_id, body)
    doc = store.make_doc(kind.name, account_id, data)
    doc.secrets = secrets
    store.add(doc)
    return doc


def update_doc(
    store: Store, clock: Clock, kind: Kind, doc: Doc, body: dict[str, Any], mode: Mode
) -> Doc:
    """Replace (POST) or merge (PATCH) an existing document."""
    data, secrets = prepare(store, kind, doc.account_id, body, existing=doc, mode=mode)
    doc.data = data
    doc.secrets = secrets
    store.reindex(doc)
    doc.touch(clock.gregorian())
    return doc


def delete_doc(store: Store, clock: Clock, doc: Doc) -> dict[str, Any]:
    """Remove a document; return its rendering flagged ``_read_only.deleted``."""
    store.remove(doc)
    doc.touch(clock.gregorian())
    out = doc.render()
    out["_read_only"] = {"deleted": True}
    return out


# -- accounts ---------------------------------------------------------------------------------


def _new_realm(store: Store, config: SimulatorConfig) -> str:
    taken = {str(a.data.get("realm", "")).lower() for a in store.accounts.values()}
    while True:
        realm = f"{store.new_hex(12)}.{config.realm_suffix}"
        if realm not in taken:
            return realm


def create_account(
    store: Store,
    config: SimulatorConfig,
    parent_id: str | None,
    body: dict[str, Any],
    account_id: str | None = None,
) -> Doc:
    """Validate and insert an account below ``parent_id``; give it an API key when configured."""
    body = dict(body)
    if "realm" not in body or body["realm"] is None:
        body["realm"] = _new_realm(store, config)
    new_id = account_id or store.new_id()
    data, _ = prepare(store, ACCOUNT, new_id, body)
    doc = store.make_doc("account", new_id, data, doc_id=new_id)
    store.add_account(doc, parent_id)
    if config.auto_api_keys and parent_id is not None:
        add_api_key(store, new_id)
    return doc


def add_api_key(store: Store, account_id: str, key: str | None = None) -> str:
    """Register an API key for an account (a fresh random one unless given)."""
    key = key or store.new_api_key()
    store.api_keys[key] = account_id
    store.key_owners[key] = store.new_hex(32)
    return key


def render_account(doc: Doc) -> dict[str, Any]:
    """Account data: public fields, ``id`` and an ISO ``created``."""
    out = doc.render()
    out["created"] = iso_from_gregorian(doc.created)
    return out


def update_account(store: Store, clock: Clock, doc: Doc, body: dict[str, Any], mode: Mode) -> Doc:
    """POST/PATCH an account; a POST without ``realm`` keeps the current one."""
    body = dict(body)
    if mode == "replace" and body.get("realm") is None:
        body["realm"] = doc.data.get("realm")
    data, _ = prepare(store, ACCOUNT, doc.id, body, existing=doc, mode=mode)
    doc.data = data
    doc.touch(clock.gregorian())
    return doc


def delete_account(store: Store, clock: Clock, doc: Doc, protected: str) -> dict[str, Any]:
    """Delete a childless account (and everything in it); the master account is protected."""
    if doc.id == protected:
        raise ApiError(
            403,
            "forbidden",
            {"message": "forbidden", "cause": "the master account cannot be deleted"},
        )
    if store.children(doc.id):
        raise ApiError(400, "account_has_descendants", {"message": "account has descendants"})
    store.remove_account(doc.id)
    doc.touch(clock.gregorian())
    out = render_account(doc)
    out["_read_only"] = {"deleted": True}
    return out


# -- phone numbers ----------------------------------------------------------------------------


def normalise_number(raw: str) -> str | None:
    """E.164 form of a number (10-digit NANP gets ``+1``); None when it cannot be one."""
    text = raw.strip()
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit() or not digits.isascii():
        return None
    if text.startswith("+"):
        return text if 7 <= len(digits) <= 15 and digits[0] != "0" else None
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits[0] == "1":
        return "+" + digits
    return None


def _features(data: dict[str, Any]) -> list[str]:
    return [name for name in ("cnam", "e911") if data.get(name)]


def render_number(doc: Doc) -> dict[str, Any]:
    """A number document: public fields, ``id``, ``state``, ``features`` and ``_read_only``."""
    out = doc.render()
    state = doc.extra.get("state", "in_service")
    out["state"] = state
    out["features"] = _features(doc.data)
    out["_read_only"] = {"created": doc.created, "modified": doc.modified, "state": state}
    return out


def number_entry(store: Store, doc: Doc) -> dict[str, Any]:
    """The value of one number in the account listing object."""
    out: dict[str, Any] = {
        "state": doc.extra.get("state", "in_service"),
        "features": _features(doc.data),
    }
    for flow in store.of_account("callflow", doc.account_id):
        if doc.id in flow.data.get("numbers", []):
            out["assigned_to"] = {"type": "callflow", "id": flow.id}
            break
    out["created"] = doc.created
    out["updated"] = doc.modified
    return out


def add_number(store: Store, account_id: str, number: str, body: dict[str, Any]) -> Doc:
    """Add a number to an account (409 ``number_exists`` when anyone already has it)."""
    if number in store.numbers:
        raise ApiError(
            409,
            "number_exists",
            {
                "cause": number,
                "code": 409,
                "error": "number_exists",
                "message": "number already exists",
            },
        )
    data, _ = prepare(store, PHONE_NUMBER, account_id, body)
    state = data.pop("create_with_state", "in_service")
    doc = store.make_doc("phone_number", account_id, data, doc_id=number)
    doc.extra["state"] = state
    store.numbers[number] = doc
    return doc


def update_number(store: Store, clock: Clock, doc: Doc, body: dict[str, Any], mode: Mode) -> Doc:
    """POST/PATCH a number's public fields (its state is left alone)."""
    data, _ = prepare(store, PHONE_NUMBER, doc.account_id, body, existing=doc, mode=mode)
    data.pop("create_with_state", None)
    doc.data = data
    doc.touch(clock.gregorian())
    return doc


def delete_number(store: Store, clock: Clock, doc: Doc) -> dict[str, Any]:
    """Release a number from its account."""
    store.numbers.pop(doc.id, None)
    doc.touch(clock.gregorian())
    out = render_number(doc)
    out["_read_only"]["deleted"] = True
    return out


def available_numbers(store: Store, prefix: str, quantity: int) -> list[str]:
    """A deterministic pool of fake NANP numbers (``+1 <prefix> 555-01xx`` style) not yet taken."""
    digits = prefix.lstrip("+")
    if len(digits) > 10 and digits.startswith("1"):
        digits = digits[1:]
    need = 10 - len(digits)
    if need <= 0:
        candidate = "+1" + digits[:10]
        return [] if candidate in store.numbers else [candidate]
    start = int("5550100"[-need:]) if need <= 7 else 5550100
    out: list[str] = []
    offset = 0
    while len(out) < quantity and offset < 10**need:
        suffix = str(start + offset).zfill(need)[-need:]
        candidate = "+1" + digits + suffix
        if candidate not in store.numbers:
            out.append(candidate)
        offset += 1
    return out


def search_callflows(store: Store, account_id: str, query: str, value: str) -> list[Doc]:
    """Callflows whose number (``q=number``), name (``q=name``) or either (``name_and_number``)
    starts with ``value`` (names compared case-insensitively)."""
    lowered = value.lower()
    found: list[Doc] = []
    for doc in store.of_account("callflow", account_id):
        by_number = any(str(n).startswith(value) for n in doc.data.get("numbers", []))
        by_name = str(doc.data.get("name", "")).lower().startswith(lowered)
        hit = {"number": by_number, "name": by_name, "name_and_number": by_number or by_name}
        if hit.get(query, False):
            found.append(doc)
    return found
