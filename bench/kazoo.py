"""A Kazoo-like server for the pushback scenarios (loopback only, its own process).

``python -m bench.kazoo [--token-lifetime S] [--bucket B --refill R] [--fail-503 P]
[--drop-after P] [--no-tokens] [--seed N]`` prints ``PORT <n>`` once listening and stops when
its standard input closes (or after ``--lifetime`` seconds).

* ``PUT /v2/api_auth`` → 201 and a JWT whose ``exp`` is whole seconds with no ``iat``
  (Kazoo's shape); a request with an expired or unknown token gets 401.
* A token bucket per server (``--per-account``: per account named in the URL, Kazoo's key):
  ``--bucket`` tokens; an empty bucket answers 429 without ``Retry-After``. ``--model`` is how
  it refills: ``block`` (Kazoo's default: ``--refill`` tokens once a second as one block, on the
  bucket's own timer; a refusal leaves the level alone), ``token`` (one token every
  ``1 / refill`` s, Kazoo with ``fill_as_block`` off) or ``drain`` (a continuous refill, and
  every refusal empties the bucket, as some gateways do). Every admitted request spends a
  token, and envelopes report ``tokens.remaining`` unless ``--no-tokens``.
* ``--fail-503 P``: that share of admitted requests gets 503 ``datastore_fault`` before
  acting. ``--drop-after P``: that share of user creates is stored, then the connection is
  dropped without an answer.
* ``PUT /v2/accounts/{a}/users`` creates (usernames unique: 400 otherwise); ``GET
  /v2/accounts/{a}/users?filter_username=`` looks one up; ``GET .../users/{id}`` reads one.
* ``GET /__stats`` (never limited): counts, and the creates per username.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import random
import sys
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "a" * 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Kazoo:
    """The server's state and request handling."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.buckets: dict[str, list[float]] = {}  # key -> [level, refilled up to]
        self.level = float(args.bucket)
        self.tokens: dict[str, float] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.by_username: dict[str, str] = {}
        self.creates: Counter[str] = Counter()
        self.stats = Counter[str]()

    def _take(self, key: str) -> bool:
        args = self.args
        if args.bucket <= 0:
            return True
        now = time.monotonic()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = [float(args.bucket), now]
        if args.model == "drain":
            rate = args.refill / args.period
            bucket[0] = min(args.bucket, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        else:
            interval, amount = (
                (args.period / args.refill, 1)
                if args.model == "token"
                else (args.period, args.refill)
            )
            ticks = math.floor((now - bucket[1]) / interval)
            if ticks > 0:
                bucket[0] = min(args.bucket, bucket[0] + ticks * amount)
                bucket[1] += ticks * interval
        self.level = bucket[0]
        if bucket[0] < 1:
            if args.model == "drain":
                bucket[0] = self.level = 0.0
            return False
        bucket[0] -= 1
        self.level = bucket[0]
        return True

    def _envelope(self, data: Any, status: str = "success") -> dict[str, Any]:
        body: dict[str, Any] = {"data": data, "status": status, "request_id": "kz"}
        if self.args.bucket > 0 and not self.args.no_tokens:
            body["tokens"] = {"consumed": 1, "remaining": math.floor(self.level)}
        return body

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        """(status, JSON body), or ``None`` to drop the connection."""
        url = urlsplit(target)
        path = url.path
        if path == "/__stats":
            return 200, {
                **self.stats,
                "users": len(self.users),
                "duplicates": sum(1 for n in self.creates.values() if n > 1),
                "creates_by_username": self.creates,
            }
        self.stats["requests"] += 1
        if path.endswith("/api_auth"):
            self.stats["exchanges"] += 1
            exp = math.floor(time.time()) + self.args.token_lifetime
            claims = {"account_id": ACCOUNT, "exp": exp, "jti": self.stats["exchanges"]}
            token = f"{_b64(b'{}')}.{_b64(json.dumps(claims).encode())}.{_b64(b'sig')}"
            self.tokens[token] = exp
            return 201, {"auth_token": token, "data": {"account_id": ACCOUNT}, "status": "success"}
        exp = self.tokens.get(headers.get("x-auth-token", ""))
        if exp is None or time.time() >= exp:
            self.stats["rejected_401"] += 1
            return 401, {"status": "error", "error": "401", "message": "invalid_credentials"}
        account = path.split("/accounts/", 1)[1].split("/", 1)[0] if "/accounts/" in path else ""
        if not self._take(account if self.args.per_account else ""):
            self.stats["rejected_429"] += 1
            return 429, {"status": "error", "error": "429", "message": "too_many_requests"}
        if self.args.fail_503 and self.rng.random() < self.args.fail_503:
            self.stats["faults_503"] += 1
            return 503, {"status": "error", "error": "503", "message": "datastore_fault"}
        if method == "PUT" and path.endswith("/users"):
            data = json.loads(body)["data"]
            username = data.get("username", "")
            if username in self.by_username:
                self.stats["rejected_duplicate"] += 1
                return 400, {
                    "status": "error",
                    "error": "400",
                    "message": "validation error",
                    "data": {"username": {"unique": {"message": "Value not unique"}}},
                }
            user_id = f"u{len(self.users) + 1:031d}"
            user = {**data, "id": user_id}
            self.users[user_id] = user
            self.by_username[username] = user_id
            self.creates[username] += 1
            if self.args.drop_after and self.rng.random() < self.args.drop_after:
                self.stats["dropped_after_acting"] += 1
                return None
            return 201, self._envelope(user)
        if method == "GET" and path.endswith("/users"):
            username = parse_qs(url.query).get("filter_username", [""])[0]
            found = self.by_username.get(username)
            return 200, self._envelope([self.users[found]] if found else [])
        if method == "GET" and "/users/" in path:
            return 200, self._envelope({"id": path.rsplit("/", 1)[1], "first_name": "Ada"})
        return 404, {"status": "error", "error": "404", "message": "bad_identifier"}


async def _serve_connection(
    kazoo: Kazoo, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            answer = kazoo.handle(method, target, headers, body)
            if answer is None:
                writer.transport.abort()
                return
            status, payload = answer
            content = json.dumps(payload, separators=(",", ":")).encode()
            writer.write(
                b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"X-Request-ID: kz\r\n\r\n" % (status, len(content)) + content
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):
        pass  # the client went away, or the server is stopping
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _main(args: argparse.Namespace) -> None:
    kazoo = Kazoo(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        sys.stdin.read()  # returns when the parent closes the pipe
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(kazoo, r, w), "127.0.0.1", args.port, backlog=1024
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.lifetime)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kazoo")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=600)
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument("--bucket", type=int, default=0, help="0: no rate limit")
    parser.add_argument("--refill", type=int, default=100)
    parser.add_argument("--period", type=float, default=1.0)
    parser.add_argument("--model", choices=("block", "token", "drain"), default="block")
    parser.add_argument("--per-account", action="store_true", help="a bucket per account")
    parser.add_argument("--fail-503", type=float, default=0.0)
    parser.add_argument("--drop-after", type=float, default=0.0)
    parser.add_argument("--no-tokens", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
