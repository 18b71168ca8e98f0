"""CDRs, registrations, channels and presence through the SDK over loopback HTTP."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from audian_async import AsyncAudian, BadRequestError, NotFoundError
from audian_async.audian import Cdr, CdrSummary, Channel, Presence, Registration
from audian_async.testing import Simulator

from .coverage_registry import covers

GREGORIAN_OFFSET = 62_167_219_200
_seq = itertools.count(1)


def gregorian(moment: datetime) -> int:
    return int(moment.timestamp()) + GREGORIAN_OFFSET


@covers("audian", "cdrs.list", "cdrs.get", "cdrs.summary", "cdrs.legs")
async def test_cdrs_by_date_with_integer_page_keys(audian: AsyncAudian, sim: Simulator) -> None:
    account = sim.create_account(f"CDR Co {next(_seq)}")
    view = audian.for_account(account)
    day = datetime(2026, 3, 2, tzinfo=UTC)
    first = sim.add_cdr(
        account_id=account,
        timestamp=gregorian(day + timedelta(hours=9)),
        call_direction="inbound",
        caller_id_number="+14155550100",
        interaction_id="call-1",
        duration_seconds=30,
        billing_seconds=25,
    )
    sim.add_cdr(
        account_id=account,
        timestamp=gregorian(day + timedelta(hours=9, seconds=1)),
        call_direction="outbound",
        interaction_id="call-1",
        duration_seconds=30,
        billing_seconds=25,
    )
    for hour in (10, 11, 12):
        sim.add_cdr(account_id=account, timestamp=gregorian(day + timedelta(hours=hour)))
    sim.add_cdr(account_id=account, timestamp=gregorian(day - timedelta(days=1)))  # outside

    window = {"created_from": day, "created_to": day + timedelta(days=1)}
    pages = [p async for p in view.cdrs.list(page_size=2, **window).pages()]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert all(isinstance(p.next_start_key, int) for p in pages[:-1])
    records = [c for p in pages for c in p.items]
    assert isinstance(records[0], Cdr) and records[0].id == first["id"]
    assert records[0].timestamp == gregorian(day + timedelta(hours=9))

    naive = datetime(2026, 3, 2, 9)  # naive datetimes are UTC
    early = await view.cdrs.list(
        created_from=naive, created_to=naive + timedelta(minutes=1)
    ).collect()
    assert len(early) == 2
    inbound = await view.cdrs.list(filters={"call_direction": "inbound"}, **window).collect()
    assert [c.caller_id_number for c in inbound][:1] == ["+14155550100"]

    fetched = await view.cdrs.get(first["id"])
    assert fetched.interaction_id == "call-1" and fetched.billing_seconds == 25
    legs = await view.cdrs.legs("call-1")
    assert [leg.call_direction for leg in legs] == ["inbound", "outbound"]
    summary = await view.cdrs.summary(**window)
    assert isinstance(summary, CdrSummary)
    assert (summary.total_calls, summary.inbound, summary.outbound) == (5, 4, 1)
    assert summary.created_from == gregorian(day)

    with pytest.raises(BadRequestError) as too_long:
        await view.cdrs.list(created_from=day, created_to=day + timedelta(days=40)).collect()
    assert "date_range" in too_long.value.field_errors["created_from"]
    with pytest.raises(NotFoundError):
        await view.cdrs.get("0" * 32)


async def test_cdr_window_is_sent_in_gregorian_seconds(audian: AsyncAudian, sim: Simulator) -> None:
    moment = datetime(2025, 2, 1, tzinfo=UTC)
    await audian.cdrs.list(created_from=moment, created_to=moment + timedelta(days=1)).collect()
    sent = sim.requests.matching(method="GET", path_contains="/cdrs")[-1]
    assert "created_from=63905587200" in sent.query  # the Kazoo value, not the docs' wrong one


@covers("audian", "registrations.list", "channels.list")
async def test_registrations_and_channels(audian: AsyncAudian, sim: Simulator) -> None:
    account = sim.create_account(f"Live Co {next(_seq)}")
    view = audian.for_account(account)
    assert await view.registrations.list() == []
    sim.register_device("jane_phone", account_id=account, expires=600)
    registrations = await view.registrations.list()
    assert len(registrations) == 1 and isinstance(registrations[0], Registration)
    assert (registrations[0].username, registrations[0].expires) == ("jane_phone", 600)
    sim.start_call(account_id=account, caller_id_number="+14155550122", direction="inbound")
    channels = await view.channels.list()
    assert len(channels) == 1 and isinstance(channels[0], Channel)
    assert channels[0].caller_id_number == "+14155550122" and channels[0].answered is True


@covers("audian", "presence.list", "presence.update")
async def test_presence(audian: AsyncAudian, sim: Simulator) -> None:
    account = sim.create_account(f"Presence Co {next(_seq)}")
    view = audian.for_account(account)
    user = await view.users.create(first_name="Pat", last_name="Busy", presence_id="2001")
    entries = await view.presence.list()
    assert [(p.user_id, p.presence_id, p.status) for p in entries] == [(user.id, "2001", "offline")]
    updated = await view.presence.update("2001", status="busy", message="In a meeting")
    assert isinstance(updated, Presence) and (updated.status, updated.message) == (
        "busy",
        "In a meeting",
    )
    assert (await view.presence.list())[0].status == "busy"
    with pytest.raises(NotFoundError):
        await view.presence.update("9999", status="available")
