"""Every Audian operation of the spec, through the SDK, over loopback HTTP to the simulator."""

from __future__ import annotations

import itertools

import pytest

from audian_async import AsyncAudian, BadRequestError, NotFoundError, PermissionDeniedError
from audian_async.audian import Account, AccountRecord, Callflow, Device, PhoneNumber, User
from audian_async.testing import Simulator

from .coverage_registry import covers

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq):04d}"


@covers("audian", "auth.api_auth")
async def test_api_key_exchange(audian: AsyncAudian, sim: Simulator) -> None:
    info = await audian.authenticate()
    assert info.account_id == sim.master_account_id
    assert info.owner_id


@covers(
    "audian",
    "users.create",
    "users.get",
    "users.list",
    "users.update",
    "users.patch",
    "users.delete",
)
async def test_user_lifecycle(audian: AsyncAudian) -> None:
    name = unique("jane")
    user = await audian.users.create(
        first_name="Jane",
        last_name="Smith",
        username=name,
        email=f"{name}@example.com",
        password="pw-12345",
    )
    assert isinstance(user, User) and user.username == name
    fetched = await audian.users.get(user.id)
    assert fetched.email == f"{name}@example.com"
    listed = [u async for u in audian.users.list(filters={"username": name})]
    assert [u.id for u in listed] == [user.id]

    fetched.extra["custom_field"] = {"team": "blue"}
    fetched.last_name = "Smythe"
    replaced = await audian.users.update(fetched.id, fetched)
    assert replaced.last_name == "Smythe"
    assert replaced.extra.get("custom_field") == {"team": "blue"}

    patched = await audian.users.patch(user.id, first_name="Janet", timezone="Europe/Paris")
    assert (patched.first_name, patched.last_name, patched.timezone) == (
        "Janet",
        "Smythe",
        "Europe/Paris",
    )
    cleared = await audian.users.patch(user.id, timezone=None)
    assert cleared.timezone is None

    await audian.users.delete(user.id)
    with pytest.raises(NotFoundError):
        await audian.users.get(user.id)


async def test_duplicate_username_is_a_bad_request_with_the_rule(audian: AsyncAudian) -> None:
    name = unique("dup")
    await audian.users.create(first_name="A", last_name="B", username=name)
    with pytest.raises(BadRequestError) as info:
        await audian.users.create(first_name="C", last_name="D", username=name)
    assert "unique" in info.value.field_errors["username"]
    assert info.value.request_id


@covers(
    "audian",
    "devices.create",
    "devices.get",
    "devices.list",
    "devices.update",
    "devices.patch",
    "devices.delete",
)
async def test_device_lifecycle(audian: AsyncAudian) -> None:
    owner = await audian.users.create(first_name="Dev", last_name="Owner", username=unique("owner"))
    sip_user = unique("sip")
    device = await audian.devices.create(
        name="Desk Phone",
        device_type="sip_device",
        owner_id=owner.id,
        sip={"username": sip_user, "password": "secure_password_123"},
    )
    assert isinstance(device, Device)
    assert (
        device.sip is not None and device.sip.username == sip_user and device.sip.password is None
    )
    assert device.sip.realm
    assert (await audian.devices.get(device.id)).owner_id == owner.id
    found = await audian.devices.list(filters={"owner_id": owner.id}).collect()
    assert [d.id for d in found] == [device.id]
    device.name = "Renamed Phone"
    updated = await audian.devices.update(device.id, device)
    assert updated.name == "Renamed Phone"
    patched = await audian.devices.patch(device.id, enabled=False)
    assert patched.enabled is False
    with pytest.raises(BadRequestError) as info:
        await audian.devices.create(
            name="Clash", sip={"username": sip_user, "password": "another_pw"}
        )
    assert "sip.username" in info.value.field_errors
    await audian.devices.delete(device.id)
    with pytest.raises(NotFoundError):
        await audian.devices.get(device.id)


@covers(
    "audian",
    "phone_numbers.search",
    "phone_numbers.add",
    "phone_numbers.get",
    "phone_numbers.list",
    "phone_numbers.update",
    "phone_numbers.patch",
    "phone_numbers.delete",
)
async def test_phone_number_lifecycle(audian: AsyncAudian) -> None:
    available = await audian.phone_numbers.search(prefix="212", quantity=2)
    assert len(available) == 2 and all(n.startswith("+1212") for n in available)
    number = available[0]
    added = await audian.phone_numbers.add(number)
    assert isinstance(added, PhoneNumber) and added.id == number
    assert (await audian.phone_numbers.get(number)).id == number
    listed = {n.number: n for n in await audian.phone_numbers.list(paginate=False).collect()}
    assert number in listed
    updated = await audian.phone_numbers.update(number, cnam={"display_name": "ACME"})
    assert updated.cnam is not None and updated.cnam.display_name == "ACME"
    patched = await audian.phone_numbers.patch(number, carrier_name="Bandwidth")
    assert patched.carrier_name == "Bandwidth"
    assert patched.cnam is not None and patched.cnam.display_name == "ACME"  # merged, not replaced
    await audian.phone_numbers.delete(number)
    with pytest.raises(NotFoundError):
        await audian.phone_numbers.get(number)


