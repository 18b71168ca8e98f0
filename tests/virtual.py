"""Virtual time for tests: trio's MockClock, and a fake Kazoo server that lives on it.

``run_virtual(main)`` runs ``main`` under trio with ``MockClock(autojump_threshold=0)``: time
jumps forward whenever every task waits, so seconds of tokens, backoffs and bucket refills pass
in microseconds, deterministically. Clients in such a test take ``clock=LoopClock(...)``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import httpx

from audian_async._clock import LoopClock
from tests.helpers import ACCOUNT, b64

T = TypeVar("T")

#: A fractional Unix time, so that whole-second `exp` values fall mid-run.
EPOCH = 1_800_000_000.35


def run_virtual(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` on virtual time (trio ``MockClock``, jumping whenever all tasks wait)."""
    import trio.testing

    return anyio.run(
        main,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )


def jwt(exp: int, **claims: Any) -> str:
    """A JWT-shaped token with only `exp` (whole seconds, no `iat`, as Kazoo issues them)."""
    import json

    head = b64(json.dumps({"alg": "HS256"}).encode())
    body = b64(json.dumps({"account_id": ACCOUNT, "exp": exp, **claims}).encode())
    return f"{head}.{body}.{b64(b'sig')}"


class FakeKazoo:
    """A Kazoo-like API on virtual time, as an ``httpx.MockTransport`` handler.

    Tokens live ``token_lifetime`` seconds with ``exp`` in whole seconds (no ``iat``) and are
    refused with 401 once expired. The bucket holds ``bucket`` tokens; an empty bucket answers
    429 without Retry-After. ``model`` is how it refills: ``"block"`` (Kazoo's default:
    ``refill`` tokens every ``period`` seconds as one block, a refusal leaves the level alone),
    ``"token"`` (one token every ``period / refill`` seconds) or ``"drain"`` (a continuous
    refill, and every refusal empties the bucket). ``per_account``: one bucket per account
    named in the URL (Kazoo's key), else one for the server.
    ``fail_503`` answers 503 before acting (the token is spent); ``drop_after`` drops the
    connection after the user was stored.
    """

    def __init__(
        self,
        clock: LoopClock,
        *,
        token_lifetime: int = 3600,
        exchange_latency: float = 0.002,
        latency: float = 0.002,
        bucket: int | None = None,
        refill: int = 100,
        period: float = 1.0,
        model: str = "block",
        per_account: bool = False,
        report_tokens: bool = True,
        fail_503: float = 0.0,
        drop_after: float = 0.0,
        seed: int = 7,
    ) -> None:
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.exchange_latency = exchange_latency
        self.latency = latency
        self.size = bucket
        self.refill = refill
        self.period = period
        self.report_tokens = report_tokens
        self.fail_503 = fail_503
        self.drop_after = drop_after
        self.rng = random.Random(seed)
        self.model = model
        self.per_account = per_account
        self._buckets: dict[str, list[float]] = {}  # key -> [level, refilled_at]
        self.created_by_account: dict[str, int] = {}
        self.exchanges = 0
        self.requests = 0
        self.rejected_401 = 0
        self.rejected_429 = 0
        self.users: dict[str, dict[str, Any]] = {}
        self.usernames: set[Any] = set()
        self.valid: dict[str, float] = {}

    def transport(self) -> httpx.MockTransport:
        """The transport to give the client."""
        return httpx.MockTransport(self.handle)

    @property
    def level(self) -> float:
        """The level of the server's bucket (the first account's, with ``per_account``)."""
        return next(iter(self._buckets.values()))[0] if self._buckets else float(self.size or 0)

    def _bucket(self, key: str) -> list[float]:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [float(self.size or 0), self.clock.now()]
        return bucket

    def _take_token(self, key: str) -> bool:
        if self.size is None:
            return True
        bucket = self._bucket(key)
        now = self.clock.now()
        if self.model == "drain":
            rate = self.refill / self.period
            bucket[0] = min(self.size, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        else:
            interval, amount = (
                (self.period / self.refill, 1)
                if self.model == "token"
                else (self.period, self.refill)
            )
            ticks = math.floor((now - bucket[1]) / interval)
            if ticks > 0:
                bucket[0] = min(self.size, bucket[0] + ticks * amount)
                bucket[1] += ticks * interval
        if bucket[0] < 1:
            if self.model == "drain":
                bucket[0] = 0.0
            return False
        bucket[0] -= 1
        return True

    def _envelope(self, data: Any, key: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"data": data, "status": "success", "request_id": "r"}
        if self.report_tokens and self.size is not None:
            body["tokens"] = {"consumed": 1, "remaining": math.floor(self._bucket(key)[0])}
        return body

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request."""
        self.requests += 1
        path = request.url.path
        if path.endswith("/api_auth"):
            await anyio.sleep(self.exchange_latency)
            self.exchanges += 1
            exp = math.floor(self.clock.wall()) + self.token_lifetime
            token = jwt(exp, jti=str(self.exchanges))
            self.valid[token] = exp
            return httpx.Response(
                201,
                json={"auth_token": token, "data": {"account_id": ACCOUNT}, "status": "success"},
            )
        await anyio.sleep(self.latency)
        exp = self.valid.get(request.headers.get("x-auth-token", ""))
        if exp is None or self.clock.wall() >= exp:
            self.rejected_401 += 1
            return httpx.Response(
                401, json={"status": "error", "error": "401", "message": "invalid_credentials"}
            )
        account = path.split("/accounts/", 1)[1].split("/", 1)[0] if "/accounts/" in path else ""
        key = account if self.per_account else ""
        if not self._take_token(key):
            self.rejected_429 += 1
            return httpx.Response(
                429, json={"status": "error", "error": "429", "message": "too_many_requests"}
            )
        if self.fail_503 and self.rng.random() < self.fail_503:
            return httpx.Response(
                503, json={"status": "error", "error": "503", "message": "datastore_fault"}
            )
        if request.method == "GET" and "/users/" in path:
            return httpx.Response(200, json=self._envelope({"id": path.rsplit("/", 1)[1]}, key))
        if request.method == "GET" and path.endswith("/users"):
            username = request.url.params.get("filter_username")
            rows = [u for u in self.users.values() if u.get("username") == username]
            return httpx.Response(200, json=self._envelope(rows, key))
        if request.method == "PUT" and path.endswith("/users"):
            import json

            data = json.loads(request.content)["data"]
            if data.get("username") in self.usernames:
                return httpx.Response(
                    400,
                    json={
                        "status": "error",
                        "error": "400",
                        "message": "validation error",
                        "data": {"username": {"unique": {"message": "Value not unique"}}},
                    },
                )
            user = {**data, "id": f"u{len(self.users) + 1}"}
            self.users[user["id"]] = user
            self.usernames.add(data.get("username"))
            self.created_by_account[account] = self.created_by_account.get(account, 0) + 1
            if self.drop_after and self.rng.random() < self.drop_after:
                raise httpx.ReadError("connection dropped after the server acted")
            return httpx.Response(201, json=self._envelope(user, key))
        return httpx.Response(404, json={"status": "error", "error": "404", "message": "not_found"})
