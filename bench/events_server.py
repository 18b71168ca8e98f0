"""A fast event source for the events benchmark: just enough of Kazoo's event socket.

An asyncio Protocol (uvloop when installed) in its own process, so that the source is never
the bottleneck of what it measures: every event of a burst is the same pre-framed websocket
message, written many frames per ``transport.write`` and paced only by the socket's flow
control (a reader that stops reading holds the burst back; the time spent held back is
reported). It serves:

* a websocket upgrade on any path: each client text message is answered
  ``{"action": "reply", "request_id", "status": "success", "data": {}}``, and a ``subscribe``
  records its ``data.binding`` for the socket;
* ``GET /burst?binding=B&count=N``: writes N events to every socket subscribed to B, then
  answers ``{"sent", "sockets", "cpu_s", "seconds", "held_back_s"}`` (the server's CPU for
  the burst, its duration, and how long it waited on flow control);
* ``GET /stats``: ``{"sockets", "events_sent", "cpu_s"}``.

Run ``python -m bench.events_server``; it prints ``PORT <n>`` and stops when its standard
input closes or after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import struct
import sys
import threading
import time
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "a" * 32
_MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
FRAMES_PER_WRITE = 256


def call_event(binding: str) -> dict[str, Any]:
    """A CHANNEL_CREATE as blackhole sends it (about 1 KB: the shape the simulator sends)."""
    realm = "bench.sip.audian.invalid"
    return {
        "action": "event",
        "subscribed_key": binding,
        "subscription_key": f"call.{ACCOUNT}.CHANNEL_CREATE.*",
        "name": "CHANNEL_CREATE",
        "routing_key": f"call.{ACCOUNT}.CHANNEL_CREATE.bench-call",
        "data": {
            "app_name": "ecallmgr",
            "app_version": "4.3.0",
            "event_category": "call_event",
            "event_name": "CHANNEL_CREATE",
            "msg_id": "0f4c2d0c6a4b4d2f9a4f3c1d2e5b6a70",
            "call_id": "bench-call-9b1f0e7a6c5d4e3f",
            "call_direction": "inbound",
            "caller_id_name": "Benchmark Caller",
            "caller_id_number": "+14155550100",
            "callee_id_name": "Benchmark Callee",
            "callee_id_number": "+14155550199",
            "from": f"+14155550100@{realm}",
            "to": f"+14155550199@{realm}",
            "request": f"+14155550199@{realm}",
            "presence_id": f"+14155550199@{realm}",
            "media_server": "fs1.bench.audian.invalid",
            "node": "ecallmgr@bench.audian.invalid",
            "timestamp": 63900000000,
            "channel_state": "ROUTING",
            "channel_call_state": "RINGING",
            "custom_channel_vars": {
                "account_id": ACCOUNT,
                "account_realm": realm,
                "realm": realm,
                "authorizing_type": "device",
                "authorizing_id": "d" * 32,
                "owner_id": "o" * 32,
                "channel_authorized": "true",
            },
        },
    }


def frame(text: bytes) -> bytes:
    """An unmasked server text frame."""
    size = len(text)
    if size < 126:
        head = bytes([0x81, size])
    elif size < 1 << 16:
        head = bytes([0x81, 126]) + struct.pack("!H", size)
    else:
        head = bytes([0x81, 127]) + struct.pack("!Q", size)
    return head + text


class Hub:
    def __init__(self) -> None:
        self.sockets: set[Connection] = set()
        self.events_sent = 0


class Connection(asyncio.Protocol):
    """One TCP connection: an HTTP request (upgrade or control), then websocket frames."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.websocket = False
        self.bindings: set[str] = set()
        self.writable = asyncio.Event()
        self.writable.set()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass: cast, not isinstance.
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        transport.set_write_buffer_limits(high=1 << 20)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.writable.set()
        self.hub.sockets.discard(self)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.websocket:
            if b"\r\n\r\n" not in self.buffer:
                return
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            self._request(head)
        if self.websocket:
            self._frames()

    def _request(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        assert self.transport is not None
        if headers.get("upgrade", "").lower() == "websocket":
            key = headers["sec-websocket-key"].encode()
            accept = base64.b64encode(hashlib.sha1(key + _MAGIC).digest())
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.websocket = True
            self.hub.sockets.add(self)
            return
        url = urlsplit(target)
        if url.path == "/burst":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            asyncio.get_running_loop().create_task(
                self._burst(query["binding"], int(query["count"]))
            )
        elif url.path == "/stats":
            self._answer(
                {
                    "sockets": len(self.hub.sockets),
                    "events_sent": self.hub.events_sent,
                    "cpu_s": time.process_time(),
                }
            )
        else:
            self._answer({"error": "not found"}, 404)

    def _answer(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (status, len(data))
            + data
        )

    async def _burst(self, binding: str, count: int) -> None:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        held = 0.0
        targets = [s for s in self.hub.sockets if binding in s.bindings]
        one = frame(json.dumps(call_event(binding), separators=(",", ":")).encode())
        chunk = one * FRAMES_PER_WRITE
        for sock in targets:
            left = count
            while left and not sock.closed:
                if not sock.writable.is_set():
                    waited = time.perf_counter()
                    await sock.writable.wait()
                    held += time.perf_counter() - waited
                n = min(left, FRAMES_PER_WRITE)
                assert sock.transport is not None
                sock.transport.write(chunk if n == FRAMES_PER_WRITE else one * n)
                left -= n
                self.hub.events_sent += n
                if left:
                    await asyncio.sleep(0)  # let other connections (and the loop) run
        self._answer(
            {
                "sent": count,
                "sockets": len(targets),
                "event_bytes": len(one),
                "cpu_s": time.process_time() - cpu0,
                "seconds": time.perf_counter() - wall0,
                "held_back_s": held,
            }
        )

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            masked = buf[1] & 0x80
            size = buf[1] & 0x7F
            pos = 2
            if size == 126:
                if len(buf) < 4:
                    break
                size = struct.unpack("!H", buf[2:4])[0]
                pos = 4
            elif size == 127:
                if len(buf) < 10:
                    break
                size = struct.unpack("!Q", buf[2:10])[0]
                pos = 10
            mask = b""
            if masked:
                mask = buf[pos : pos + 4]
                pos += 4
            if len(buf) < pos + size:
                break
            payload = buf[pos : pos + size]
            buf = buf[pos + size :]
            if masked:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            self._message(opcode, payload)
        self.buffer = buf

    def _message(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if opcode == 0x8:  # close: answer it and hang up
            self.transport.write(b"\x88\x02" + (payload[:2] or b"\x03\xe8"))
            self.transport.close()
            return
        if opcode == 0x9:  # protocol ping
            self.transport.write(bytes([0x8A, len(payload)]) + payload)
            return
        if opcode != 0x1:
            return
        message = json.loads(payload)
        if message.get("action") == "subscribe":
            self.bindings.add(message["data"]["binding"])
        reply = {
            "action": "reply",
            "request_id": message.get("request_id"),
            "status": "success",
            "data": {},
        }
        self.transport.write(frame(json.dumps(reply).encode()))


async def serve(port: int, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    hub = Hub()
    server = await loop.create_server(lambda: Connection(hub), "127.0.0.1", port)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()

    def watch_stdin() -> None:
        with contextlib.suppress(Exception):
            sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), lifetime)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=900.0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.port, args.lifetime))
    except ImportError:
        asyncio.run(serve(args.port, args.lifetime))


if __name__ == "__main__":
    main()
