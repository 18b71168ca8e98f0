"""Billing: a per-account ledger (credits bought through ``/braintree/credits``), the balance,
and a standard service plan whose monthly charges follow the account's users and devices."""

from __future__ import annotations

import copy
from typing import Any

from .._envelope import validation_error
from .._schema import SchemaError
from .._store import Doc
from ._handlers import Call, Endpoint, Result

__all__ = ["RATES", "endpoints"]

#: Monthly rate of each billable kind in the standard plan (USD).
RATES = {"user": 5.0, "device": 2.0, "vmbox": 1.0}
CURRENCY = "USD"
PLAN = {
    "id": "standard",
    "name": "Standard",
    "description": "Per-seat pricing",
    "plan": {
        "users": {"user": {"rate": RATES["user"]}},
        "devices": {"sip_device": {"rate": RATES["device"]}},
        "vmboxes": {"vmbox": {"rate": RATES["vmbox"]}},
    },
}


def _ledger(account: Doc) -> list[dict[str, Any]]:
    ledger: list[dict[str, Any]] = account.extra.setdefault("ledger", [])
    return ledger


def _balance(account: Doc) -> float:
    total = 0.0
    for entry in _ledger(account):
        amount = float(entry["amount"])
        total += amount if entry["type"] == "credit" else -amount
    return round(total, 2)


def _window(call: Call) -> tuple[int | None, int | None]:
    values = dict(call.query)
    bounds: list[int | None] = []
    for name in ("created_from", "created_to"):
        raw = values.get(name)
        try:
            bounds.append(None if raw is None else int(raw))
        except ValueError:
            raise validation_error(
                [SchemaError((name,), "type", "Value did not match type(s): integer", value=raw)]
            ) from None
    return bounds[0], bounds[1]


def list_transactions(call: Call) -> Result:
    """``GET /v2/accounts/{id}/transactions``: the ledger, optionally within a window."""
    start, end = _window(call)
    found = [
        e
        for e in _ledger(call.account)
        if (start is None or e["created"] >= start) and (end is None or e["created"] <= end)
    ]
    return Result(copy.deepcopy(found))


def current_balance(call: Call) -> Result:
    """``GET /v2/accounts/{id}/transactions/current_balance``."""
    return Result({"balance": _balance(call.account)})


def balance(call: Call) -> Result:
    """``GET /v2/accounts/{id}/balance``."""
    return Result({"balance": _balance(call.account), "currency": CURRENCY})


def _counts(call: Call) -> dict[str, int]:
    store = call.core.store
    return {kind: len(store.of_account(kind, call.account.id)) for kind in RATES}


def subscriptions(call: Call) -> Result:
    """``GET /v2/accounts/{id}/transactions/subscriptions``."""
    seats = _counts(call)["user"]
    return Result(
        [
            {
                "id": f"sub_{call.account.id[:12]}",
                "plan_id": PLAN["id"],
                "status": "active",
                "quantity": seats,
                "price": round(seats * RATES["user"], 2),
            }
        ]
    )


def monthly_recurring(call: Call) -> Result:
    """``GET /v2/accounts/{id}/transactions/monthly_recurring``: one charge per billable kind."""
    now = call.core.clock.gregorian()
    out = [
        {
            "id": f"mrc_{kind}",
            "amount": round(count * RATES[kind], 2),
            "description": f"{count} x {kind}",
            "type": "recurring",
            "created": now,
            "currency": CURRENCY,
        }
        for kind, count in _counts(call).items()
        if count
    ]
    return Result(out)


def service_plans(call: Call) -> Result:
    """``GET /v2/accounts/{id}/service_plans``."""
    return Result([copy.deepcopy(PLAN)])


def add_credit(call: Call) -> Result:
    """``PUT /v2/accounts/{id}/braintree/credits`` with ``{"amount": 100}``."""
    amount = call.data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise validation_error(
            [
                SchemaError(
                    ("amount",),
                    "required" if amount is None else "minimum",
                    "Amount must be a number greater than 0",
                    value=amount,
                )
            ]
        )
    entry = {
        "id": call.core.store.new_hex(32),
        "amount": float(amount),
        "description": "credit added (braintree)",
        "type": "credit",
        "reason": "manual_addition",
        "created": call.core.clock.gregorian(),
        "currency": CURRENCY,
    }
    _ledger(call.account).append(entry)
    return Result(copy.deepcopy(entry), status=201)


def endpoints() -> list[Endpoint]:
    """The billing routes."""
    base = "/accounts/{account_id}"
    return [
        Endpoint(base + "/transactions", {"GET": list_transactions}),
        Endpoint(base + "/transactions/current_balance", {"GET": current_balance}),
        Endpoint(base + "/transactions/subscriptions", {"GET": subscriptions}),
        Endpoint(base + "/transactions/monthly_recurring", {"GET": monthly_recurring}),
        Endpoint(base + "/balance", {"GET": balance}),
        Endpoint(base + "/service_plans", {"GET": service_plans}),
        Endpoint(base + "/braintree/credits", {"PUT": add_credit}),
    ]
