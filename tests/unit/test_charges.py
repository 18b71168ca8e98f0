"""A 402 asking to accept charges is typed, and the call can be resent accepting them."""

from __future__ import annotations

import json

import pytest
import respx

from audian_async import AsyncAudian, ChargesRequiredError, PaymentRequiredError
from tests.helpers import ACCOUNT, envelope

USERS = f"/accounts/{ACCOUNT}/users"
CHARGES = {
    "users": {"user": {"category": "users", "item": "user", "quantity": 1, "rate": 5.0}},
    "activation_charges": 1.0,
}


def _402(message: str, data: object) -> dict[str, object]:
    return {"status": "error", "error": "402", "message": message, "data": data}


async def test_accept_charges_is_typed_and_resent_in_the_envelope(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).mock(
        side_effect=[
            respx.MockResponse(402, json=_402("accept charges", CHARGES)),
            respx.MockResponse(201, json=envelope({"id": "u1", "first_name": "A"})),
        ]
    )
    with pytest.raises(ChargesRequiredError) as info:
        await audian.users.create(first_name="A", last_name="B")
    assert info.value.charges == CHARGES and isinstance(info.value, PaymentRequiredError)
    assert route.call_count == 1  # a 402 is never retried
    user = await audian.users.create(first_name="A", last_name="B", accept_charges=True)
    assert user.id == "u1"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"data": {"first_name": "A", "last_name": "B"}, "accept_charges": True}
    assert route.calls.last.request.headers["content-type"] == "application/json"


async def test_other_payment_failures_are_payment_required(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.put(USERS).respond(402, json=_402("no_credit", {"message": "insufficient credit"}))
    with pytest.raises(PaymentRequiredError) as info:
        await audian.users.create(first_name="A", last_name="B")
    assert not isinstance(info.value, ChargesRequiredError)
    assert info.value.server_message == "insufficient credit"
