"""Realtime events through the SDK's stream: ``python -m bench.events MODE --port P``.

Against ``bench.events_server`` (a pre-framed, flow-controlled event source in its own process):

* ``throughput``: four sockets open side by side in this process: raw aiohttp
  (``ws_connect``, each message decoded and one field read), the SDK's stream on
  ``transport="aiohttp"`` (frames decoded by schema: msgspec, the ``fast`` extra), the same
  without msgspec (every frame decoded whole with orjson) and on the default transport
  (httpx-ws), each item's ``call_id`` read; the first aiohttp stream is read twice more: only
  each event's name, and each event's whole payload (``event.data``: decoded whole and
  normalised). Each batch asks the source for ``--batch-n`` events on one socket at a time, in
  rotating order; the ratio is the median of the per-batch ratios (each batch's clients share
  the machine's load of that moment), as ``bench/paired.py`` does for requests.
* ``stall``: the SDK's stream (aiohttp) receives a burst of ``--count`` events while its
  consumer stops for ``--stall`` seconds; prints the peak of Python allocations (tracemalloc)
  over the burst, the buffer's stated bound (``buffer_size`` events of the measured size of
  one held event, the larger of the two ways the reader types one), the overflow count, and how long the burst took at the source (under the
  stall: the stream read the whole burst while the application slept; the source waits on
  TCP flow control whenever it writes faster than the stream reads).

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from .events_server import ACCOUNT, call_event

try:
    import orjson

    loads: Any = orjson.loads
except ImportError:  # the SDK decodes with the same library: the comparison stays fair
    loads = json.loads

MAX_MESSAGE = 16 * 1024 * 1024


class EventSource:
    """``with EventSource() as port:`` ``bench.events_server`` in a child process."""

    def __enter__(self) -> int:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.events_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError(f"the event source did not start: {line!r}")
        return int(line.split()[1])

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def client(port: int, transport: str) -> Any:
    from audian_async import AsyncAudian

    return AsyncAudian(
        auth_token="bench-token",
        account_id=ACCOUNT,
        base_url=f"http://127.0.0.1:{port}/v2",
        transport=transport,
    )


async def burst(session: Any, port: int, binding: str, count: int) -> dict[str, Any]:
    async with session.get(
        f"http://127.0.0.1:{port}/burst", params={"binding": binding, "count": str(count)}
    ) as answer:
        return dict(await answer.json())


async def read_raw(ws: Any, n: int) -> None:
    for _ in range(n):
        message = await ws.receive()
        event = loads(message.data)
        assert event["data"]["call_id"]


async def read_sdk(events: Any, n: int, read: str = "call_id") -> int:
    """Read until ``n`` events are accounted for (each event's ``call_id``, its ``name``, or
    ``data``: its whole payload); returns how many were lost to overflow."""
    from audian_async import Gap

    seen = lost = 0
    while seen < n:
        item = await events.__anext__()
        if isinstance(item, Gap):
            seen += item.dropped
            lost += item.dropped
        else:
            if read == "call_id":
                assert item.call_id
            elif read == "name":
                assert item.name
            else:
                assert item.data["call_id"]
            seen += 1
    return lost


@contextlib.asynccontextmanager
async def subscribe_without_schema(audian: Any, binding: str) -> Any:
    """A stream whose reader decodes every frame whole (as without msgspec installed): the
    reader builds its frame handler as the socket opens, inside ``__aenter__``."""
    from audian_async.events import _stream

    saved = _stream.schema_decoder
    _stream.schema_decoder = lambda: None
    try:
        stream = await audian.events.subscribe(binding, ping_interval=3600).__aenter__()
    finally:
        _stream.schema_decoder = saved
    try:
        yield stream
    finally:
        await stream.__aexit__(None, None, None)


async def measure(reader: Any, session: Any, port: int, binding: str, n: int) -> dict[str, Any]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    trigger = asyncio.ensure_future(burst(session, port, binding, n))
    lost = await reader(n)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    source = await trigger
    return {"wall": wall, "cpu": cpu, "lost": lost or 0, "source": source}


async def throughput(port: int, batches: int, batch_n: int) -> dict[str, Any]:
    import aiohttp

    url = f"ws://127.0.0.1:{port}/v2/websocket"
    names = (
        "raw-aiohttp",
        "sdk-aiohttp",
        "sdk-aiohttp-no-schema",
        "sdk-httpx",
        "sdk-aiohttp-name-only",
        "sdk-aiohttp-data",
    )
    bindings = {name: f"call.CHANNEL_CREATE.{name}" for name in names}
    bindings["sdk-aiohttp-name-only"] = bindings["sdk-aiohttp"]  # the same stream
    bindings["sdk-aiohttp-data"] = bindings["sdk-aiohttp"]
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, max_msg_size=MAX_MESSAGE, autoping=True) as raw,
        client(port, "aiohttp") as sdk_aiohttp,
        client(port, "aiohttp") as sdk_plain,
        client(port, "httpx") as sdk_httpx,
        sdk_aiohttp.events.subscribe(bindings["sdk-aiohttp"], ping_interval=3600) as via_aiohttp,
        subscribe_without_schema(sdk_plain, bindings["sdk-aiohttp-no-schema"]) as via_plain,
        sdk_httpx.events.subscribe(bindings["sdk-httpx"], ping_interval=3600) as via_httpx,
    ):
        subscribe = {
            "action": "subscribe",
            "auth_token": "bench-token",
            "request_id": "raw-1",
            "data": {"account_id": ACCOUNT, "binding": bindings["raw-aiohttp"]},
        }
        await raw.send_str(json.dumps(subscribe))
        assert loads((await raw.receive()).data)["status"] == "success"
        readers = {
            "raw-aiohttp": lambda n: read_raw(raw, n),
            "sdk-aiohttp": lambda n: read_sdk(via_aiohttp, n),
            "sdk-aiohttp-no-schema": lambda n: read_sdk(via_plain, n),
            "sdk-httpx": lambda n: read_sdk(via_httpx, n),
            "sdk-aiohttp-name-only": lambda n: read_sdk(via_aiohttp, n, read="name"),
            "sdk-aiohttp-data": lambda n: read_sdk(via_aiohttp, n, read="data"),
        }
        for name in names:  # warm-up
            await measure(readers[name], session, port, bindings[name], min(batch_n, 2000))
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for i in range(batches):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                rows[name].append(
                    await measure(readers[name], session, port, bindings[name], batch_n)
                )
        stats = {
            "sdk-aiohttp": via_aiohttp.stats,
            "sdk-aiohttp-no-schema": via_plain.stats,
            "sdk-httpx": via_httpx.stats,
        }
        dropped = {name: s.dropped for name, s in stats.items()}

    def rate(row: dict[str, Any]) -> float:
        return batch_n / row["wall"]

    out: dict[str, Any] = {"batches": batches, "batch_n": batch_n, "dropped": dropped}
    for name in names:
        out[name] = {
            "events_per_s": batches * batch_n / sum(r["wall"] for r in rows[name]),
            "best_events_per_s": max(rate(r) for r in rows[name]),
            "cpu_us": sum(r["cpu"] for r in rows[name]) / (batches * batch_n) * 1e6,
            "lost": sum(r["lost"] for r in rows[name]),
        }
    for name in names[1:]:
        ratios = [rate(s) / rate(r) for s, r in zip(rows[name], rows["raw-aiohttp"], strict=True)]
        out[name]["rps_ratios"] = ratios
        out[name]["rps_ratio"] = statistics.median(ratios)
    sources = [r["source"] for name in names for r in rows[name]]
    source_cpu = sum(s["cpu_s"] for s in sources) / sum(s["sent"] for s in sources)
    out["source"] = {
        "cpu_us_per_event": source_cpu * 1e6,
        "max_events_per_s_one_core": 1 / source_cpu,
        "event_bytes": sources[0]["event_bytes"],
    }
    return out


def held_event_bytes(count: int = 2000) -> dict[str, float]:
    """The memory one buffered event takes, typed as the stream's reader does it (its payload
    is only normalised when the application reads it), both ways: decoded whole (the generic
    path) and decoded by schema (the frame's text kept, the typed fields decoded)."""
    from audian_async import _json
    from audian_async.events._models import CallEvent, new_event_of_frame, parse_event
    from audian_async.events._schema import decode

    text = json.dumps(call_event("call.CHANNEL_CREATE.stall"), separators=(",", ":"))

    def of_frame(frame: str) -> Any:
        envelope = decode(frame)
        return new_event_of_frame(
            CallEvent, envelope, envelope.data, envelope.name, envelope.subscribed_key, frame
        )

    sizes: dict[str, float] = {}
    for kind, typed in (("whole", lambda t: parse_event(_json.loads(t))), ("schema", of_frame)):
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        # Each event's frame is its own string, as each message off the socket is (counted:
        # an event decoded by schema keeps it; one decoded whole lets it go).
        frames = [(text + " ")[:-1] for _ in range(count)]
        held = [typed(frame) for frame in frames]
        del frames
        sizes[kind] = (tracemalloc.get_traced_memory()[0] - base) / count
        tracemalloc.stop()
        assert len(held) == count
    return sizes


async def stall(port: int, count: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    from audian_async import Gap

    binding = "call.CHANNEL_CREATE.stall"
    async with (
        aiohttp.ClientSession() as session,
        client(port, "aiohttp") as audian,
        audian.events.subscribe(binding, ping_interval=3600) as events,
    ):
        buffer_size = events._buffer_size  # the default the application did not change
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        trigger = asyncio.ensure_future(burst(session, port, binding, count))
        seen = 0
        while seen < 100:  # the application reads a little, then stops
            item = await events.__anext__()
            seen += item.dropped if isinstance(item, Gap) else 1
        await asyncio.sleep(seconds)  # the consumer stops; the stream reads on
        buffered_after_stall = events.buffered
        source = await trigger if trigger.done() else None
        gaps = 0
        while seen < count:
            item = await events.__anext__()
            if isinstance(item, Gap):
                gaps += 1
                seen += item.dropped
            else:
                seen += 1
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        elapsed = time.perf_counter() - started
        if source is None:
            source = await trigger
        stats = events.stats
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Measured after the scenario, so that its allocations do not raise the RSS peak first.
    sizes = held_event_bytes()
    per_event = max(sizes.values())
    bound = buffer_size * per_event
    return {
        "count": count,
        "stall_s": seconds,
        "seconds": elapsed,
        "buffer_size": buffer_size,
        "held_event_bytes": per_event,
        "held_event_bytes_by_kind": sizes,
        "stated_bound_mb": bound / 1e6,
        "peak_mb": peak / 1e6,
        "rss_growth_mb": (rss1 - rss0) / 1024,
        "received": stats.received,
        "delivered": stats.delivered,
        "dropped": stats.dropped,
        "gaps": gaps,
        "buffered_after_stall": buffered_after_stall,
        "source_seconds": source["seconds"],
        "source_held_back_s": source["held_back_s"],
        "burst_done_during_stall": source["seconds"] < seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["throughput", "stall"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--batch-n", type=int, default=20_000)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--stall", type=float, default=10.0)
    args = parser.parse_args()
    if args.mode == "throughput":
        result = asyncio.run(throughput(args.port, args.batches, args.batch_n))
    else:
        result = asyncio.run(stall(args.port, args.count, args.stall))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
