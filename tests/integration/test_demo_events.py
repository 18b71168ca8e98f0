"""The demo's realtime events step against the simulator: typed events printed, in order."""

from __future__ import annotations

import anyio
import pytest

from audian_async.demo import DEMO_CALL, describe, events_transport, realtime_events
from audian_async.events import Gap
from audian_async.testing import RunningServer, Simulator


async def test_the_demo_prints_the_typed_events_of_a_new_user_and_a_call(
    sim: Simulator, server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    await realtime_events(f"{server.base_url}/v2", sim.default_api_key, server.base_url)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip()]
    user = next(d for d in sim.state.docs("user") if d.data.get("first_name") == "Eve")
    call = f"call {DEMO_CALL['call_id']}, Alice Caller +14155550100 -> +14155550199 (inbound)"
    assert lines == [
        "== Audian: realtime events",
        f"✓ Subscribed to 4 bindings on one socket ({events_transport()} transport)",
        f"✓ ObjectEvent doc_created: user {user.id} (the user just created)",
        f"✓ CallEvent CHANNEL_CREATE: {call}",
        f"✓ CallEvent CHANNEL_ANSWER: {call}",
        f"✓ CallEvent CHANNEL_DESTROY: {call}",
    ]
    with anyio.fail_after(30):  # a guard: the demo's socket was closed on leaving
        while sim.events.open_sockets:
            await anyio.sleep(0.005)


def test_a_gap_is_described_with_its_loss() -> None:
    gap = Gap(reconnected=True, dropped=3, started_at=1.0, ended_at=2.0)
    assert describe(gap) == "Gap: 3 events dropped, reconnected=True"
