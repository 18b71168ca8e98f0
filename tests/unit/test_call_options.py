"""Per-call options: each one reaches the wire or the engine, on every kind of operation."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from audian_async import (
    AsyncAstradial,
    AsyncAudian,
    InternalServerError,
    NotFoundError,
    ValidationError,
)
from audian_async._errors import ArgumentTypeError
from tests.helpers import ACCOUNT, envelope, record_sleeps

USERS = f"/accounts/{ACCOUNT}/users"
USER = USERS + "/u1"
SECRET = "sk_live_do_not_log_me"


async def test_extra_headers_and_extra_query_are_sent(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USER).respond(200, json=envelope({"id": "u1"}))
    await audian.users.get("u1", extra_headers={"X-Trace": "t-1"}, extra_query={"debug": True})
    request = route.calls[0].request
    assert request.headers["x-trace"] == "t-1"
    assert request.url.params["debug"] == "true"


async def test_extra_body_is_merged_into_the_document(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).respond(201, json=envelope({"id": "u2"}))
    await audian.users.create(first_name="A", last_name="B", extra_body={"custom": {"k": 1}})
    assert json.loads(route.calls[0].request.content) == {
        "data": {"first_name": "A", "last_name": "B", "custom": {"k": 1}}
    }


async def test_extra_body_reaches_an_operation_without_a_body(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USER).respond(200, json=envelope({"id": "u1"}))
    await audian.users.get("u1", extra_body={"note": "x"})
    request = route.calls[0].request
    assert json.loads(request.content) == {"note": "x"}
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (1, 2), (3, 4)])
async def test_max_retries_limits_the_retries_of_one_call(
    audian: AsyncAudian,
    mock: respx.MockRouter,
    sleeps: list[float],
    max_retries: int,
    attempts: int,
) -> None:
    route = mock.get(USER).respond(503)
    with pytest.raises(InternalServerError) as caught:
        await audian.users.get("u1", max_retries=max_retries)
    assert route.call_count == attempts
    assert caught.value.retries_taken == attempts - 1
    route.reset()
    with pytest.raises(InternalServerError):
        await audian.users.get("u1")  # the client's own setting (2) is untouched
    assert route.call_count == 3


async def test_timeout_is_the_attempt_timeout(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.get(USER).respond(200, json=envelope({"id": "u1"}))
    await audian.users.get("u1", timeout=3.5)
    await audian.users.get("u1")
    assert route.calls[0].request.extensions["timeout"] == dict.fromkeys(
        ("connect", "read", "write", "pool"), 3.5
    )
    assert route.calls[1].request.extensions["timeout"]["read"] == 30.0  # the client's


async def test_deadline_caps_the_attempt_and_stops_the_retries(
    audian: AsyncAudian, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps = record_sleeps(monkeypatch, frozen=True)  # only backoff sleeps move the clock
    route = mock.get(USER).respond(503, headers={"Retry-After": "0.4"})
    with pytest.raises(InternalServerError):
        await audian.users.get("u1", deadline=1.0, max_retries=50)
    assert sleeps == [0.4, 0.4]  # a third wait would end past the one-second budget
    assert route.call_count == 3
    first, last = (route.calls[i].request.extensions["timeout"] for i in (0, 2))
    assert first["read"] == pytest.approx(1.0)  # 30 s read timeout capped by the budget
    assert last["read"] == pytest.approx(0.2)  # what is left after 0.8 s of backoff


async def test_deadline_none_lifts_the_clients_deadline(
    mock: respx.MockRouter, auth_route: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps = record_sleeps(monkeypatch, frozen=True)
    mock.get(USER).mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "5"})] * 2
        + [httpx.Response(200, json=envelope({"id": "u1"}))]
    )
    async with AsyncAudian(api_key="k" * 64, deadline=1.0) as audian:
        with pytest.raises(InternalServerError):
            await audian.users.get("u1")  # 5 s of Retry-After does not fit in 1 s
        assert (await audian.users.get("u1", deadline=None)).id == "u1"
    assert sleeps == [5.0]  # the first call gave up at once; the second waited


async def test_options_reach_a_listing_and_its_every_page(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).mock(
        side_effect=[
            httpx.Response(200, json=envelope([{"id": "u1"}], next_start_key="k2")),
            httpx.Response(200, json=envelope([{"id": "u2"}])),
        ]
    )
    users = audian.users.list(extra_headers={"X-Trace": "t"}, extra_query={"q": "1"}, timeout=4)
    assert [u.id async for u in users] == ["u1", "u2"]
    for call in route.calls:
        assert call.request.headers["x-trace"] == "t"
        assert call.request.url.params["q"] == "1"
        assert call.request.extensions["timeout"]["read"] == 4


async def test_options_reach_a_download(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.get(f"/accounts/{ACCOUNT}/vmboxes/b1/messages/m1/raw").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"RIFF")]
    )
    download = audian.vmboxes.download_message(
        "b1", "m1", extra_headers={"X-Trace": "t"}, extra_query={"q": "1"}, timeout=2
    )
    async with download as response:
        assert await response.read() == b"RIFF"
    request = route.calls[-1].request
    assert request.headers["x-trace"] == "t" and request.url.params["q"] == "1"
    assert request.extensions["timeout"]["read"] == 2
    route.reset()
    route.side_effect = [httpx.Response(503), httpx.Response(200, content=b"RIFF")]
    with pytest.raises(InternalServerError):
        async with audian.vmboxes.download_message("b1", "m1", max_retries=0):
            pass  # pragma: no cover - the 503 raises on entry
    assert route.call_count == 1


async def test_an_upload_sends_extra_body_as_form_fields(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(f"/accounts/{ACCOUNT}/faxes").respond(
        201, json=envelope({"id": "f1", "to_number": "+15550100"})
    )
    await audian.faxes.send_upload(
        document=b"%PDF-1.4",
        to_number="+15550100",
        from_number="+15550199",
        extra_body={"retries": 3},
        extra_headers={"X-Trace": "t"},
    )
    request = route.calls[0].request
    assert b'name="retries"\r\n\r\n3\r\n' in request.content
    assert request.headers["x-trace"] == "t"


async def test_a_misspelt_option_is_refused_before_sending(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USER).respond(200, json=envelope({"id": "u1"}))
    with pytest.raises(TypeError, match=r"'timout'.*deadline, extra_body"):
        await audian.users.get("u1", timout=5)  # type: ignore[call-arg]
    with pytest.raises(ArgumentTypeError) as caught:
        await audian.users.get("u1", deadline="5")  # type: ignore[arg-type]
    assert caught.value.field == "deadline"
    with pytest.raises(ArgumentTypeError, match="max_retries"):
        await audian.users.get("u1", max_retries=-1)
    assert not route.called


async def test_validate_false_skips_the_check_for_one_call(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.put(USERS).respond(201, json=envelope({"id": "u2"}))
    with pytest.raises(ValidationError):
        await audian.users.create(first_name="A", last_name="B", priv_level="root")
    await audian.users.create(first_name="A", last_name="B", priv_level="root", validate=False)
    assert route.call_count == 1


async def test_secrets_in_extra_headers_are_not_logged_or_shown(
    audian: AsyncAudian, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get(USER).respond(404, json={"error": "404", "message": "bad_identifier"})
    headers = {"Authorization": f"Bearer {SECRET}", "X-Auth-Token": SECRET}
    with (
        caplog.at_level(logging.DEBUG, logger="audian_async"),
        pytest.raises(NotFoundError) as caught,
    ):
        await audian.users.get("u1", extra_headers=headers)
    assert caplog.records  # the call was logged ...
    assert SECRET not in caplog.text  # ... without the secret
    error = caught.value
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET not in repr(error.request) and SECRET not in str(error.request.headers)


async def test_secret_named_extra_headers_are_masked_in_errors(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USER).respond(404, json={"error": "404", "message": "bad_identifier"})
    headers = {
        "X-Webhook-Secret": SECRET,
        "Proxy-Authorization": f"Basic {SECRET}",
        "X-Session-Token": SECRET,
        "X-Trace": "t-1",
    }
    with pytest.raises(NotFoundError) as caught:
        await audian.users.get("u1", extra_headers=headers)
    assert route.calls[0].request.headers["x-webhook-secret"] == SECRET  # sent as given
    shown = caught.value.request.headers
    assert SECRET not in repr(caught.value.request) and SECRET not in str(dict(shown))
    assert shown["x-webhook-secret"] == shown["proxy-authorization"] == "***"
    assert shown["x-trace"] == "t-1"  # other headers stay readable


async def test_astradial_per_call_options_and_the_menu_retries_field() -> None:
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        route = router.post("/ivrs").mock(
            side_effect=[
                httpx.Response(503),
                httpx.Response(201, json={"id": "i1", "name": "Main", "extension": "6000"}),
            ]
        )
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            with pytest.raises(InternalServerError):
                await astra.ivrs.create(name="Main", extension="6000", max_retries=0)
            ivr = await astra.ivrs.create(
                name="Main", extension="6000", menu_retries=2, extra_headers={"X-Trace": "t"}
            )
    assert ivr.id == "i1" and route.call_count == 2
    sent = route.calls[1].request
    assert json.loads(sent.content) == {"name": "Main", "extension": "6000", "max_retries": 2}
    assert sent.headers["x-trace"] == "t"
