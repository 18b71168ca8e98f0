"""The simulator's Kazoo behaviour for the families beyond users, devices and callflows."""

from __future__ import annotations

import httpx

from audian_async.testing import Simulator
from audian_async.testing._audian._cdrs import MAX_RANGE
from audian_async.testing._audian._forms import parse_form

from .conftest import Session


async def test_cdr_page_keys_are_integers_and_windows_are_bounded(
    sim: Simulator, session: Session
) -> None:
    now = sim.clock.gregorian()
    for offset in (300, 200, 100):
        sim.add_cdr(timestamp=now - offset)
    first = (await session.get("/cdrs", params={"page_size": 2})).json()
    assert [c["timestamp"] for c in first["data"]] == [now - 300, now - 200]
    assert first["next_start_key"] == now - 100
    rest = await session.get("/cdrs", params={"page_size": 2, "start_key": now - 100})
    assert [c["timestamp"] for c in rest.json()["data"]] == [now - 100]
    assert "next_start_key" not in rest.json()
    bad_key = await session.get("/cdrs", params={"start_key": "abc"})
    assert bad_key.status_code == 400 and "start_key" in bad_key.json()["data"]
    too_long = await session.get(
        "/cdrs", params={"created_from": now - MAX_RANGE - 1, "created_to": now}
    )
    assert too_long.status_code == 400
    assert "date_range" in too_long.json()["data"]["created_from"]
    backwards = await session.get("/cdrs", params={"created_from": now, "created_to": now - 1})
    assert backwards.status_code == 400


async def test_a_message_folder_outside_kazoos_three_is_refused(
    sim: Simulator, session: Session
) -> None:
    box = (await session.put("/vmboxes", {"name": "Box", "mailbox": "100"})).json()["data"]
    message = sim.leave_voicemail(box["id"])
    path = f"/vmboxes/{box['id']}/messages/{message['media_id']}"
    refused = await session.post(path, {"folder": "archived"})
    assert refused.status_code == 400 and "enum" in refused.json()["data"]["folder"]
    raw = await session.get(path + "/raw")
    assert raw.headers["content-type"] == "audio/mpeg" and raw.content.startswith(b"ID3")


async def test_a_broken_multipart_upload_is_a_validation_error(
    sim: Simulator, session: Session
) -> None:
    response = await session.client.put(
        session.url("/faxes"),
        content=b"not a form",
        headers={**session.headers, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 400 and "multipart" in response.json()["data"]
    no_file = await session.client.put(
        session.url("/faxes"),
        files={"to_number": (None, "+1"), "from_number": (None, "+2")},
        headers=session.headers,
    )
    assert no_file.status_code == 400 and "required" in no_file.json()["data"]["document"]


def test_parse_form_reads_fields_and_files() -> None:
    request = httpx.Request(
        "PUT",
        "http://x/",
        files={"document": ("a.pdf", b"%PDF-1", "application/pdf")},
        data={"to_number": "+1415"},
    )
    body = request.read()
    fields, files = parse_form(request.headers["content-type"], body)
    assert fields == {"to_number": "+1415"}
    assert files == {"document": ("a.pdf", "application/pdf", b"%PDF-1")}


async def test_billable_creates_answer_402_until_charges_are_accepted(
    sim: Simulator, session: Session
) -> None:
    sim.require_charges("users")
    refused = await session.put("/users", {"first_name": "A", "last_name": "B"})
    assert refused.status_code == 402 and refused.json()["message"] == "accept charges"
    assert refused.json()["data"]["users"]["user"]["rate"] == 5.0
    accepted = await session.client.put(
        session.url("/users"),
        json={"data": {"first_name": "A", "last_name": "B"}, "accept_charges": True},
        headers=session.headers,
    )
    assert accepted.status_code == 201
    assert sim.state.user_count() == 1


async def test_logout_revokes_only_that_token(sim: Simulator, session: Session) -> None:
    other = sim.mint_token()
    info = await session.client.get("/token_auth", headers=session.headers)
    assert info.json()["data"]["method"] == "cb_api_auth"
    assert (await session.client.delete("/token_auth", headers=session.headers)).status_code == 200
    assert (await session.get("/users")).status_code == 401
    assert (await session.client.get("/token_auth", headers={"X-Auth-Token": other})).is_success
