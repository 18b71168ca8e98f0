"""The SDK's event stream against the embedded simulator's event socket, over real loopback.

Every test runs on both transports (httpx with httpx-ws, and aiohttp) on asyncio, and on
httpx under trio: typed events from REST writes and published calls, a dropped socket
(reconnect, resubscribe, ``Gap``), an expired token at reconnect time (one exchange shared
with REST), hundreds of bindings through the per-socket bucket on frozen clocks, events over
64 KiB, and the socket closed on leaving ``async with``.

Waits are bounded by ``anyio.fail_after`` guards only (a hang fails the test; no duration is
asserted): progress is read from the simulator (``open_sockets``, ``sockets``) and the stream.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from audian_async import AsyncAudian, AuthenticationError, CallEvent, Gap, ObjectEvent
from audian_async.events import Backoff, EventStream
from audian_async.testing import RunningServer, Simulator
from tests.manual_clock import ManualClock

COMBOS = [("asyncio", "httpx"), ("asyncio", "aiohttp"), ("trio", "httpx")]
IDS = [f"{backend}-{transport}" for backend, transport in COMBOS]
GUARD = 30  # seconds before a hung test fails (a guard, never an assertion of speed)
FAST = Backoff(initial=0.01, maximum=0.05)


def client(sim: Simulator, server: RunningServer, transport: str, **kwargs: Any) -> AsyncAudian:
    return AsyncAudian(
        api_key=sim.default_api_key,
        base_url=f"{server.base_url}/v2",
        transport=transport,
        **kwargs,
    )


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a condition the simulator's thread makes true (polled; bounded by the guard)."""
    while not condition():
        await anyio.sleep(0.005)


async def next_item(events: EventStream) -> Any:
    return await events.__anext__()


async def closed_sockets(sim: Simulator) -> None:
    with anyio.fail_after(GUARD):
        await until(lambda: sim.events.open_sockets == 0)


def run(backend: str, main: Callable[[], Awaitable[None]]) -> None:
    anyio.run(main, backend=backend)


