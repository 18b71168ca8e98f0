"""Client workloads, each run in a fresh process: ``python -m bench.clients CONFIG OP ...``.

A workload keeps ``C`` requests in flight (``C`` worker tasks sharing one client) until ``N``
requests completed, after a warm-up that opens the connections. It prints one JSON line per
concurrency: requests per second (wall clock) and the client process's CPU time per request
(``time.process_time()`` delta / N), plus the server's CPU per request over the same window.

Configurations:

* ``aiohttp``: raw ``aiohttp.ClientSession`` (``TCPConnector(limit=256)``), the JSON body
  parsed (``resp.json()``) and one field read.
* ``httpx``: raw ``httpx.AsyncClient`` (the default httpcore pool, limits 256 / 128 keep-alive:
  the SDK's defaults), same.
* ``sdk-httpx``: ``AsyncAudian()`` with its default (httpx) transport.
* ``sdk-aiohttp``: ``AsyncAudian(transport="aiohttp")``.
* ``transport-httpx`` / ``transport-aiohttp``: the SDK's transport alone (``send()`` with
  the raw clients' headers, no SDK core): splits the SDK's cost into adapter and core.

Operations: ``get`` (``GET /v2/accounts/{a}/users/{u}``, the SDK's ``users.get``) and
``create`` (``PUT /v2/accounts/{a}/users`` with a JSON body, the SDK's ``users.create``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from audian_async._transport import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_KEEPALIVE

from .server import ACCOUNT

# The raw clients get the SDK's default pool limits, so that a difference is the SDK's own work.
POOL = DEFAULT_MAX_CONNECTIONS  # 256
POOL_KEEPALIVE = DEFAULT_MAX_KEEPALIVE  # 128 (httpx; aiohttp keeps every idle connection)
TOKEN_HEADERS = {"X-Auth-Token": "bench-token", "Accept": "application/json"}
NEW_USER = {"first_name": "Ada", "last_name": "Lovelace", "username": "ada.lovelace"}


async def _stats(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /__stats HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
    data = await reader.read()
    writer.close()
    return dict(json.loads(data.split(b"\r\n\r\n", 1)[1]))


async def drive(call: Callable[[], Awaitable[Any]], n: int, concurrency: int) -> float:
    """Run ``call`` ``n`` times with ``concurrency`` in flight; return the wall time."""
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def make_call(
    config: str, op: str, base: str, concurrency: int
) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    """The per-request callable and the clean-up for one configuration."""
    user_url = f"{base}/v2/accounts/{ACCOUNT}/users/{'u' * 32}"
    users_url = f"{base}/v2/accounts/{ACCOUNT}/users"
    if config == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POOL))

        async def aiohttp_get() -> Any:
            async with session.get(user_url, headers=TOKEN_HEADERS) as r:
                return (await r.json())["data"]["id"]

        async def aiohttp_put() -> Any:
            async with session.put(users_url, headers=TOKEN_HEADERS, json={"data": NEW_USER}) as r:
                return (await r.json())["data"]["id"]

        return (aiohttp_get if op == "get" else aiohttp_put), session.close
    if config == "httpx":
        import httpx

        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL_KEEPALIVE)
        )

        async def httpx_get() -> Any:
            r = await client.get(user_url, headers=TOKEN_HEADERS)
            return r.json()["data"]["id"]

        async def httpx_put() -> Any:
            r = await client.put(users_url, headers=TOKEN_HEADERS, json={"data": NEW_USER})
            return r.json()["data"]["id"]

        return (httpx_get if op == "get" else httpx_put), client.aclose
    if config.startswith("transport-"):
        from audian_async._client import build_transport
        from audian_async._json import loads
        from audian_async._types import Timeout

        transport = build_transport(None, config.removeprefix("transport-"))
        headers = list(TOKEN_HEADERS.items())
        body = json.dumps({"data": NEW_USER}).encode()
        timeout = Timeout()

        async def transport_get() -> Any:
            r = await transport.send("GET", user_url, headers, None, timeout)
            return loads(r.content)["data"]["id"]

        async def transport_put() -> Any:
            r = await transport.send("PUT", users_url, headers, body, timeout)
            return loads(r.content)["data"]["id"]

        return (transport_get if op == "get" else transport_put), transport.aclose
    if config.startswith("sdk-"):
        from audian_async import AsyncAudian

        transport = config.removeprefix("sdk-")
        audian = AsyncAudian(api_key="bench-key", base_url=f"{base}/v2", transport=transport)
        await audian.authenticate()
        users = audian.users

        async def sdk_get() -> Any:
            return (await users.get("u" * 32)).id

        async def sdk_create() -> Any:
            return (await users.create(**NEW_USER)).id

        return (sdk_get if op == "get" else sdk_create), audian.aclose
    raise SystemExit(f"unknown configuration {config!r}")


async def run(
    config: str, op: str, port: int, concurrencies: list[int], n: int
) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{port}"
    results = []
    for c in concurrencies:
        call, close = await make_call(config, op, base, c)
        try:
            await drive(call, c + 100, c)  # warm-up: open the connections
            before = await _stats(port)
            cpu0 = time.process_time()
            wall = await drive(call, n, c)
            cpu = time.process_time() - cpu0
            after = await _stats(port)
        finally:
            await close()
        served = after["requests"] - before["requests"] - 1  # minus the stats request
        results.append(
            {
                "config": config,
                "op": op,
                "concurrency": c,
                "n": n,
                "rps": n / wall,
                "cpu_us": cpu / n * 1e6,
                "server_cpu_us": (after["cpu"] - before["cpu"]) / max(served, 1) * 1e6,
                "served": served,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("op", choices=["get", "create"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", default="1,64,256")
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    for row in asyncio.run(run(args.config, args.op, args.port, concurrencies, args.n)):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
