"""Faxes (URL and multipart sends, PDF stream) and billing through the SDK over loopback HTTP."""

from __future__ import annotations

import io
import itertools

import pytest

from audian_async import (
    AsyncAudian,
    BadRequestError,
    ChargesRequiredError,
    NotFoundError,
    ValidationError,
)
from audian_async.audian import Balance, Fax, ServicePlan, Subscription, Transaction
from audian_async.testing import Simulator

from .coverage_registry import covers

_seq = itertools.count(1)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"


@covers("audian", "faxes.send", "faxes.get", "faxes.list", "faxes.download", "faxes.delete")
async def test_fax_lifecycle(audian: AsyncAudian, sim: Simulator) -> None:
    view = audian.for_account(sim.create_account(f"Fax Co {next(_seq)}"))
    by_url = await view.faxes.send(
        to_number="+14155550100",
        from_number="+14155550101",
        document={"url": "https://files.example.com/contract.pdf"},
        retries=2,
    )
    assert isinstance(by_url, Fax) and by_url.status == "sent" and by_url.retries == 2
    assert by_url.document is not None and by_url.document.url.endswith("contract.pdf")

    uploaded = await view.faxes.send_upload(
        document=io.BytesIO(PDF), to_number="+14155550102", from_number="+14155550101"
    )
    assert uploaded.to_number == "+14155550102" and uploaded.direction == "outbound"
    chunks = []
    async with view.faxes.download(uploaded.id) as pdf:
        assert pdf.headers["content-type"] == "application/pdf"
        async for chunk in pdf.iter_bytes():
            chunks.append(chunk)
    assert b"".join(chunks) == PDF  # the uploaded bytes, streamed back

    listed = await view.faxes.list().collect()
    assert {f.id for f in listed} == {by_url.id, uploaded.id}
    assert (await view.faxes.get(by_url.id)).tx_result is not None

    with pytest.raises(ValidationError) as no_url:
        await view.faxes.send(
            to_number="+1", from_number="+2", document={"url": "ftp://files.example.com/x.pdf"}
        )
    assert (no_url.value.field, no_url.value.rule) == ("document.url", "pattern")
    with pytest.raises(ValidationError) as wrong:
        await view.faxes.send_upload(document=PDF, to_number=5, from_number="+2")  # type: ignore[arg-type]
    assert (wrong.value.field, wrong.value.rule) == ("to_number", "type")

    await view.faxes.delete(by_url.id)
    with pytest.raises(NotFoundError):
        await view.faxes.get(by_url.id)


async def test_a_bad_upload_is_refused_by_the_server(audian: AsyncAudian) -> None:
    with pytest.raises(BadRequestError) as info:
        await audian.faxes.send_upload(
            document=b"%PDF",
            to_number="+1",
            from_number=None,  # type: ignore[arg-type]
            validate=False,
        )
    assert "from_number" in info.value.field_errors


@covers(
    "audian",
    "billing.list_transactions",
    "billing.current_balance",
    "billing.subscriptions",
    "billing.monthly_recurring",
    "billing.add_credit",
    "billing.balance",
    "billing.service_plans",
)
async def test_billing(audian: AsyncAudian, sim: Simulator) -> None:
    view = audian.for_account(sim.create_account(f"Billing Co {next(_seq)}"))
    assert (await view.billing.balance()).balance == 0
    credit = await view.billing.add_credit(amount=100)
    assert isinstance(credit, Transaction) and (credit.type_, credit.amount) == ("credit", 100)
    balance = await view.billing.balance()
    assert isinstance(balance, Balance) and (balance.balance, balance.currency) == (100, "USD")
    assert (await view.billing.current_balance()).balance == 100
    assert [t.id for t in await view.billing.list_transactions()] == [credit.id]
    assert await view.billing.list_transactions(created_to=1) == []

    await view.users.create(first_name="Seat", last_name="One")
    recurring = await view.billing.monthly_recurring()
    assert [(t.type_, t.amount) for t in recurring] == [("recurring", 5.0)]
    subscriptions = await view.billing.subscriptions()
    assert isinstance(subscriptions[0], Subscription) and subscriptions[0].quantity == 1
    plans = await view.billing.service_plans()
    assert isinstance(plans[0], ServicePlan) and plans[0].plan is not None

    with pytest.raises(ValidationError) as negative:
        await view.billing.add_credit(amount=0)
    assert (negative.value.field, negative.value.rule) == ("amount", "exclusiveMinimum")


async def test_a_billable_create_needs_accepted_charges(
    audian: AsyncAudian, sim: Simulator
) -> None:
    view = audian.for_account(sim.create_account(f"Charged Co {next(_seq)}"))
    sim.require_charges("devices")
    try:
        with pytest.raises(ChargesRequiredError) as info:
            await view.devices.create(name="Billable Phone")
        assert info.value.status_code == 402
        assert info.value.charges["devices"]["device"]["rate"] == 5.0
        assert await view.devices.list().collect() == []  # nothing was created
        device = await view.devices.create(name="Billable Phone", accept_charges=True)
        assert [d.id for d in await view.devices.list().collect()] == [device.id]
        with pytest.raises(ValidationError):  # still validated before sending
            await view.devices.create(name="", accept_charges=True)
    finally:
        sim.core.store.charges.clear()