@pytest.fixture(autouse=True)
def _no_socket_left(sim: Simulator) -> Any:
    yield
    # every stream of the test was left: the simulator holds none of its sockets
    deadline = time.monotonic() + GUARD
    while sim.events.open_sockets and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.events.open_sockets == 0


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_rest_writes_and_published_calls_arrive_typed(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    master = sim.master_account_id

    async def main() -> None:
        async with client(sim, server, transport) as audian:
            stream = audian.events.subscribe(
                "object.doc_created.user",
                "object.doc_edited.user",
                "object.doc_deleted.user",
                "call.CHANNEL_CREATE.*",
                "call.CHANNEL_DESTROY.*",
            )
            with anyio.fail_after(GUARD):
                async with stream as events:
                    assert sim.events.open_sockets == 1
                    assert set(sim.events.sockets[0].bindings) == set(stream.bindings)
                    user = await audian.users.create(
                        first_name="Ev", last_name=f"Ents {backend}-{transport}"
                    )
                    user.timezone = "Europe/Paris"
                    await audian.users.update(user.id, user)
                    await audian.users.delete(user.id)
                    objects = [await next_item(events) for _ in range(3)]

                    call_id = sim.events.publish_call(
                        "CHANNEL_CREATE",
                        caller_id_name="Alice",
                        caller_id_number="+14155550111",
                        callee_id_number="+14155550222",
                        call_direction="outbound",
                    )
                    sim.events.publish_call("CHANNEL_ANSWER", call_id=call_id)  # not subscribed
                    sim.events.publish_call(
                        "CHANNEL_DESTROY", call_id=call_id, hangup_cause="NORMAL_CLEARING"
                    )
                    created, destroyed = await next_item(events), await next_item(events)
                    assert events.stats.skipped == 0 and events.stats.dropped == 0

        assert [type(e) for e in objects] == [ObjectEvent] * 3
        assert [e.action for e in objects] == ["doc_created", "doc_edited", "doc_deleted"]
        for event in objects:
            assert (event.type, event.id, event.account_id) == ("user", user.id, master)
        assert objects[1].binding == "object.doc_edited.user"

        assert isinstance(created, CallEvent) and isinstance(destroyed, CallEvent)
        assert (created.event_name, destroyed.event_name) == ("CHANNEL_CREATE", "CHANNEL_DESTROY")
        assert created.call_id == destroyed.call_id == call_id
        assert created.binding == "call.CHANNEL_CREATE.*"
        assert (created.caller_id_name, created.caller_id_number) == ("Alice", "+14155550111")
        assert created.callee_id_number == "+14155550222"
        assert created.direction == "outbound"
        assert created.account_id == master
        assert destroyed.data["hangup_cause"] == "NORMAL_CLEARING"

    run(backend, main)


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_dropped_sockets_reconnect_resubscribe_and_yield_a_gap(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    bindings = ("call.CHANNEL_CREATE.*", "call.CHANNEL_DESTROY.*", "object.*.device")

    async def main() -> None:
        async with client(sim, server, transport) as audian:
            with anyio.fail_after(GUARD):
                async with audian.events.subscribe(*bindings, backoff=FAST) as events:
                    before = sim.events.publish_call("CHANNEL_CREATE")
                    first = await next_item(events)
                    assert sim.events.drop_sockets() == 1  # no close frame
                    gap = await next_item(events)
                    # the new socket has every binding again, each subscribed once
                    assert sim.events.open_sockets == 1
                    assert sorted(sim.events.sockets[0].bindings) == sorted(bindings)
                    after = sim.events.publish_call("CHANNEL_DESTROY")
                    device = await audian.devices.create(name=f"Gap {backend}-{transport}")
                    later = [await next_item(events), await next_item(events)]
                    stats = events.stats

        assert isinstance(first, CallEvent) and first.call_id == before
        assert isinstance(gap, Gap) and gap.reconnected and gap.dropped == 0
        assert gap.ended_at >= gap.started_at and gap.attempts >= 1
        assert isinstance(later[0], CallEvent) and later[0].call_id == after
        assert isinstance(later[1], ObjectEvent) and later[1].id == device.id
        assert stats.reconnects == 1

    run(backend, main)


class SimulatorTime:
    """The client's clock reading the simulator's: advancing one moves both, so a token the
    server holds expired is one the client's credentials hold expired too."""

    def __init__(self, sim: Simulator) -> None:
        self._clock = sim.clock

    def now(self) -> float:
        return self._clock.monotonic()

    def wall(self) -> float:
        return self._clock.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_an_expired_token_at_reconnect_is_replaced_by_one_shared_exchange(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    """The token expires while the socket is up (the server does not end it: blackhole checks
    the token on the first message only); the socket then drops. The reconnect and a REST call
    made at the same moment both need a token valid now: the client's single-flight
    credentials make ONE exchange for both, and the new socket is subscribed with it."""

    async def main() -> None:
        async with client(sim, server, transport, clock=SimulatorTime(sim)) as audian:
            with anyio.fail_after(GUARD):
                async with audian.events.subscribe("call.*.*", backoff=FAST) as events:
                    exchanges = len(sim.requests.matching("PUT", "/api_auth"))
                    sim.events.publish_call("CHANNEL_CREATE")
                    assert isinstance(await next_item(events), CallEvent)
                    sim.advance_clock(sim.config.token_lifetime + 60)  # the token is expired
                    sim.events.drop_sockets()
                    users, gap = await _together(
                        audian.users.list(paginate=False).collect(), next_item(events)
                    )
                    assert isinstance(gap, Gap) and gap.reconnected
                    # the new socket's first subscribe carried the fresh token: nothing refused
                    assert sim.events.sockets[0].errors == 0
                    call_id = sim.events.publish_call("CHANNEL_CREATE")
                    event = await next_item(events)
            assert isinstance(event, CallEvent) and event.call_id == call_id
            assert isinstance(users, list)
            assert len(sim.requests.matching("PUT", "/api_auth")) == exchanges + 1

    try:
        run(backend, main)
    finally:
        sim.clock.reset()


async def _together(first: Awaitable[Any], second: Awaitable[Any]) -> tuple[Any, Any]:
    results: list[Any] = [None, None]

    async def put(index: int, awaitable: Awaitable[Any]) -> None:
        results[index] = await awaitable

    async with anyio.create_task_group() as group:
        group.start_soon(put, 0, first)
        group.start_soon(put, 1, second)
    return results[0], results[1]


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_a_token_the_client_holds_valid_but_the_server_refuses_is_refreshed_once(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    """The server retired every token (the client cannot know): the new socket's first
    subscribe is refused, the stream takes one fresh token, and subscribes with it."""

    async def main() -> None:
        async with client(sim, server, transport) as audian:
            with anyio.fail_after(GUARD):
                async with audian.events.subscribe("call.*.*", backoff=FAST) as events:
                    exchanges = len(sim.requests.matching("PUT", "/api_auth"))
                    sim.expire_all_tokens()
                    sim.events.drop_sockets()
                    gap = await next_item(events)
                    call_id = sim.events.publish_call("CHANNEL_CREATE")
                    event = await next_item(events)
        assert isinstance(gap, Gap) and gap.reconnected
        assert isinstance(event, CallEvent) and event.call_id == call_id
        assert len(sim.requests.matching("PUT", "/api_auth")) == exchanges + 1

    run(backend, main)


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_hundreds_of_bindings_pace_through_the_socket_bucket(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    """300 bindings on one socket whose bucket holds 100 messages and refills 10 a second.
    Both clocks stand still unless the test moves them: whenever the stream waits on its
    clock (its copy of the bucket is empty), one second passes for the client and the
    simulator. Every binding is subscribed, no "rate limiting threshold hit" reaches the
    caller, and the events of the last binding arrive. (A reply's time limit runs on the
    client's clock too, so it is set far beyond the seconds this test moves through.)"""
    count = 300
    bindings = [f"call.CHANNEL_CREATE.call-{n:03d}" for n in range(count)]
    clock = ManualClock()

    async def drive(done: anyio.Event) -> None:
        while not done.is_set():
            await anyio.sleep(0.002)
            if clock.sleepers:
                sim.advance_clock(1.0)
                clock.advance(1.0)

    async def main() -> None:
        async with client(sim, server, transport, clock=clock) as audian:
            await audian.authenticate()
            stream = audian.events.subscribe(*bindings, ping_interval=3600, reply_timeout=3600)
            done = anyio.Event()
            with anyio.fail_after(GUARD * 2):
                async with anyio.create_task_group() as group:
                    group.start_soon(drive, done)
                    async with stream as events:
                        done.set()
                        info = sim.events.sockets[0]
                        sim.events.publish_call("CHANNEL_CREATE", call_id="call-299")
                        event = await next_item(events)
            assert sorted(info.bindings) == sorted(bindings)
            # the bucket had to refill: 200 messages past its 100 took 20 s of its time
            assert sim.clock.offset >= (count - 100) / 10
            assert info.errors == info.rate_limited  # no refusal but the bucket's, if any
            assert info.rate_limited == events.stats.rate_limited
            assert isinstance(event, CallEvent) and event.call_id == "call-299"
            assert event.binding == "call.CHANNEL_CREATE.call-299"

    sim.clock.freeze()
    try:
        run(backend, main)
    finally:
        sim.clock.unfreeze()
        sim.clock.reset()


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_events_over_64_kib_arrive_whole(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    big = "x" * (300 * 1024)

    async def main() -> None:
        async with client(sim, server, transport) as audian:
            with anyio.fail_after(GUARD):
                async with audian.events.subscribe("call.CHANNEL_BRIDGE.*") as events:
                    call_id = sim.events.publish_call("CHANNEL_BRIDGE", notes=big)
                    sim.events.publish_call("CHANNEL_BRIDGE", call_id="small")
                    first, second = await next_item(events), await next_item(events)
                    assert events.stats.reconnects == 0
        assert isinstance(first, CallEvent) and first.call_id == call_id
        assert first.data["notes"] == big
        assert isinstance(second, CallEvent) and second.call_id == "small"

    run(backend, main)


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_leaving_the_block_or_cancelling_the_consumer_closes_the_socket(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    async def main() -> None:
        async with client(sim, server, transport) as audian:
            with anyio.fail_after(GUARD):
                async with audian.events.subscribe("call.*.*") as events:
                    assert sim.events.open_sockets == 1
                    sim.events.publish_call("CHANNEL_CREATE")
                    assert isinstance(await next_item(events), CallEvent)
                await closed_sockets(sim)

                async def consume(started: anyio.Event) -> None:
                    async with audian.events.subscribe("call.*.*") as stream:
                        started.set()
                        async for _ in stream:
                            pass

                started = anyio.Event()
                async with anyio.create_task_group() as group:
                    group.start_soon(consume, started)
                    await started.wait()
                    assert sim.events.open_sockets == 1
                    group.cancel_scope.cancel()
                await closed_sockets(sim)
            # the client is still usable: the streams' tasks ended with them
            assert (await audian.authenticate()).account_id == sim.master_account_id

    run(backend, main)


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_a_sub_accounts_view_and_account_id_subscribe_that_account(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    """A ``for_account`` view subscribes its own account, ``account_id=`` another one: each
    stream gets the events of its account only."""
    child = sim.create_account(f"Events child {backend}-{transport}")

    async def main() -> None:
        async with client(sim, server, transport) as audian:
            view = audian.for_account(child)
            with anyio.fail_after(GUARD):
                async with (
                    view.events.subscribe("object.doc_created.user") as of_view,
                    audian.events.subscribe(
                        "object.doc_created.user", account_id=child
                    ) as of_child,
                    audian.events.subscribe("object.doc_created.user") as of_master,
                ):
                    assert of_view.account_id == of_child.account_id == child
                    assert of_master.account_id == sim.master_account_id
                    user = await view.users.create(first_name="Sub", last_name="Scriber")
                    mine = await audian.users.create(first_name="Master", last_name="Own")
                    got = [await next_item(of_view), await next_item(of_child)]
                    master_event = await next_item(of_master)
        for event in got:
            assert isinstance(event, ObjectEvent) and event.id == user.id
            assert event.account_id == child
        assert isinstance(master_event, ObjectEvent) and master_event.id == mine.id

    run(backend, main)


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_a_burst_while_the_consumer_sleeps_is_read_on_and_overflows_counted(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    """20,000 events of 2 KB (40 MB: far more than the socket's buffers hold) while the
    application reads nothing: the stream reads the socket on, into its own buffer, which keeps
    the newest ``buffer_size`` and counts the rest, reported by one Gap at the head.

    The simulator's slow-reader limit (50 queued messages, then drops) is lifted for the test:
    it runs in this process, so how fast the stream keeps up with it depends on the machine's
    scheduling, not on the SDK. Every event must reach the stream, which only happens if the
    stream reads while its application sleeps (the simulator's writes would block otherwise)."""
    count, size = 20_000, 100
    master = sim.master_account_id
    burst = {
        "routing_key": f"call.{master}.CHANNEL_CREATE.burst",
        "data": {"event_name": "CHANNEL_CREATE", "call_id": "burst", "pad": "p" * 2048},
        "count": count,
    }

    async def main() -> None:
        dropped_before = sim.events.dropped_events
        sim.events.max_queued = count + 1
        async with client(sim, server, transport) as audian:
            with anyio.fail_after(GUARD * 2):
                async with audian.events.subscribe(
                    "call.CHANNEL_CREATE.*", buffer_size=size
                ) as events:
                    async with httpx.AsyncClient(base_url=server.base_url) as control:
                        answer = await control.post("/_simulator/events/publish", json=burst)
                    assert answer.status_code == 200 and answer.json() == {"matched": count}
                    await until(lambda: events.stats.received == count)
                    assert events.buffered == size
                    gap = await next_item(events)
                    kept = [await next_item(events) for _ in range(size)]
                    assert events.buffered == 0
                    stats = events.stats
        assert sim.events.dropped_events == dropped_before  # every event was sent
        assert isinstance(gap, Gap) and not gap.reconnected and gap.dropped == count - size
        assert stats.dropped == count - size and stats.delivered == size
        assert all(isinstance(e, CallEvent) and e.call_id == "burst" for e in kept)

    try:
        run(backend, main)
    finally:
        sim.events.max_queued = 50


def _fresh_token(sim: Simulator, server: RunningServer) -> str:
    answer = httpx.put(
        f"{server.base_url}/v2/api_auth", json={"data": {"api_key": sim.default_api_key}}
    )
    token: str = answer.json()["auth_token"]
    return token


@pytest.mark.parametrize(("backend", "transport"), COMBOS, ids=IDS)
def test_a_refused_token_never_reaches_the_error_kazoos_refusal_names_it(
    sim: Simulator, server: RunningServer, backend: str, transport: str
) -> None:
    """The server's refusal is Kazoo's own text, ``failed to authenticate token <token>``:
    the typed error says why without the token."""
    token = "0123456789abcdef-not-a-token-the-server-issued"

    async def main() -> None:
        async with AsyncAudian(
            auth_token=token,
            account_id=sim.master_account_id,
            base_url=f"{server.base_url}/v2",
            transport=transport,
        ) as audian:
            with pytest.raises(AuthenticationError) as info, anyio.fail_after(GUARD):
                async with audian.events.subscribe("call.*.*", backoff=FAST):
                    pass
        shown = f"{info.value} {info.value!r} {info.value.server_message}"
        assert "failed to authenticate token ***" in shown
        assert token not in shown

    run(backend, main)


def test_the_fastapi_hub_logs_an_upstream_refusal_without_the_token(
    sim: Simulator, server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A hub on a fixed token: the server retires it, the socket drops, the reconnect is
    refused for good; the hub logs the failure at ERROR, never the token."""
    from audian_async.integrations.fastapi_events import EventHub

    token = _fresh_token(sim, server)

    async def main() -> None:
        async with (
            AsyncAudian(
                auth_token=token,
                account_id=sim.master_account_id,
                base_url=f"{server.base_url}/v2",
                transport="aiohttp",
            ) as audian,
            EventHub(audian, "call.*.*", backoff=FAST) as hub,
        ):
            sim.expire_all_tokens()
            sim.events.drop_sockets()
            with anyio.fail_after(GUARD):
                await until(lambda: hub.error is not None)
        assert isinstance(hub.error, AuthenticationError)

    with caplog.at_level("INFO", logger="audian_async"):
        run("asyncio", main)
    assert "the upstream event stream failed: AuthenticationError" in caplog.text
    assert "failed to authenticate token ***" in caplog.text
    assert token not in caplog.text
