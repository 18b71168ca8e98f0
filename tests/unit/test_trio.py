"""The SDK runs under trio as well as asyncio (anyio primitives throughout)."""

from __future__ import annotations

import anyio
import httpx

from audian_async import AsyncAudian
from tests.helpers import ACCOUNT, API_KEY, auth_body, envelope, make_jwt


def test_concurrent_calls_with_refresh_and_retry_under_trio() -> None:
    calls = {"auth": 0, "get": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api_auth"):
            calls["auth"] += 1
            return httpx.Response(201, json=auth_body(make_jwt()))
        calls["get"] += 1
        if calls["get"] == 1:
            return httpx.Response(503)
        return httpx.Response(200, json=envelope([{"id": "u1"}, {"id": "u2"}]))

    async def main() -> list[str]:
        ids: list[str] = []
        async with AsyncAudian(api_key=API_KEY, transport=httpx.MockTransport(handler)) as audian:

            async def one() -> None:
                async for user in audian.users.list(paginate=False):
                    ids.append(user.id)

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(one)
            assert audian.account_id == ACCOUNT
        return ids

    ids = anyio.run(main, backend="trio")
    assert sorted(ids) == sorted(["u1", "u2"] * 10)
    assert calls["auth"] == 1
    assert calls["get"] == 11  # one 503 retried
