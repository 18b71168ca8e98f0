"""A minimal, fast HTTP/1.1 keep-alive server for the benchmarks (loopback only).

It answers the few Audian routes the benchmarks use with canned Kazoo envelopes, so that the
client, not the server, is the bottleneck (the benchmark reports the server's own CPU per
request to prove it):

* ``PUT  /v2/api_auth``                       → 201, a JWT valid for a day, the account id
* ``GET  /v2/accounts/{a}/users/{u}``         → 200, one user
* ``PUT  /v2/accounts/{a}/users``             → 201, the created user (a new id each time)
* ``GET  /v2/accounts/{a}/users?page_size=&start_key=`` → one page of ``--users`` users
* ``GET  /__stats``                           → ``{"requests": n, "cpu": seconds}``

Run: ``python -m bench.server [--port 0] [--lifetime 900] [--users 100000]``. It prints
``PORT <n>`` once listening. It stops by itself: after ``--lifetime`` seconds, when its
standard input closes (the parent benchmark exited), or on ``POST /__shutdown``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import sys
import threading
import time
from typing import Any

ACCOUNT = "a" * 32
OWNER = "o" * 32

_REASONS = {200: b"OK", 201: b"Created", 404: b"Not Found", 400: b"Bad Request"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(lifetime: int = 86400) -> str:
    now = int(time.time())
    head = _b64(b'{"alg":"HS256","typ":"JWT"}')
    claims = {"account_id": ACCOUNT, "owner_id": OWNER, "iat": now, "exp": now + lifetime}
    return f"{head}.{_b64(json.dumps(claims).encode())}.{_b64(b'benchmark-signature')}"


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _response(status: int, body: bytes, close: bool = False) -> bytes:
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"X-Request-ID: bench-0001\r\n%s\r\n"
        % (
            status,
            _REASONS.get(status, b"OK"),
            len(body),
            b"Connection: close\r\n" if close else b"",
        )
    )
    return head + body


def _user(user_id: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": "ada.lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "priv_level": "user",
        "enabled": True,
        "timezone": "Europe/London",
        "presence_id": "1001",
        "vm_to_email_enabled": True,
        "flags": [],
    }


def _envelope(data: Any, **meta: Any) -> dict[str, Any]:
    return {
        "auth_token": "",
        "data": data,
        "node": "bench-node",
        "request_id": "bench-0001",
        "revision": "1-0123456789abcdef",
        "status": "success",
        "timestamp": "2026-11-01T00:00:00Z",
        "version": "5.3.0",
        **meta,
    }


class Server:
    """Canned responses, a request counter, and the listing generator."""

    def __init__(self, users: int) -> None:
        self.users = users
        self.requests = 0
        self.created = 0
        self.get_user = _response(200, _dumps(_envelope(_user("u" * 32))))
        # The create response differs only by id: split it around a fixed-width id.
        created = _dumps(_envelope(_user("#" * 32)))
        self.create_head, self.create_tail = created.split(b"#" * 32)
        self.auth = _response(
            201,
            _dumps(
                {
                    "auth_token": make_jwt(),
                    "data": {"account_id": ACCOUNT, "owner_id": OWNER},
                    "status": "success",
                    "request_id": "bench-auth",
                }
            ),
        )
        self.not_found = _response(
            404, _dumps({"status": "error", "error": "404", "message": "not found"})
        )
        row = _dumps(
            {
                "id": "#" * 32,
                "username": "user",
                "first_name": "First",
                "last_name": "Last",
                "email": "user@example.com",
                "presence_id": "1000",
                "priv_level": "user",
                "enabled": True,
                "features": [],
                "flags": [],
            }
        )
        self.row_head, self.row_tail = row.split(b"#" * 32)

    def create(self) -> bytes:
        self.created += 1
        uid = b"%032x" % self.created
        return _response(201, self.create_head + uid + self.create_tail)

    def listing(self, query: str) -> bytes:
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        size = int(params.get("page_size") or 50)
        start = int(params.get("start_key") or 0)
        end = min(self.users, start + size)
        rows = b",".join(self.row_head + b"%032x" % i + self.row_tail for i in range(start, end))
        meta = (
            b'"next_start_key":"%d",' % end if end < self.users else b""
        ) + b'"page_size":%d,"start_key":"%d",' % (end - start, start)
        body = (
            b'{"auth_token":"","data":['
            + rows
            + b"],"
            + meta
            + b'"request_id":"bench-list","revision":"undefined","status":"success"}'
        )
        return _response(200, body)

    def route(self, method: bytes, target: bytes) -> bytes:
        path, _, query = target.decode("latin-1").partition("?")
        if path.startswith("/v2/accounts/"):
            rest = path[len("/v2/accounts/") :].split("/")
            if len(rest) == 3 and rest[1] == "users" and method == b"GET":
                return self.get_user
            if len(rest) == 2 and rest[1] == "users":
                if method == b"PUT":
                    return self.create()
                if method == b"GET":
                    return self.listing(query)
        elif path == "/v2/api_auth" and method == b"PUT":
            return self.auth
        elif path == "/__stats":
            return _response(
                200,
                _dumps(
                    {"requests": self.requests, "cpu": time.process_time(), "created": self.created}
                ),
            )
        return self.not_found


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; Content-Length request bodies only."""

    def __init__(self, server: Server, stop: asyncio.Event) -> None:
        self.server = server
        self.stop = stop
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        out: list[bytes] = []
        close = False
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            idx = head.find(b"ontent-Length:")
            if idx < 0:
                idx = head.find(b"ontent-length:")
            if idx >= 0:
                line_end = head.find(b"\r\n", idx)
                length = int(head[idx + 14 : line_end if line_end >= 0 else None])
            total = end + 4 + length
            if len(buf) < total:
                break
            line_end = head.find(b"\r\n")
            method, target, _ = head[:line_end].split(b" ", 2)
            self.server.requests += 1
            if b"onnection: close" in head or b"onnection: Close" in head:
                close = True
            if method == b"POST" and target == b"/__shutdown":
                out.append(_response(200, b"{}", close=True))
                close = True
                self.stop.set()
            else:
                out.append(self.server.route(method, target))
            buf = buf[total:]
            if close:
                break
        self.buffer = buf
        assert self.transport is not None
        if out:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])
        if close:
            self.transport.close()


async def serve(port: int, users: int, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    state = Server(users)
    server = await loop.create_server(
        lambda: HttpProtocol(state, stop), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)

    def watch_stdin() -> None:  # the parent closed our stdin, or died
        with contextlib.suppress(Exception):
            sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    if not sys.stdin.isatty():
        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        await asyncio.wait_for(stop.wait(), timeout=lifetime)
    except TimeoutError:
        print("bench server: lifetime over, stopping", file=sys.stderr)
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--lifetime", type=float, default=900.0)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    runner: Any = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            pass
    runner(serve(args.port, args.users, args.lifetime))
    os._exit(0)


if __name__ == "__main__":
    main()
