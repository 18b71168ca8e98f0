"""The credential exchange belongs to its client, and waits for it read the client's clock.

Issue 24, items 7 and 8: closing a client during an exchange stops and awaits the exchange
(callers get :class:`ClientClosedError`), and a caller's wait for credentials ends when the
client's own clock says its deadline came, not the event loop's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import httpx
import pytest

from audian_async import APITimeoutError, AsyncAstradial, AsyncAudian, ClientClosedError
from tests.helpers import API_KEY, auth_body, make_jwt
from tests.manual_clock import ManualClock
from tests.virtual import run_virtual

BACKENDS = ["asyncio", "trio"]


class HangingExchange:
    """A server whose credential exchange never answers; it records how the exchange ended."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.exchanges = 0
        self.ended: str | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/api_auth", "/auth/user-login")):
            self.exchanges += 1
            self.entered.set()
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                self.ended = "cancelled"
                raise
        return httpx.Response(200, json={"data": []})


def _audian(server: HangingExchange, **kwargs: Any) -> AsyncAudian:
    return AsyncAudian(api_key=API_KEY, transport=httpx.MockTransport(server.handle), **kwargs)


def _astradial(server: HangingExchange, **kwargs: Any) -> AsyncAstradial:
    return AsyncAstradial(
        base_url="https://pbx.example.com",
        email="admin@example.com",
        password="pw-secret-1",
        transport=httpx.MockTransport(server.handle),
        **kwargs,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", [_audian, _astradial], ids=["audian", "astradial"])
def test_closing_during_an_exchange_stops_it_and_callers_learn_the_client_closed(
    backend: str, make: Any
) -> None:
    errors: list[BaseException] = []
    exchanges: list[int] = []

    async def caller(client: Any) -> None:
        try:
            await client.authenticate()
        except Exception as exc:
            errors.append(exc)

    async def main() -> None:
        server = HangingExchange()  # its event belongs to this loop
        client = make(server)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(caller, client)
                tg.start_soon(caller, client)
                await server.entered.wait()
                await client.aclose()
                # aclose() returned: the exchange is over, not left running on its own
                assert server.ended == "cancelled"
        assert len(errors) == 2
        for error in errors:
            assert isinstance(error, ClientClosedError), repr(error)
            assert "closed" in str(error)
        with pytest.raises(ClientClosedError):
            await client.authenticate()
        exchanges.append(server.exchanges)

    anyio.run(main, backend=backend)
    assert exchanges == [1]


async def test_closing_before_the_exchange_task_ran_never_sends_it() -> None:
    """aclose() right after a call started an exchange, before its task first ran."""
    server = HangingExchange()
    client = _audian(server)
    waiting = asyncio.create_task(client.authenticate())
    await asyncio.sleep(0)  # the caller started the exchange; its task has not run yet
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await waiting
    assert server.exchanges == 0  # nothing sent on a closed transport


async def test_a_closed_client_refuses_calls_with_client_closed_error() -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=auth_body(make_jwt()))

    client = AsyncAudian(api_key=API_KEY, transport=httpx.MockTransport(handle))
    await client.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.users.list().first()
    with pytest.raises(ClientClosedError, match="closed"):
        async with client.vmboxes.download_message("b1", "m1"):
            pass


def test_waiting_for_credentials_ends_at_the_deadline_of_the_clients_clock() -> None:
    clock = ManualClock()
    outcome: list[BaseException] = []

    async def caller(client: AsyncAudian) -> None:
        try:
            await client.authenticate()
        except APITimeoutError as exc:
            outcome.append(exc)

    async def main() -> None:
        server = HangingExchange()
        async with _audian(server, clock=clock, deadline=10.0) as client:
            with anyio.fail_after(36_000):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(caller, client)
                    await server.entered.wait()
                    await anyio.sleep(3600)  # an hour of the loop's time; the client's stands
                    assert outcome == []
                    clock.advance(9.5)
                    await anyio.sleep(3600)
                    assert outcome == []
                    clock.advance(0.5)
            assert len(outcome) == 1
            assert "waiting for credentials" in str(outcome[0])

    run_virtual(main)
