"""Server errors become typed exceptions; bad input is refused before sending."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from audian_async import (
    APIStatusError,
    AsyncAudian,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
    ValidationError,
)
from tests.helpers import ACCOUNT, envelope

USERS = f"/accounts/{ACCOUNT}/users"
DEVICES = f"/accounts/{ACCOUNT}/devices"

KAZOO_VALIDATION = {
    "auth_token": "eyJhbGciOi.secret-token.sig",
    "status": "error",
    "error": "400",
    "message": "validation error",
    "request_id": "req-400",
    "data": {
        "username": {
            "unique": {"message": "Username must be unique within account", "cause": "janesmith"}
        },
        "sip.password": {
            "minLength": {
                "message": "String must be at least 5 characters",
                "value": "abc",
                "target": 5,
            }
        },
    },
}


async def test_kazoo_validation_error_becomes_bad_request_with_field_map(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.put(USERS).respond(400, json=KAZOO_VALIDATION)
    with pytest.raises(BadRequestError) as info:
        await audian.users.create(first_name="Jane", last_name="Smith", username="janesmith")
    err = info.value
    assert err.status_code == 400
    assert err.request_id == "req-400"
    assert err.error == "validation error"
    assert err.field_errors["username"] == {"unique": "Username must be unique within account"}
    assert err.details["username"]["unique"]["cause"] == "janesmith"
    # the echoed value of a secret field is redacted, and so is the echoed token
    assert err.details["sip.password"]["minLength"]["value"] == "***"
    assert (
        "abc" not in str(err)
        and "secret-token" not in str(err)
        and "secret-token" not in repr(err.body)
    )
    assert "username (unique: Username must be unique within account)" in str(err)
    assert "request_id=req-400" in str(err)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (500, InternalServerError),
        (520, InternalServerError),
        (418, APIStatusError),
        (499, APIStatusError),
    ],
)
async def test_status_codes_map_to_exception_classes(
    audian: AsyncAudian,
    mock: respx.MockRouter,
    status: int,
    cls: type[APIStatusError],
    sleeps: list[float],
) -> None:
    body = {
        "status": "error",
        "error": str(status),
        "message": "bad_identifier",
        "data": {"message": "resource not found"},
    }
    mock.delete(USERS + "/u1").respond(status, json=body, headers={"X-Request-ID": "hdr-id"})
    with pytest.raises(cls) as info:
        await audian.users.delete("u1")
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert info.value.server_message == "resource not found"
    assert info.value.request_id == "hdr-id"


async def test_non_json_error_body_is_kept_as_text(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(USERS + "/u1").respond(
        500, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"}
    )
    with pytest.raises(InternalServerError) as info:
        await audian.users.get("u1")
    assert info.value.body == "<html>Bad Gateway</html>"
    assert "Bad Gateway" in str(info.value)


async def test_flat_error_shape_of_account_creation(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    body = {
        "error": {
            "code": "INVALID_REQUEST",
            "message": "Missing required field: name",
            "details": {"field": "name"},
        }
    }
    mock.post("/accounts").respond(400, json=body)
    with pytest.raises(BadRequestError) as info:
        await audian.accounts.create(name="Acme", email="admin@acme.com")
    assert info.value.error == "INVALID_REQUEST"
    assert info.value.server_message == "Missing required field: name"
    assert info.value.details == {"field": "name"}


async def test_delete_accepts_204_and_200_with_the_document(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.delete(USERS + "/u1").respond(204)
    assert await audian.users.delete("u1") is None
    mock.delete(USERS + "/u2").respond(
        200, json=envelope({"id": "u2", "_read_only": {"deleted": True}})
    )
    deleted = await audian.users.delete("u2")
    assert deleted is not None and deleted.id == "u2"
    assert deleted.extra == {"_read_only": {"deleted": True}}


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"first_name": "", "last_name": "S"}, "first_name", "minLength"),
        ({"first_name": "x" * 129, "last_name": "S"}, "first_name", "maxLength"),
        ({"first_name": "J", "last_name": "S", "email": "not-an-email"}, "email", "format"),
        ({"first_name": "J", "last_name": "S", "username": "has space"}, "username", "pattern"),
        ({"first_name": "J", "last_name": "S", "priv_level": "root"}, "priv_level", "enum"),
        (
            {"first_name": "J", "last_name": "S", "caller_id": {"internal": {"name": "n" * 36}}},
            "caller_id.internal.name",
            "maxLength",
        ),
        ({"first_name": "J", "last_name": "S", "enabled": "yes"}, "enabled", "type"),
    ],
)
async def test_client_side_validation_names_field_and_rule(
    audian: AsyncAudian, mock: respx.MockRouter, kwargs: dict[str, object], field: str, rule: str
) -> None:
    route = mock.put(USERS).respond(201, json=envelope({"id": "u"}))
    with pytest.raises(ValidationError) as info:
        await audian.users.create(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.rule == rule
    assert field in str(info.value) and rule in str(info.value)
    assert route.call_count == 0


async def test_required_fields_of_a_replace_are_checked_and_secrets_not_echoed(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.post(DEVICES + "/d1").respond(200, json=envelope({"id": "d1"}))
    with pytest.raises(ValidationError) as info:
        await audian.devices.update("d1", sip={"password": "abc"})
    assert (info.value.field, info.value.rule) == ("name", "required")
    with pytest.raises(ValidationError) as info:
        await audian.devices.update("d1", name="Desk", sip={"password": "abc"})
    assert (info.value.field, info.value.rule) == ("sip.password", "minLength")
    assert "abc" not in str(info.value)
    assert route.call_count == 0


async def test_open_enums_are_not_rejected(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.put(DEVICES).respond(201, json=envelope({"id": "d1", "device_type": "teammate"}))
    device = await audian.devices.create(name="Bot", device_type="teammate")
    assert device.device_type == "teammate"
    assert json.loads(route.calls[0].request.read())["data"]["device_type"] == "teammate"


async def test_patch_sends_only_given_fields_and_none_as_null(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.patch(USERS + "/u1").respond(200, json=envelope({"id": "u1"}))
    await audian.users.patch("u1", first_name="Janet", timezone=None)
    assert json.loads(route.calls[0].request.read()) == {
        "data": {"first_name": "Janet", "timezone": None}
    }


async def test_update_keeps_unknown_fields_on_read_modify_write(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    doc = {
        "id": "u1",
        "first_name": "Jane",
        "last_name": "Smith",
        "custom_field": {"a": 1},
        "caller_id": {"internal": {"number": "100", "x": 1}},
    }
    mock.get(USERS + "/u1").respond(200, json=envelope(doc))
    route = mock.post(USERS + "/u1").respond(200, json=envelope(doc))
    user = await audian.users.get("u1")
    user.first_name = "Janet"
    await audian.users.update(user.id, user, timezone="Europe/Paris")
    sent = json.loads(route.calls[0].request.read())["data"]
    expected = {**doc, "first_name": "Janet", "timezone": "Europe/Paris"}
    del expected["id"]  # server-owned (readOnly): never sent back
    assert sent == expected


async def test_callflow_needs_a_number_or_pattern(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(f"/accounts/{ACCOUNT}/callflows").respond(201, json=envelope({"id": "c1"}))
    with pytest.raises(ValidationError) as info:
        await audian.callflows.create(name="Main", flow={"module": "user", "data": {"id": "u1"}})
    assert info.value.rule == "required"
    await audian.callflows.create(
        name="Main", numbers=["+14155550100"], flow={"module": "user", "data": {}}
    )
    assert route.call_count == 1


async def test_flat_account_creation_rules(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.post("/accounts").respond(
        201, json={"id": "acc_1", "name": "Acme", "createdAt": "2026-01-01T00:00:00Z"}
    )
    for kwargs, field, rule in [
        ({"name": "A" * 101, "email": "a@b.co"}, "name", "maxLength"),
        ({"name": "Acme", "email": "nope"}, "email", "format"),
        ({"name": "Acme", "email": "a@b.co", "plan": "gold"}, "plan", "enum"),
        ({"name": "Acme", "email": "a@b.co", "phone": "call me"}, "phone", "pattern"),
        (
            {"name": "Acme", "email": "a@b.co", "settings": {"timezone": "Mars/Olympus"}},
            "settings.timezone",
            "format",
        ),
    ]:
        with pytest.raises(ValidationError) as info:
            await audian.accounts.create(**kwargs)  # type: ignore[arg-type]
        assert (info.value.field, info.value.rule) == (field, rule)
    account = await audian.accounts.create(
        name="Acme",
        email="admin@acme.com",
        phone="+1-555-0100",
        plan="professional",
        settings={"timezone": "America/Los_Angeles"},
    )
    assert account.id == "acc_1" and account.created_at == "2026-01-01T00:00:00Z"
    sent = json.loads(route.calls[0].request.read())
    assert "data" not in sent and sent["settings"] == {"timezone": "America/Los_Angeles"}


async def test_phone_number_path_segment_encodes_plus(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(url__regex=r".*/phone_numbers/%2B14155550001$").respond(
        201, json=envelope({"id": "+14155550001"})
    )
    number = await audian.phone_numbers.add("+14155550001")
    assert number.id == "+14155550001"
    assert route.calls[0].request.url.raw_path.endswith(b"/phone_numbers/%2B14155550001")


async def test_path_segments_are_fully_encoded_and_dot_segments_refused(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(url__regex=r".*/users/a%2Fb%20c$").respond(200, json=envelope({"id": "x"}))
    await audian.users.get("a/b c")
    assert route.call_count == 1
    with pytest.raises(ValueError):
        await audian.users.get("..")
    with pytest.raises(ValueError):
        await audian.users.get("")


async def test_response_that_does_not_fit_the_model_is_a_typed_error(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    from audian_async import APIResponseValidationError

    mock.get(USERS + "/u1").respond(200, json=envelope(["not", "an", "object"]))
    with pytest.raises(APIResponseValidationError):
        await audian.users.get("u1")


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(ValidationError, ValueError)


async def test_server_500_with_request_id_from_envelope(
    audian: AsyncAudian, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(USERS + "/u1").mock(
        return_value=httpx.Response(
            500,
            json={
                "status": "error",
                "error": "500",
                "message": "unknown failure",
                "request_id": "r500",
            },
        )
    )
    with pytest.raises(InternalServerError) as info:
        await audian.users.get("u1")
    assert info.value.request_id == "r500"
    assert info.value.server_message == "unknown failure"


def test_time_zones_are_checked_without_listing_the_whole_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import zoneinfo

    from audian_async._validate import _is_timezone

    def listing_is_too_slow() -> set[str]:
        raise AssertionError("available_timezones() must not run in the request path")

    monkeypatch.setattr(zoneinfo, "available_timezones", listing_is_too_slow)
    _is_timezone.cache_clear()
    assert _is_timezone("America/Los_Angeles")
    assert not _is_timezone("Mars/Olympus_Mons")
    assert not _is_timezone("../../etc/passwd")


async def test_an_argument_of_the_wrong_type_is_a_validation_error_that_names_it(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    import io

    from audian_async._errors import ArgumentTypeError

    with pytest.raises(ValidationError) as body_error:
        await audian.users.update("u1", 42)  # type: ignore[arg-type]
    exc = body_error.value
    assert isinstance(exc, ArgumentTypeError) and isinstance(exc, TypeError)
    assert exc.field == "body" and exc.rule == "type"
    assert "must be a model or a mapping, not int" in str(exc)
    for document in ("not-a-file.pdf", io.StringIO("text, not bytes")):
        with pytest.raises(TypeError) as file_error:
            await audian.faxes.send_upload(
                document=document,  # type: ignore[arg-type]
                to_number="+15550001",
                from_number="+15550002",
            )
        assert isinstance(file_error.value, ValidationError)
        assert file_error.value.field == "document" and file_error.value.rule == "type"
    sent = [call.request.url.path for call in mock.calls]
    assert all(path.endswith("/api_auth") for path in sent)  # nothing else was sent
