"""The demo: both APIs through the SDK, against the embedded simulator on loopback.

    python -m audian_async.demo [--users 1000] [--concurrency 64]

Needs the ``simulator`` extra (from a clone: ``pip install '.[simulator,progress]'``); the
realtime events step needs a transport that opens websockets (the ``aiohttp`` or ``events``
extra) and says so when neither is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterator
from typing import Any

import anyio

from . import AsyncAudian
from .bulk import run_bulk

__all__ = ["main"]


def say(text: str = "", *, indent: int = 0) -> None:
    """Print one line of demo output."""
    print(" " * indent + text, flush=True)


def step(title: str) -> None:
    say()
    say(f"== {title}")


def ok(text: str) -> None:
    say(f"  ✓ {text}")


async def audian_quickstart(audian: AsyncAudian) -> None:
    """Seed 000's quickstart, written with the SDK."""
    step("Audian: quickstart")
    info = await audian.authenticate()
    ok(f"Authenticated. Account ID: {info.account_id}")

    users = await audian.users.list(paginate=False).collect()
    ok(f"Found {len(users)} users")
    for user in users[:5]:
        say(f"- {user.first_name} {user.last_name} ({user.email})", indent=4)

    jane = await audian.users.create(
        first_name="Jane", last_name="Smith", email="jane@example.com", username="janesmith"
    )
    ok(f"Created user: {jane.id} ({jane.first_name} {jane.last_name})")

    device = await audian.devices.create(
        name="Jane Desk Phone",
        device_type="sip_device",
        owner_id=jane.id,
        sip={"username": "jane_phone", "password": "secure_password_123"},
    )
    realm = device.sip.realm if device.sip else "?"
    ok(
        f"Created device: {device.id} ({device.name}, SIP {device.sip and device.sip.username}@{realm})"
    )

    for number in await audian.phone_numbers.search(prefix="415", quantity=2):
        await audian.phone_numbers.add(number)
    numbers = await audian.phone_numbers.list(paginate=False).collect()
    ok(f"Phone numbers: {', '.join(f'{n.number} ({n.state})' for n in numbers)}")

    step("Audian: account hierarchy")
    west = await audian.accounts.create_sub_account(
        name="West Coast Office", timezone="America/Los_Angeles"
    )
    ok(f"Created sub-account: {west.name} ({west.id})")
    branch = await audian.for_account(west.id).accounts.create_sub_account(name="San Diego Branch")
    ok(f"Created its sub-account: {branch.name}")
    descendants = await audian.accounts.list_descendants().collect()
    ok(f"Descendants of {info.account_id}: " + ", ".join(a.name or a.id for a in descendants))


async def astradial_flow(base_url: str, api_key: str) -> None:
    """Astradial: create a user, fetch its SIP credentials (masked), list users."""
    try:
        from . import AsyncAstradial
    except ImportError:  # pragma: no cover - the Astradial client ships with the package
        say("  (Astradial client not available)")
        return
    step("Astradial: users and SIP credentials")
    async with AsyncAstradial(base_url=base_url, api_key=api_key) as astra:
        alice = await astra.users.create(
            extension="1099", full_name="Alice Agent", email="alice@example.com", role="agent"
        )
        ok(f"Created user {alice.full_name} (extension {alice.extension}, id {alice.id})")
        creds = await astra.users.sip_credentials(alice.id)
        ok(f"SIP credentials: {creds!r}")
        users = await astra.users.list().collect()
        ok(f"Users: {', '.join(f'{u.extension} {u.full_name}' for u in users)}")


#: The bindings the demo subscribes to: a call's life, and user documents.
EVENT_BINDINGS = (
    "call.CHANNEL_CREATE.*",
    "call.CHANNEL_ANSWER.*",
    "call.CHANNEL_DESTROY.*",
    "object.*.user",
)
#: The simulated call the demo publishes (fixed, so the output is the same every run).
DEMO_CALL = {
    "call_id": "demo-call-0001",
    "caller_id_name": "Alice Caller",
    "caller_id_number": "+14155550100",
    "callee_id_number": "+14155550199",
}


def events_transport() -> str | None:
    """A transport that can open the event socket here: aiohttp, else httpx with httpx-ws."""
    if importlib.util.find_spec("aiohttp"):
        return "aiohttp"
    if importlib.util.find_spec("httpx_ws"):
        return "httpx"
    return None


def describe(item: Any) -> str:
    """One line for a typed event of the stream."""
    from .events import CallEvent, Gap, ObjectEvent

    if isinstance(item, CallEvent):
        return (
            f"CallEvent {item.event_name}: call {item.call_id}, {item.caller_id_name} "
            f"{item.caller_id_number} -> {item.callee_id_number} ({item.direction})"
        )
    if isinstance(item, ObjectEvent):
        return f"ObjectEvent {item.action}: {item.type} {item.id}"
    if isinstance(item, Gap):
        return f"Gap: {item.dropped} events dropped, reconnected={item.reconnected}"
    return f"Event {item.name} on {item.binding}"


