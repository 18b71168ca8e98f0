"""Kazoo's Draft 4 schemas refuse 32400.0 where an integer is asked: whole floats go out as
integers, and a fraction is refused before sending, naming the field and the rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from audian_async import AsyncAudian, ValidationError
from tests.helpers import ACCOUNT, envelope

A = f"/accounts/{ACCOUNT}"


def sent(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)["data"]


async def test_whole_floats_in_integer_fields_are_sent_as_integers(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    rules = mock.put(A + "/temporal_rules").respond(201, json=envelope({"id": "t1"}))
    boxes = mock.put(A + "/vmboxes").respond(201, json=envelope({"id": "v1"}))
    devices = mock.put(A + "/devices").respond(201, json=envelope({"id": "d1"}))
    await audian.temporal_rules.create(
        name="office", cycle="weekly", time_window_start=32400.0, days=[1.0, 15]
    )
    await audian.vmboxes.create(name="box", mailbox="100", seek_duration_ms=5000.0)
    await audian.devices.create(name="desk", sip={"username": "d1", "expire_seconds": 300.0})
    rule = sent(rules)
    assert rule["time_window_start"] == 32400 and type(rule["time_window_start"]) is int
    assert [type(d) for d in rule["days"]] == [int, int]
    box = sent(boxes)
    assert type(box["seek_duration_ms"]) is int
    sip = sent(devices)["sip"]
    assert sip["expire_seconds"] == 300 and type(sip["expire_seconds"]) is int
    assert b"32400.0" not in rules.calls.last.request.content


async def test_a_number_field_keeps_its_float(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.put(A + "/braintree/credits").respond(201, json=envelope({"amount": 10.0}))
    await audian.billing.add_credit(amount=10.0)
    assert type(sent(route)["amount"]) is float


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ("rules", "time_window_start"),
        ("devices", "sip.expire_seconds"),
    ],
)
async def test_a_fraction_in_an_integer_field_is_refused_before_sending(
    audian: AsyncAudian, mock: respx.MockRouter, call: str, field: str
) -> None:
    route = mock.put(url__regex=r".*").respond(201, json=envelope({"id": "x"}))
    with pytest.raises(ValidationError) as info:
        if call == "rules":
            await audian.temporal_rules.create(name="o", cycle="weekly", time_window_start=0.5)
        else:
            await audian.devices.create(
                name="d", sip={"username": "desk1", "expire_seconds": 300.5}
            )
    assert (info.value.field, info.value.rule) == (field, "type")
    assert "integer" in str(info.value)
    assert route.call_count == 0
