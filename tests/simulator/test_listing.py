"""Pagination and query-string filters on collection GETs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from audian_async.testing import Simulator
from audian_async.testing._sim_clock import GREGORIAN_OFFSET

from .conftest import Session


def _seed_users(sim: Simulator, account_id: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        doc = sim.create(
            "users",
            account_id,
            {
                "first_name": f"F{i}",
                "last_name": f"L{i}",
                "username": f"user{i}",
                "enabled": i % 2 == 0,
                "priv_level": "admin" if i % 5 == 0 else "user",
                "caller_id": {"internal": {"number": str(1000 + i)}},
                **({"email": f"u{i}@example.com"} if i < 3 else {}),
            },
        )
        ids.append(doc["id"])
    return ids


async def _all_pages(session: Session, **params: Any) -> tuple[list[dict[str, Any]], int]:
    seen: list[dict[str, Any]] = []
    pages = 0
    query = dict(params)
    while True:
        body = (await session.get("/users", params=query)).json()
        pages += 1
        seen.extend(body["data"])
        assert body["page_size"] == len(body["data"])
        if "start_key" in query:
            assert body["start_key"] == query["start_key"]
        if "next_start_key" not in body:
            return seen, pages
        query["start_key"] = body["next_start_key"]


async def test_pagination_walks_everything_in_order(sim: Simulator, session: Session) -> None:
    ids = _seed_users(sim, session.account_id, 120)
    first = (await session.get("/users")).json()
    assert first["page_size"] == 50 and "start_key" not in first and "next_start_key" in first
    assert "=" not in first["next_start_key"]
    seen, pages = await _all_pages(session, page_size=25)
    assert [u["id"] for u in seen] == ids and pages == 5
    everything = (
        await session.get("/users", params={"paginate": "false", "page_size": "3"})
    ).json()
    assert len(everything["data"]) == 120
    assert not {"page_size", "start_key", "next_start_key"} & set(everything)


async def test_exact_page_boundary_has_no_next_key(sim: Simulator, session: Session) -> None:
    _seed_users(sim, session.account_id, 10)
    body = (await session.get("/users", params={"page_size": 10})).json()
    assert body["page_size"] == 10 and "next_start_key" not in body
    empty = (await session.get("/devices")).json()
    assert empty["data"] == [] and empty["page_size"] == 0


async def test_deleting_during_a_walk_keeps_the_cursor_valid(
    sim: Simulator, session: Session
) -> None:
    ids = _seed_users(sim, session.account_id, 6)
    body = (await session.get("/users", params={"page_size": 3})).json()
    await session.delete(f"/users/{ids[3]}")  # the first row of the next page
    rest = (
        await session.get("/users", params={"page_size": 3, "start_key": body["next_start_key"]})
    ).json()
    assert [u["id"] for u in rest["data"]] == ids[4:]


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5"])
async def test_invalid_page_size(session: Session, size: str) -> None:
    response = await session.get("/users", params={"page_size": size})
    assert response.status_code == 404
    assert response.json()["message"] == "faulty_request"
    assert response.json()["data"] == {"message": "invalid page size"}


async def test_undecodable_start_key_is_400(session: Session) -> None:
    for key in ("!!!", base64.urlsafe_b64encode(b'{"a":1}').decode().rstrip("=")):
        response = await session.get("/users", params={"start_key": key})
        assert response.status_code == 400 and "start_key" in response.json()["data"]
    wrong_type = base64.urlsafe_b64encode(json.dumps(["text"]).encode()).decode().rstrip("=")
    await session.put("/users", {"first_name": "a", "last_name": "b"})
    assert (await session.get("/users", params={"start_key": wrong_type})).status_code == 400


async def _names(session: Session, params: Any) -> list[str]:
    response = await session.get("/users", params=params)
    assert response.status_code == 200, response.text
    return [u["username"] for u in response.json()["data"]]


async def test_filters(sim: Simulator, session: Session) -> None:
    _seed_users(sim, session.account_id, 10)
    assert await _names(session, {"filter_username": "user3"}) == ["user3"]
    assert await _names(session, [("filter_username", "user3"), ("filter_username", "user7")]) == [
        "user3",
        "user7",
    ]
    assert await _names(session, {"filter_username": '["user1","user2"]'}) == ["user1", "user2"]
    assert await _names(session, {"filter_enabled": "false", "filter_priv_level": "admin"}) == [
        "user5"
    ]
    assert len(await _names(session, {"filter_enabled": "true"})) == 5
    assert await _names(session, {"filter_caller_id.internal.number": "1004"}) == ["user4"]
    assert len(await _names(session, {"filter_not_priv_level": "user"})) == 2
    assert (
        len(
            await _names(
                session, [("filter_not_username", "user1"), ("filter_not_username", "user2")]
            )
        )
        == 8
    )
    assert await _names(session, {"has_key": "email", "filter_username": "user2"}) == ["user2"]
    assert len(await _names(session, {"key_missing": "email"})) == 7
    assert len(await _names(session, {"filter_email": ""})) == 7  # empty matches missing
    assert await _names(session, {"filter_username": "nobody"}) == []


async def test_created_range_filters(sim: Simulator, session: Session) -> None:
    sim.create(
        "users", session.account_id, {"first_name": "a", "last_name": "a", "username": "early"}
    )
    stamp = sim.clock.unix() + GREGORIAN_OFFSET
    sim.advance_clock(100)
    sim.create(
        "users", session.account_id, {"first_name": "b", "last_name": "b", "username": "late"}
    )
    assert await _names(session, {"created_from": str(stamp + 50)}) == ["late"]
    assert await _names(session, {"created_to": str(stamp + 50)}) == ["early"]
    bad = await session.get("/users", params={"created_from": "yesterday"})
    assert bad.status_code == 400 and "created_from" in bad.json()["data"]
