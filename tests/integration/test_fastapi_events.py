"""Call events relayed to browsers as server-sent events through ONE upstream socket.

The documented example of docs/fastapi.md runs as written (env vars naming the simulator),
served over loopback; browsers are httpx streaming clients. The hub is also driven directly
to show that a slow listener loses only its own oldest events, with a gap that says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from audian_async import AsyncAudian, CallEvent, Gap
from audian_async.events import Backoff
from audian_async.integrations.fastapi_events import EventHub, encode_sse
from audian_async.testing import RunningServer, Simulator, serve

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUARD = 30  # a hang fails the test; no duration is asserted


def documented_app() -> Any:
    marked = re.compile(r"<!-- docs-example: fastapi-events -->\n```python\n(.*?)```", re.S)
    found = marked.findall((DOCS / "fastapi.md").read_text())
    assert len(found) == 1, "docs/fastapi.md has one example named fastapi-events"
    namespace: dict[str, Any] = {}
    exec(compile(found[0], "fastapi.md", "exec"), namespace)
    return namespace["app"]


async def until(condition: Any) -> None:
    while not condition():
        await anyio.sleep(0.005)


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, Any]]:
    """(event type, decoded data) of each server-sent event; comments are skipped."""
    kind, data = "message", ""
    async for line in lines:
        if line.startswith(":"):
            continue
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
        elif line == "" and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


async def test_browsers_share_one_upstream_socket_and_leaving_frees_their_queues(
    sim: Simulator, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIAN_API_KEY", sim.default_api_key)
    monkeypatch.setenv("AUDIAN_BASE_URL", f"{server.base_url}/v2")
    app = documented_app()
    with serve(app) as service:
        hub: EventHub = app.state.audian_events
        assert sim.events.open_sockets == 1  # opened at start-up, before any browser
        with anyio.fail_after(GUARD):
            async with (
                httpx.AsyncClient(base_url=service.base_url, timeout=GUARD) as first_browser,
                httpx.AsyncClient(base_url=service.base_url, timeout=GUARD) as second_browser,
                first_browser.stream("GET", "/calls/events") as first,
                second_browser.stream("GET", "/calls/events") as second,
            ):
                assert first.headers["content-type"].startswith("text/event-stream")
                await until(lambda: hub.listeners == 2)
                first_events = sse_events(first.aiter_lines())
                second_events = sse_events(second.aiter_lines())
                call_id = sim.events.publish_call("CHANNEL_CREATE", caller_id_number="+14155550123")
                got = [await anext(first_events), await anext(second_events)]
                for kind, data in got:
                    assert kind == "call"
                    assert data["call_id"] == call_id and data["event_name"] == "CHANNEL_CREATE"
                    assert data["caller_id_number"] == "+14155550123"
                    assert data["account_id"] == sim.master_account_id
                assert sim.events.open_sockets == 1  # still one socket for both browsers

                await second.aclose()  # the second browser leaves
                await until(lambda: hub.listeners == 1)
                sim.events.publish_call("CHANNEL_DESTROY", call_id=call_id)
                kind, data = await anext(first_events)
                assert (kind, data["event_name"]) == ("call", "CHANNEL_DESTROY")
            await until(lambda: hub.listeners == 0)
        assert sim.events.open_sockets == 1
    # shutdown closed the upstream socket
    with anyio.fail_after(GUARD):
        await until(lambda: sim.events.open_sockets == 0)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_slow_listener_loses_only_its_own_oldest_events_with_a_gap(
    sim: Simulator, server: RunningServer, transport: str
) -> None:
    async with AsyncAudian(
        api_key=sim.default_api_key, base_url=f"{server.base_url}/v2", transport=transport
    ) as audian:
        with anyio.fail_after(GUARD):
            async with EventHub(audian, "call.CHANNEL_CREATE.*", queue_size=5) as hub:
                async with hub.listen() as fast, hub.listen() as slow:
                    ids = []
                    received: list[Any] = []
                    for _ in range(12):
                        ids.append(sim.events.publish_call("CHANNEL_CREATE"))
                        received.append(await fast.__anext__())  # the fast one keeps up
                    assert len(slow) == 5 and slow.dropped == 7
                    slow_items = [await slow.__anext__() for _ in range(6)]
                    assert hub.stream.stats.dropped == 0  # the upstream socket never waited
                    assert hub.listeners == 2
                assert hub.listeners == 0
            assert hub.closed
        with anyio.fail_after(GUARD):
            await until(lambda: sim.events.open_sockets == 0)
    assert [e.call_id for e in received] == ids
    gap, *kept = slow_items
    assert isinstance(gap, Gap) and gap.dropped == 7 and not gap.reconnected
    assert all(isinstance(e, CallEvent) for e in kept)
    assert [e.call_id for e in kept] == ids[-5:]  # the newest five
    assert encode_sse(gap) == 'event: gap\ndata: {"reconnected":false,"dropped":7}\n\n'


async def test_listeners_end_when_the_hub_closes(sim: Simulator, server: RunningServer) -> None:
    got: list[Any] = []
    ended = anyio.Event()

    async def consume(hub: EventHub, started: anyio.Event) -> None:
        async with hub.listen() as listener:
            started.set()
            async for item in listener:
                got.append(item)
        ended.set()

    async with AsyncAudian(api_key=sim.default_api_key, base_url=f"{server.base_url}/v2") as audian:
        with anyio.fail_after(GUARD):
            # leaving the block closes the hub first, which ends the consumer's loop
            async with anyio.create_task_group() as group, EventHub(audian, "call.*.*") as hub:
                started = anyio.Event()
                group.start_soon(consume, hub, started)
                await started.wait()
                call_id = sim.events.publish_call("CHANNEL_ANSWER")
                await until(lambda: len(got) == 1)
            assert ended.is_set() and hub.listeners == 0
            assert [e.call_id for e in got] == [call_id]
            await until(lambda: sim.events.open_sockets == 0)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_an_upstream_reconnect_reaches_every_listener_as_a_gap(
    sim: Simulator, server: RunningServer, transport: str
) -> None:
    async with AsyncAudian(
        api_key=sim.default_api_key, base_url=f"{server.base_url}/v2", transport=transport
    ) as audian:
        with anyio.fail_after(GUARD):
            async with (
                EventHub(audian, "call.*.*", backoff=Backoff(initial=0.01)) as hub,
                hub.listen() as first,
                hub.listen() as second,
            ):
                sim.events.drop_sockets()
                gaps = [await first.__anext__(), await second.__anext__()]
                call_id = sim.events.publish_call("CHANNEL_HOLD")
                after = [await first.__anext__(), await second.__anext__()]
                assert sim.events.open_sockets == 1  # the hub's new socket, still one
    for gap in gaps:
        assert isinstance(gap, Gap) and gap.reconnected
        assert encode_sse(gap).startswith('event: gap\ndata: {"reconnected":true,')
    assert [e.call_id for e in after] == [call_id, call_id]
