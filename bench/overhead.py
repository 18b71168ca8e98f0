"""The SDK's own CPU per call, without any I/O: ``python -m bench.overhead``.

``users.get`` and ``users.create`` run against an in-memory transport that returns the
benchmark server's canned responses at once, so what is measured is the SDK's per-request
work alone: URL building, headers, credentials, body validation and encoding, envelope
parsing, building the typed ``User``. Prints one JSON line (best of 5 batches, µs per call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from audian_async._transport import RawResponse, StreamingResponse
from audian_async._types import Timeout

from .server import Server

_HEADERS = {"content-type": "application/json", "x-request-id": "bench-0001"}


def _body(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


class InstantTransport:
    """Answers every request at once with the benchmark server's canned bodies."""

    def __init__(self) -> None:
        server = Server(users=10)
        self.auth = _body(server.auth)
        self.user = _body(server.get_user)
        self.created = _body(server.create())

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> RawResponse:
        if url.endswith("/api_auth"):
            return RawResponse(201, _HEADERS, self.auth)
        if method == "PUT":
            return RawResponse(201, _HEADERS, self.created)
        return RawResponse(200, _HEADERS, self.user)

    def stream(self, *args: Any) -> AbstractAsyncContextManager[StreamingResponse]:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


async def measure(n: int) -> dict[str, float]:
    from audian_async import AsyncAudian

    audian = AsyncAudian(
        api_key="bench-key", base_url="http://bench/v2", transport=InstantTransport()
    )
    await audian.authenticate()
    users = audian.users
    calls = {
        "get": lambda: users.get("u" * 32),
        "create": lambda: users.create(
            first_name="Ada", last_name="Lovelace", username="ada.lovelace"
        ),
    }
    out: dict[str, float] = {}
    for name, call in calls.items():
        for _ in range(1000):
            await call()
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for _ in range(n):
                await call()
            best = min(best, (time.process_time() - started) / n * 1e6)
        out[f"{name}_us"] = best
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=4000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.n))))


if __name__ == "__main__":
    main()
