"""Fixtures for the simulator's own tests: plain httpx, in-process through ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from audian_async.testing import Simulator, SimulatorConfig, create_app


@dataclass
class Session:
    """An authenticated client for one account."""

    client: httpx.AsyncClient
    token: str
    account_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}

    def url(self, suffix: str = "", account_id: str | None = None) -> str:
        return f"/accounts/{account_id or self.account_id}{suffix}"

    def _headers(self, kw: dict[str, Any]) -> dict[str, str]:
        return {**self.headers, **kw.pop("headers", {})}

    async def get(self, suffix: str = "", **kw: Any) -> httpx.Response:
        return await self.client.get(self.url(suffix), headers=self._headers(kw), **kw)

    async def put(self, suffix: str, data: Any, **kw: Any) -> httpx.Response:
        return await self.client.put(
            self.url(suffix), json={"data": data}, headers=self._headers(kw), **kw
        )

    async def post(self, suffix: str, data: Any, **kw: Any) -> httpx.Response:
        return await self.client.post(
            self.url(suffix), json={"data": data}, headers=self._headers(kw), **kw
        )

    async def patch(self, suffix: str, data: Any, **kw: Any) -> httpx.Response:
        return await self.client.patch(
            self.url(suffix), json={"data": data}, headers=self._headers(kw), **kw
        )

    async def delete(self, suffix: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(self.url(suffix), headers=self._headers(kw), **kw)


def asgi_client(sim: Simulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://sim.test/v2")


async def login(client: httpx.AsyncClient, api_key: str) -> Session:
    response = await client.put("/api_auth", json={"data": {"api_key": api_key}})
    assert response.status_code == 201, response.text
    body = response.json()
    return Session(client, body["auth_token"], body["data"]["account_id"])


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(seed=1234)


@pytest.fixture
def sim(config: SimulatorConfig) -> Simulator:
    return create_app(config)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(sim) as c:
        yield c


@pytest.fixture
async def session(sim: Simulator, client: httpx.AsyncClient) -> Session:
    return await login(client, sim.default_api_key)


USER = {"first_name": "Ada", "last_name": "Lovelace", "username": "ada", "email": "ada@example.com"}
