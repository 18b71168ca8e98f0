"""Real HTTP over loopback with serve(): sync, asyncio and trio clients; real connection drops."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import trio

from audian_async.testing import (
    RunningServer,
    Simulator,
    SimulatorConfig,
    create_app,
    delay,
    drop_after,
    drop_before,
    serve,
)

from .conftest import USER


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Simulator, RunningServer]]:
    sim = create_app(SimulatorConfig(bucket_size=None))
    with serve(sim) as server:
        yield sim, server


@pytest.fixture(autouse=True)
def _clean(live: tuple[Simulator, RunningServer]) -> None:
    live[0].reset()


def _auth(client: httpx.Client, sim: Simulator) -> tuple[dict[str, str], str]:
    body = client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}}).json()
    return {"X-Auth-Token": body["auth_token"]}, body["data"]["account_id"]


def test_sync_client_round_trip(live: tuple[Simulator, RunningServer]) -> None:
    sim, server = live
    assert server.base_url.startswith("http://127.0.0.1:") and server.port > 0
    with httpx.Client(base_url=f"{server.base_url}/v2") as client:
        headers, account = _auth(client, sim)
        created = client.put(f"/accounts/{account}/users", json={"data": USER}, headers=headers)
        assert created.status_code == 201
        listed = client.get(f"/accounts/{account}/users", headers=headers)
        assert [u["id"] for u in listed.json()["data"]] == [created.json()["data"]["id"]]
        number = client.put(
            f"/accounts/{account}/phone_numbers/%2B14155550001", json={"data": {}}, headers=headers
        )
        assert number.status_code == 201 and number.json()["data"]["id"] == "+14155550001"


async def test_asyncio_drops_are_real_disconnects(live: tuple[Simulator, RunningServer]) -> None:
    sim, server = live
    async with httpx.AsyncClient(base_url=f"{server.base_url}/v2") as client:
        body = (
            await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
        ).json()
        headers, account = {"X-Auth-Token": body["auth_token"]}, body["data"]["account_id"]
        sim.faults.script(method="PUT", kind=drop_before)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.put(f"/accounts/{account}/users", json={"data": USER}, headers=headers)
        assert sim.state.user_count() == 0
        sim.faults.script(method="PUT", kind=drop_after)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.put(f"/accounts/{account}/users", json={"data": USER}, headers=headers)
        assert sim.state.user_count() == 1
        # the connection pool recovers and later requests succeed
        assert (await client.get(f"/accounts/{account}/users", headers=headers)).status_code == 200
    assert [r.status for r in sim.requests][-3:] == [None, None, 200]


def test_slow_response_times_out_client(live: tuple[Simulator, RunningServer]) -> None:
    sim, server = live
    with httpx.Client(base_url=f"{server.base_url}/v2") as client:
        headers, account = _auth(client, sim)
        sim.faults.script(method="PUT", kind=delay(0.5, after=True))
        with pytest.raises(httpx.ReadTimeout):
            client.put(
                f"/accounts/{account}/users", json={"data": USER}, headers=headers, timeout=0.1
            )
        assert sim.clock.sleeping.wait(timeout=30)  # the delay after acting has begun
        assert sim.state.user_count() == 1  # acted on, although the client gave up


def test_trio_client(live: tuple[Simulator, RunningServer]) -> None:
    sim, server = live

    async def main() -> int:
        async with httpx.AsyncClient(base_url=f"{server.base_url}/v2") as client:
            body = (
                await client.put("/api_auth", json={"data": {"api_key": sim.default_api_key}})
            ).json()
            response = await client.get(
                f"/accounts/{body['data']['account_id']}/users",
                headers={"X-Auth-Token": body["auth_token"]},
            )
            return response.status_code

    assert trio.run(main) == 200


def test_serve_stops_cleanly() -> None:
    sim = create_app()
    with serve(sim) as server:
        url = f"{server.base_url}/v2/api_auth"
        assert httpx.put(url, json={"data": {"api_key": sim.default_api_key}}).status_code == 201
    with pytest.raises(httpx.ConnectError):
        httpx.put(url, json={"data": {"api_key": sim.default_api_key}}, timeout=1)


def test_cli_runs_and_prints_url_and_key() -> None:
    key = "k" * 64
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "audian_async.testing",
            "--port",
            "0",
            "--api-key",
            key,
            "--rate-limit",
            "off",
            "--astradial-flavour",
            "oss",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "http://127.0.0.1:" in first
        base = first.split("listening on ")[1].split()[0]
        lines = [proc.stdout.readline() for _ in range(8)]  # the rest of the banner
        banner = "".join(lines)
        assert key in banner and f"Audian API base: {base}/v2" in banner
        assert f"Astradial API base: {base}/api/v1" in banner and "open-source" in banner
        config = SimulatorConfig()
        for secret in (
            config.astradial_api_keys[0],
            config.astradial_email,
            config.astradial_password,
            config.astradial_org_api_key,
            config.astradial_org_api_secret,
        ):
            assert secret in banner
        # The socket listens before the banner is printed: no need to poll for readiness.
        response = httpx.put(f"{base}/v2/api_auth", json={"data": {"api_key": key}}, timeout=30)
        assert response.status_code == 201
        # The chosen flavour answers: the open-source server has no IVR routes.
        ivrs = httpx.get(
            f"{base}/api/v1/ivrs", headers={"X-API-Key": config.astradial_api_keys[0]}, timeout=5
        )
        assert ivrs.status_code == 404 and ivrs.json()["message"].startswith("Endpoint ")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_in_process_answers_and_reports_violations() -> None:
    from audian_async.testing import serve_in_process

    with serve_in_process(SimulatorConfig(seed=2)) as server:
        with httpx.Client(base_url=f"{server.base_url}/v2") as client:
            auth = client.put("/api_auth", json={"data": {"api_key": server.default_api_key}})
            assert auth.status_code == 201
            assert auth.json()["data"]["account_id"] == server.master_account_id
            client.get("/no/such/route", headers={"X-Auth-Token": auth.json()["auth_token"]})
        assert server.request_violations == []
        assert any("no operation in the spec" in v for v in server.contract_violations)
