"""The fidelity defects of issue 11: the SDK is neither stricter nor looser than Kazoo."""

from __future__ import annotations

import json

import pytest
import respx

from audian_async import AsyncAudian, ValidationError
from audian_async.audian import CallflowAction, CallRestrictionRule, User
from tests.helpers import ACCOUNT, envelope

CALLFLOWS = f"/accounts/{ACCOUNT}/callflows"
USERS = f"/accounts/{ACCOUNT}/users"
DEVICES = f"/accounts/{ACCOUNT}/devices"


def sent(route: respx.Route) -> dict[str, object]:
    body = json.loads(route.calls.last.request.content)
    assert isinstance(body, dict)
    data = body["data"]
    assert isinstance(data, dict)
    return data


# 1. callflow trees -------------------------------------------------------------------------


async def test_a_callflow_tree_of_typed_actions_is_sent(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(CALLFLOWS).respond(201, json=envelope({"id": "cf1", "numbers": ["100"]}))
    leaf = CallflowAction(module="voicemail", data={"id": "vm1"})
    root = CallflowAction(module="user", data={"id": "u1"}, children={"_": leaf})
    await audian.callflows.create(numbers=["100"], flow=root)
    assert sent(route)["flow"] == {
        "module": "user",
        "data": {"id": "u1"},
        "children": {"_": {"module": "voicemail", "data": {"id": "vm1"}}},
    }


async def test_a_fetched_callflow_has_typed_children(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    flow = {"module": "user", "data": {}, "children": {"_": {"module": "hangup", "data": {}}}}
    mock.get(f"{CALLFLOWS}/cf1").respond(200, json=envelope({"id": "cf1", "flow": flow}))
    fetched = await audian.callflows.get("cf1")
    assert fetched.flow is not None and fetched.flow.children is not None
    assert isinstance(fetched.flow.children["_"], CallflowAction)
    assert fetched.flow.children["_"].module == "hangup"


async def test_an_action_without_data_is_refused_like_kazoo(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(CALLFLOWS)
    with pytest.raises(ValidationError) as info:
        await audian.callflows.create(numbers=["100"], flow={"module": "user"})
    assert (info.value.field, info.value.rule) == ("flow.data", "required")
    with pytest.raises(ValidationError) as nested:
        await audian.callflows.create(
            numbers=["100"],
            flow={"module": "user", "data": {}, "children": {"_": {"module": "hangup"}}},
        )
    assert nested.value.field == "flow.children._.data"
    assert not route.called


# 2. never stricter than Kazoo ----------------------------------------------------------------


async def test_bodies_kazoo_accepts_are_sent(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    numbers = mock.put(url__regex=r".*/phone_numbers/%2B.*").respond(
        201, json=envelope({"id": "+14155550100"})
    )
    for state in ("port_out", "released", "deleted", "discovery"):
        await audian.phone_numbers.add("+14155550100", create_with_state=state)
        assert sent(numbers)["create_with_state"] == state
    await audian.phone_numbers.add(
        "+14155550100",
        e911={
            "street_address": "1 Main St",
            "locality": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "notification_contact_emails": ["ops desk"],
        },
    )
    devices = mock.put(DEVICES).respond(201, json=envelope({"id": "d1", "name": "x"}))
    await audian.devices.create(name="x", sip={"expire_seconds": 0})
    assert sent(devices)["sip"] == {"expire_seconds": 0}
    flows = mock.put(CALLFLOWS).respond(201, json=envelope({"id": "cf1"}))
    await audian.callflows.create(name="n" * 300, patterns=["^1$", "^1$"])
    users = mock.put(USERS).respond(201, json=envelope({"id": "u1"}))
    await audian.users.create(first_name="A", last_name="B", email="ops@localhost")
    assert flows.called and sent(users)["email"] == "ops@localhost"


async def test_validation_can_be_skipped_for_one_call(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).respond(201, json=envelope({"id": "u1"}))
    with pytest.raises(ValidationError):
        await audian.users.create(first_name="", last_name="B")
    await audian.users.create(first_name="", last_name="B", validate=False)
    assert sent(route)["first_name"] == ""
    with pytest.raises(ValidationError):  # the next call validates again
        await audian.users.create(first_name="", last_name="B")


async def test_query_checks_can_be_skipped_for_one_call(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get("/phone_numbers").respond(200, json=envelope([]))
    await audian.phone_numbers.search(prefix="41", validate=False)
    assert route.calls.last.request.url.params["prefix"] == "41"


# 3. not looser than Kazoo ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        (
            {"call_restriction": {"international": {"action": "allow"}}},
            "call_restriction.international.action",
            "enum",
        ),
        ({"hotdesk": {"pin": "12"}}, "hotdesk.pin", "minLength"),
        (
            {"caller_id_options": {"outbound_privacy": "all"}},
            "caller_id_options.outbound_privacy",
            "enum",
        ),
        ({"music_on_hold": {"media_id": "m" * 129}}, "music_on_hold.media_id", "maxLength"),
        (
            {"caller_id": {"asserted": {"number": "1" * 36}}},
            "caller_id.asserted.number",
            "maxLength",
        ),
    ],
)
async def test_user_fields_follow_kazoo_rules(
    audian: AsyncAudian, mock: respx.MockRouter, kwargs: dict[str, object], field: str, rule: str
) -> None:
    route = mock.put(USERS)
    with pytest.raises(ValidationError) as info:
        await audian.users.create(first_name="A", last_name="B", **kwargs)  # type: ignore[arg-type]
    assert (info.value.field, info.value.rule) == (field, rule)
    assert not route.called


async def test_e911_status_and_search_prefix_follow_kazoo(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    search = mock.get("/phone_numbers")
    with pytest.raises(ValidationError) as info:
        await audian.phone_numbers.search(prefix="41")
    assert (info.value.field, info.value.rule) == ("prefix", "minLength")
    with pytest.raises(ValidationError) as long:
        await audian.phone_numbers.search(prefix="14155550100")
    assert long.value.rule == "maxLength"
    with pytest.raises(ValidationError) as view:
        await audian.callflows.search(q="everything", v="5")  # type: ignore[arg-type]
    assert (view.value.field, view.value.rule) == ("q", "enum")
    add = mock.put(url__regex=r".*/phone_numbers/%2B.*")
    e911 = {
        "street_address": "1 Main St",
        "locality": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "status": "active",
    }
    with pytest.raises(ValidationError) as status:
        await audian.phone_numbers.add("+14155550100", e911=e911)
    assert (status.value.field, status.value.rule) == ("e911.status", "enum")
    assert not search.called and not add.called


# 5. value_missing ----------------------------------------------------------------------------


async def test_value_missing_is_sent_as_kazoo_names_it(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).respond(200, json=envelope([]))
    await audian.users.list(filters={"value_missing": "email", "first_name": "Jane"}).collect()
    params = route.calls.last.request.url.params
    assert params["value_missing"] == "email" and params["filter_first_name"] == "Jane"
    assert "filter_value_missing" not in params


# 6. typed user and device fields -------------------------------------------------------------


async def test_kazoo_user_fields_are_typed(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    document = {
        "id": "u1",
        "first_name": "A",
        "last_name": "B",
        "call_restriction": {"international": {"action": "deny"}},
        "do_not_disturb": {"enabled": True},
        "hotdesk": {"enabled": True, "pin": "1234"},
        "music_on_hold": {"media_id": "m1"},
        "caller_id": {"asserted": {"number": "+14155550100", "realm": "example.com"}},
        "media": {"audio": {"codecs": ["PCMU"]}, "bypass_media": False},
        "ringtones": {"internal": "alert-1"},
        "caller_id_options": {"outbound_privacy": "number"},
        "voicemail": {"notify": {"callback": {"number": "+14155550101"}}},
    }
    mock.get(f"{USERS}/u1").respond(200, json=envelope(document))
    user = await audian.users.get("u1")
    assert isinstance(user, User) and user.extra == {}
    assert user.call_restriction is not None
    assert user.call_restriction["international"] == CallRestrictionRule(action="deny")
    assert user.do_not_disturb is not None and user.do_not_disturb.enabled is True
    assert user.caller_id is not None and user.caller_id.asserted is not None
    assert user.caller_id.asserted.realm == "example.com"
    assert user.media is not None and user.media.audio is not None
    assert user.media.audio.codecs == ["PCMU"]
    assert user.voicemail is not None and user.voicemail.notify is not None
    assert "1234" not in repr(user)  # the hot-desk PIN is a secret
    assert user.to_dict() == {k: v for k, v in document.items()}


async def test_kazoo_device_sip_fields_are_typed(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(DEVICES).respond(201, json=envelope({"id": "d1", "name": "x"}))
    await audian.devices.create(
        name="x",
        sip={"transport": "tls", "static_route": "sip:pbx", "custom_sip_headers": {"X-A": "1"}},
        provision={"endpoint_brand": "yealink", "endpoint_model": ["t46"]},
    )
    body = sent(route)
    assert body["sip"] == {
        "transport": "tls",
        "static_route": "sip:pbx",
        "custom_sip_headers": {"X-A": "1"},
    }
    assert body["provision"] == {"endpoint_brand": "yealink", "endpoint_model": ["t46"]}
