"""Fault injection in-process (ASGITransport) and the request log."""

from __future__ import annotations

import httpx
import pytest
import trio

from audian_async.testing import (
    ConnectionDropped,
    Simulator,
    delay,
    drop_after,
    drop_before,
    status,
)

from .conftest import USER, Session


async def test_scripted_status_faults_in_order(sim: Simulator, session: Session) -> None:
    sim.faults.script(method="GET", path_contains="/users", times=2, kind=status(429))
    sim.faults.script(kind=status(503, retry_after=3))
    first = await session.get("/users")
    assert first.status_code == 429 and first.json()["message"] == "too_many_requests"
    assert "retry-after" not in first.headers
    assert (await session.get("/users")).status_code == 429
    third = await session.get("/users")
    assert third.status_code == 503 and third.headers["retry-after"] == "3"
    assert third.json()["status"] == "error" and third.json()["error"] == "503"
    assert (await session.get("/users")).status_code == 200
    assert sim.faults.pending == []


async def test_fault_matching_by_method_and_path(sim: Simulator, session: Session) -> None:
    entry = sim.faults.script(method="PUT", path_contains="/devices", times=None, kind=504)
    assert (await session.put("/users", USER)).status_code == 201
    assert (await session.put("/devices", {"name": "d"})).status_code == 504
    assert (await session.put("/devices", {"name": "d"})).status_code == 504
    assert entry.hits == 2 and sim.state.count("devices") == 0
    sim.faults.clear()
    assert (await session.put("/devices", {"name": "d"})).status_code == 201


async def test_gateway_html_body(sim: Simulator, session: Session) -> None:
    sim.faults.script(kind=status(502, html=True))
    response = await session.get("/users")
    assert response.status_code == 502 and response.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text


async def test_drop_before_in_process_raises_and_does_not_act(
    sim: Simulator, session: Session
) -> None:
    sim.faults.script(method="PUT", kind=drop_before)
    with pytest.raises(ConnectionDropped) as caught:
        await session.put("/users", USER)
    assert isinstance(caught.value, httpx.RemoteProtocolError)
    assert sim.state.user_count() == 0
    assert sim.requests[-1].dropped and sim.requests[-1].fault == "drop_before"


async def test_drop_after_in_process_acts_then_raises(sim: Simulator, session: Session) -> None:
    sim.faults.script(method="PUT", path_contains="/users", kind=drop_after)
    with pytest.raises(httpx.RemoteProtocolError):
        await session.put("/users", USER)
    assert sim.state.user_count(session.account_id) == 1
    # a naive retry now hits the uniqueness rule: the outcome really was "created"
    retry = await session.put("/users", USER)
    assert retry.status_code == 400 and "unique" in retry.json()["data"]["username"]


async def test_delay_before_and_after(sim: Simulator, session: Session) -> None:
    sim.clock.virtual_sleep = True
    sim.faults.script(kind=delay(0.2))
    assert (await session.get("/users")).status_code == 200
    assert sim.clock.sleeps == [0.2] and sim.clock.offset == pytest.approx(0.2)
    sim.faults.script(kind=delay(0.3, after=True))
    created = await session.put("/users", USER)
    assert created.status_code == 201 and sim.clock.sleeps == [0.2, 0.3]
    assert sim.state.user_count() == 1


async def test_random_faults_are_seeded(sim: Simulator, session: Session) -> None:
    async def pattern() -> list[int]:
        sim.faults.clear()
        sim.faults.rate(status(503), 0.5, seed=7, path_contains="/users")
        return [(await session.get("/users")).status_code for _ in range(12)]

    one, two = await pattern(), await pattern()
    assert one == two and 503 in one and 200 in one
    with pytest.raises(ValueError):
        sim.faults.rate(drop_before, 1.5)


async def test_request_log(sim: Simulator, session: Session) -> None:
    sim.requests.clear()
    await session.get("/users", params={"page_size": 2}, headers={"X-Request-ID": "abc"})
    sim.faults.script(kind=503)
    await session.get("/devices")
    assert [(r.method, r.status) for r in sim.requests] == [("GET", 200), ("GET", 503)]
    assert sim.requests[0].path == f"/v2/accounts/{session.account_id}/users"
    assert sim.requests[0].query == "page_size=2" and sim.requests[0].request_id == "abc"
    assert sim.requests[1].fault == "status(503)" and sim.requests[1].request_id
    assert len(sim.requests.matching(path_contains="/devices")) == 1
    sim.requests.clear()
    assert len(sim.requests) == 0


def test_in_process_under_trio(sim: Simulator) -> None:
    async def main() -> tuple[int, bool]:
        transport = httpx.ASGITransport(app=sim)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test/v2") as client:
            auth = (
                await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
            ).json()
            url = f"/accounts/{auth['data']['account_id']}/users"
            headers = {"X-Auth-Token": auth["auth_token"]}
            sim.faults.script(kind=delay(0.01))
            code = (await client.get(url, headers=headers)).status_code
            sim.faults.script(kind=drop_before)
            try:
                await client.get(url, headers=headers)
            except ConnectionDropped:
                return code, True
            return code, False

    assert trio.run(main) == (200, True)
