"""Reading a model never invents data: every value either reads faithfully or is kept as sent.

The rule for each conversion the converter makes: the value round-trips unchanged
(``from_dict(d).to_dict() == d``), or it is decoded to what it means in Kazoo's own coercion
(``"true"``/``"false"`` for a boolean, a whole number for an integer), or it is kept as the
server sent it and flagged with :class:`UnexpectedValueWarning`. Never an error that fails
the call, never a changed meaning.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
import respx

from audian_async import AsyncAudian, UnexpectedValueWarning
from audian_async._generated.audian.models import EndpointMedia, TemporalRule, User
from tests.helpers import ACCOUNT, envelope

USERS = f"/accounts/{ACCOUNT}/users"


def _read(cls: Any, data: dict[str, Any]) -> tuple[Any, list[UnexpectedValueWarning]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = cls.from_dict(data)
    return model, [w.message for w in caught if isinstance(w.message, UnexpectedValueWarning)]


@pytest.mark.parametrize(("sent", "meant"), [("true", True), ("false", False)])
def test_kazoo_boolean_strings_decode_to_the_boolean_they_mean(sent: str, meant: bool) -> None:
    user, warned = _read(User, {"id": "u1", "enabled": sent, "call_forward": {"enabled": sent}})
    assert user.enabled is meant
    assert user.call_forward is not None and user.call_forward.enabled is meant
    assert warned == []
    assert user.to_dict()["enabled"] is meant
    assert user.to_dict()["call_forward"] == {"enabled": meant}


@pytest.mark.parametrize("sent", ["no", "yes", "False", "TRUE", "", "0", 0, 1, 2.5, [], {}])
def test_a_boolean_that_cannot_be_read_is_kept_as_sent_and_warned(sent: Any) -> None:
    data = {"fax_option": sent}
    media, warned = _read(EndpointMedia, data)
    assert media.fax_option == sent and type(media.fax_option) is type(sent)
    assert media.to_dict() == data  # an update sends it back unchanged
    assert len(warned) == 1
    w = warned[0]
    assert (w.model, w.field, w.value) == ("EndpointMedia", "fax_option", sent)
    assert "fax_option" in str(w) and "bool" in str(w)


@pytest.mark.parametrize(
    ("cls", "field", "sent"),
    [
        (User, "first_name", 5),  # became "5"
        (User, "first_name", 5.5),
        (User, "first_name", True),  # became "True"
        (User, "first_name", {"a": 1}),  # became "{'a': 1}"
        (TemporalRule, "interval", "2"),  # became 2
        (TemporalRule, "interval", 2.5),  # became 2
        (TemporalRule, "interval", True),  # became 1
        (TemporalRule, "interval", "two"),  # failed the whole call
        (User, "flags", "abc"),  # became ["a", "b", "c"]
        (User, "flags", {"a": 1}),  # became ["a"]
        (User, "flags", ["x", 5]),  # became ["x", "5"]
        (TemporalRule, "days", ["1", 2]),  # became [1, 2]
        (User, "call_forward", "on"),  # failed the whole call
        (User, "call_forward", ["x"]),
        (User, "priv_level", {"x": 1}),  # an enum field: failed the call (unhashable)
        (User, "call_restriction", "none"),  # a map of models: failed the call
    ],
)
def test_every_other_mismatch_is_kept_as_sent_and_warned(cls: Any, field: str, sent: Any) -> None:
    data = {"id": "x1", field: sent}
    model, warned = _read(cls, data)
    assert getattr(model, field) == sent
    assert type(getattr(model, field)) is type(sent)
    assert model.to_dict() == data
    assert [(w.model, w.field) for w in warned] == [(cls.__name__, field)]


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (User, {"id": "u1", "first_name": "Jane", "enabled": True, "flags": ["a"]}),
        (User, {"id": "u1", "call_forward": {"enabled": False, "number": "+14155550100"}}),
        (TemporalRule, {"id": "t1", "interval": 2, "days": [1, 15], "time_window_start": 0}),
        (User, {"id": "u1", "priv_level": "admin", "unknown": {"kept": [1, "x"]}}),
        (User, {"id": "u1", "priv_level": "superhero"}),  # an unlisted enum value: kept
    ],
)
def test_values_of_the_right_type_round_trip_without_warning(cls: Any, data: Any) -> None:
    model, warned = _read(cls, data)
    assert model.to_dict() == data
    assert warned == []


def test_a_whole_number_sent_as_float_reads_as_the_integer() -> None:
    # 32400.0 and 32400 are the same JSON number; Kazoo's integer type takes only the latter.
    rule, warned = _read(TemporalRule, {"id": "t1", "time_window_start": 32400.0})
    assert rule.time_window_start == 32400 and type(rule.time_window_start) is int
    assert warned == []


def test_an_integer_where_a_number_is_documented_stays_an_integer() -> None:
    from audian_async._generated.audian.models import Balance

    balance, warned = _read(Balance, {"balance": 3})
    assert balance.balance == 3 and type(balance.balance) is int
    assert balance.to_dict() == {"balance": 3}
    assert warned == []


def test_a_kept_secret_is_not_shown_in_the_warning() -> None:
    from audian_async._generated.audian.models import DeviceSip

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sip = DeviceSip.from_dict({"password": 123456789})
    assert sip.to_dict() == {"password": 123456789}
    (w,) = [c.message for c in caught if isinstance(c.message, UnexpectedValueWarning)]
    assert "123456789" not in str(w) and "123456789" not in repr(w.value)


async def test_users_get_then_update_sends_the_server_values_back_meaning_the_same(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    """A disabled user read with Kazoo's string booleans stays disabled after an update."""
    mock.get(USERS + "/u1").respond(
        200,
        json=envelope(
            {
                "id": "u1",
                "first_name": "Jane",
                "last_name": "Doe",
                "enabled": "false",
                "vm_to_email_enabled": "false",
                "call_forward": {"enabled": "false", "number": "+14155550100"},
                "media": {"fax_option": "maybe"},  # not a boolean Kazoo reads: kept
            }
        ),
    )
    update = mock.post(USERS + "/u1").respond(200, json=envelope({"id": "u1"}))
    with pytest.warns(UnexpectedValueWarning, match="fax_option"):
        user = await audian.users.get("u1")
    assert user.enabled is False and user.vm_to_email_enabled is False
    await audian.users.update(user.id, user, last_name="Smith")
    sent = json.loads(update.calls.last.request.content)["data"]
    assert sent["enabled"] is False
    assert sent["vm_to_email_enabled"] is False
    assert sent["call_forward"] == {"enabled": False, "number": "+14155550100"}
    assert sent["media"] == {"fax_option": "maybe"}  # back as the server sent it
    assert sent["last_name"] == "Smith" and sent["first_name"] == "Jane"


async def test_a_kept_value_changed_by_the_caller_is_validated_again(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    from audian_async import ValidationError

    mock.get(USERS + "/u1").respond(
        200, json=envelope({"id": "u1", "first_name": "J", "last_name": "D", "enabled": "maybe"})
    )
    with pytest.warns(UnexpectedValueWarning):
        user = await audian.users.get("u1")
    user.enabled = "perhaps"  # type: ignore[assignment]
    with pytest.raises(ValidationError) as info:
        await audian.users.update(user.id, user)
    assert info.value.field == "enabled"