async def realtime_events(base_url: str, api_key: str, simulator_url: str) -> None:
    """Subscribe to call and user events, create a user and simulate a call, print the events."""
    step("Audian: realtime events")
    transport = events_transport()
    if transport is None:
        say("  (skipped: the event socket needs the aiohttp or the events extra)")
        return
    import httpx

    async with (
        AsyncAudian(api_key=api_key, base_url=base_url, transport=transport) as audian,
        audian.events.subscribe(*EVENT_BINDINGS) as events,
        httpx.AsyncClient(base_url=simulator_url) as control,
    ):
        ok(f"Subscribed to {len(EVENT_BINDINGS)} bindings on one socket ({transport} transport)")
        user = await audian.users.create(first_name="Eve", last_name="Events")
        for name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_DESTROY"):
            # the simulator's control endpoint plays the phone system (see docs/testing.md)
            answer = await control.post(
                "/_simulator/events/calls", json={"event_name": name, **DEMO_CALL}
            )
            answer.raise_for_status()
        with anyio.fail_after(30):
            for _ in range(4):
                item = await events.__anext__()
                ok(
                    describe(item)
                    + (" (the user just created)" if user.id in describe(item) else "")
                )


def rows(count: int) -> Iterator[dict[str, Any]]:
    """The users to provision, generated lazily."""
    for n in range(count):
        yield {
            "first_name": "Bulk",
            "last_name": f"User {n:05d}",
            "username": f"bulk.user.{n:05d}",
            "email": f"bulk.user.{n:05d}@example.com",
        }


async def bulk_provision(audian: AsyncAudian, count: int, concurrency: int, transport: str) -> None:
    """Provision ``count`` users at bounded concurrency with a live progress bar."""
    step(f"Audian: provisioning {count:,} users ({concurrency} in flight, {transport} transport)")

    async def create(row: dict[str, Any]) -> Any:
        return await audian.users.create(**row)

    async def find(row: dict[str, Any]) -> Any:
        return await audian.users.list(
            filters={"username": row["username"]}, paginate=False
        ).first()

    # One summary: the runner's own line ("bulk: 1000 users in ... (812.0 users/s); ..."),
    # printed also when the run is interrupted (Ctrl-C).
    summary = await run_bulk(
        create,
        rows(count),
        concurrency=concurrency,
        key=lambda row: row["username"],
        reconcile=find,
        total=count,
        progress=True,
        unit="users",
    )
    for failure in summary.failures[:3]:
        say(f"! {failure.key}: {failure.error}", indent=4)


async def run(args: argparse.Namespace) -> int:
    from .testing import SimulatorConfig, serve_in_process

    config = SimulatorConfig(
        bucket_size=None if args.no_rate_limit else 2000,
        bucket_refill_per_sec=2000.0,
        strict_requests=True,
    )
    # The simulator runs in its own process, so it does not share this interpreter's lock.
    with serve_in_process(config) as server:
        say(f"Simulator listening on {server.base_url} (Audian at /v2, Astradial at /api/v1)")
        base_url = f"{server.base_url}/v2"
        async with AsyncAudian(api_key=server.default_api_key, base_url=base_url) as audian:
            await audian_quickstart(audian)
        await realtime_events(base_url, server.default_api_key, server.base_url)
        await astradial_flow(server.base_url, server.astradial_api_key)
        # Bulk jobs: the aiohttp transport (the `aiohttp` extra) when it is installed.
        transport = "aiohttp" if importlib.util.find_spec("aiohttp") else "httpx"
        async with AsyncAudian(
            api_key=server.default_api_key, base_url=base_url, transport=transport
        ) as audian:
            await bulk_provision(audian, args.users, args.concurrency, transport)
        violations = [*server.contract_violations, *server.request_violations]
    step("Done")
    if violations:
        say(f"  ✗ {len(violations)} contract violations: {violations[:3]}")
        return 1
    ok("Every request and response matched the OpenAPI spec")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m audian_async.demo`` and the ``audian-async-demo`` script."""
    parser = argparse.ArgumentParser(description="audian-async demo against the embedded simulator")
    parser.add_argument(
        "--users", type=int, default=1000, help="users to provision in the bulk step"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="requests in flight in the bulk step"
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="turn the simulator's token bucket off"
    )
    args = parser.parse_args(argv)
    try:
        return anyio.run(run, args)
    except KeyboardInterrupt:  # Ctrl-C: the bulk step already printed its summary
        print("interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:
        print(
            f"The demo needs the simulator extra: pip install '.[simulator]' from a clone ({exc})",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