@covers(
    "audian",
    "callflows.create",
    "callflows.get",
    "callflows.list",
    "callflows.update",
    "callflows.patch",
    "callflows.delete",
    "callflows.search",
)
async def test_callflow_lifecycle(audian: AsyncAudian) -> None:
    owner = await audian.users.create(first_name="Call", last_name="Flow", username=unique("cf"))
    number = f"+1646555{next(_seq):04d}"
    flow = await audian.callflows.create(
        name="Main line", numbers=[number], flow={"module": "user", "data": {"id": owner.id}}
    )
    assert isinstance(flow, Callflow) and flow.numbers == [number]
    assert (await audian.callflows.get(flow.id)).flow is not None
    assert flow.id in [c.id async for c in audian.callflows.list()]
    found = await audian.callflows.search(q="number", v=number)
    assert [c.id for c in found] == [flow.id]
    flow.name = "Main line (renamed)"
    assert (await audian.callflows.update(flow.id, flow)).name == "Main line (renamed)"
    assert (await audian.callflows.patch(flow.id, name="Patched")).name == "Patched"
    with pytest.raises(BadRequestError) as info:
        await audian.callflows.create(name="Clash", numbers=[number])
    assert "numbers" in {f.split(".")[0] for f in info.value.field_errors}
    await audian.callflows.delete(flow.id)
    with pytest.raises(NotFoundError):
        await audian.callflows.get(flow.id)


@covers(
    "audian",
    "accounts.get",
    "accounts.update",
    "accounts.patch",
    "accounts.create_sub_account",
    "accounts.list_sub_accounts",
    "accounts.list_descendants",
    "accounts.list_parents",
    "accounts.delete",
)
async def test_account_hierarchy(audian: AsyncAudian, sim: Simulator) -> None:
    me = await audian.accounts.get()
    assert isinstance(me, Account) and me.id == sim.master_account_id
    west = await audian.accounts.create_sub_account(
        name=unique("West Coast Office "), timezone="America/Los_Angeles"
    )
    west_view = audian.for_account(west.id)
    branch = await west_view.accounts.create_sub_account(name=unique("San Diego "))
    assert west.id in [a.id for a in await audian.accounts.list_sub_accounts().collect()]
    assert branch.id not in [a.id for a in await audian.accounts.list_sub_accounts().collect()]
    descendants = {a.id async for a in audian.accounts.list_descendants()}
    assert {west.id, branch.id} <= descendants
    parents = await audian.for_account(branch.id).accounts.list_parents()
    assert [p.id for p in parents] == [sim.master_account_id, west.id]
    assert parents[-1].name == west.name

    current = await west_view.accounts.get()
    current.timezone = "America/Denver"
    assert (await west_view.accounts.update(body=current)).timezone == "America/Denver"
    assert (await west_view.accounts.patch(language="fr-fr")).language == "fr-fr"

    with pytest.raises(BadRequestError):
        await west_view.accounts.delete()  # it still has a child
    await audian.for_account(branch.id).accounts.delete()
    await west_view.accounts.delete()
    assert west.id not in {a.id async for a in audian.accounts.list_descendants()}


async def test_a_token_cannot_act_outside_its_tree(
    audian: AsyncAudian, sim: Simulator, server: object
) -> None:
    child = await audian.accounts.create_sub_account(name=unique("Child "))
    child_client = AsyncAudian(api_key=sim.api_key_for(child.id), base_url=audian.base_url)
    async with child_client:
        with pytest.raises(PermissionDeniedError):
            await child_client.for_account(sim.master_account_id).users.list().collect()
        assert (await child_client.accounts.get()).id == child.id


@covers("audian", "accounts.create")
async def test_flat_account_creation(audian: AsyncAudian) -> None:
    name = unique("Acme Corporation ")
    record = await audian.accounts.create(
        name=name,
        display_name="Acme Corp",
        email="admin@acme.com",
        phone="+1-555-0100",
        plan="professional",
        address={
            "street": "123 Business Ave",
            "city": "San Francisco",
            "postalCode": "94102",
            "country": "US",
        },
        settings={"timezone": "America/Los_Angeles", "language": "en", "recordingRetention": 30},
        metadata={"department": "IT"},
    )
    assert isinstance(record, AccountRecord)
    assert record.name == name and record.display_name == "Acme Corp" and record.status == "active"
    assert record.address is not None and record.address.postal_code == "94102"
    from audian_async import ConflictError

    with pytest.raises(ConflictError):
        await audian.accounts.create(name=name, email="other@acme.com")
