"""Shared test helpers: JWT-shaped tokens, Kazoo envelopes and sent JSON bodies."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

ACCOUNT = "a" * 32
API_KEY = "k" * 64
BASE = "https://api.audian.com:8443/v2"
ASTRADIAL_ROOT = "https://pbx.example.com:8000"
ASTRADIAL_BASE = ASTRADIAL_ROOT + "/api/v1"
ASTRADIAL_KEY = "ak_" + "0123456789abcdef" * 2


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(lifetime: float = 3600, *, iat: float | None = None, **claims: Any) -> str:
    """A JWT-shaped token (unsigned) with `iat` and `exp` in whole seconds."""
    issued = int(time.time() if iat is None else iat)
    payload = {
        "account_id": ACCOUNT,
        "owner_id": "o" * 32,
        "iat": issued,
        "exp": issued + int(lifetime),
        **claims,
    }
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(payload).encode())}.{b64(b'sig')}"


def envelope(data: Any, **meta: Any) -> dict[str, Any]:
    """A Kazoo success envelope."""
    return {
        "data": data,
        "status": "success",
        "request_id": meta.pop("request_id", "req-1"),
        "revision": "1-abc",
        **meta,
    }


def users_page(ids: list[str], next_key: str | None, start: str | None = None) -> Any:
    """An ``httpx.Response`` with one page of a users listing (``F<id>`` first names)."""
    import httpx

    meta: dict[str, Any] = {"page_size": len(ids)}
    if next_key:
        meta["next_start_key"] = next_key
    if start:
        meta["start_key"] = start
    return httpx.Response(
        200, json=envelope([{"id": i, "first_name": "F" + i} for i in ids], **meta)
    )


def auth_body(token: str, account_id: str = ACCOUNT) -> dict[str, Any]:
    return {
        "auth_token": token,
        "data": {"account_id": account_id, "owner_id": "o" * 32},
        "status": "success",
    }


def shift_clock(monkeypatch: Any, *, frozen: bool = False) -> list[float]:
    """Let a test move the SDK's system clock (``now`` and ``wall``) forward: the returned
    one-item list holds the offset in seconds added to the real clocks (``frozen``: to their
    readings at this call, so that only the offset moves the clock)."""
    import time

    from audian_async._clock import SystemClock

    offset = [0.0]
    if frozen:
        mono, wall = time.monotonic(), time.time()
        monkeypatch.setattr(SystemClock, "now", staticmethod(lambda: mono + offset[0]))
        monkeypatch.setattr(SystemClock, "wall", staticmethod(lambda: wall + offset[0]))
    else:
        monkeypatch.setattr(SystemClock, "now", staticmethod(lambda: time.monotonic() + offset[0]))
        monkeypatch.setattr(SystemClock, "wall", staticmethod(lambda: time.time() + offset[0]))
    return offset


def record_sleeps(monkeypatch: Any, *, frozen: bool = False) -> list[float]:
    """Put the SDK's system clock on virtual time: sleeps are recorded and move the clock
    forward at once (backoffs and holds take no real time; deadlines still count them).
    ``frozen``: only the sleeps move the clock (see :func:`shift_clock`)."""
    import anyio.lowlevel

    from audian_async._clock import SystemClock

    recorded: list[float] = []
    offset = shift_clock(monkeypatch, frozen=frozen)

    async def fake_sleep(self: SystemClock, seconds: float) -> None:
        recorded.append(seconds)
        offset[0] += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(SystemClock, "sleep", fake_sleep)
    return recorded


def body_of(route: Any, index: int = -1) -> Any:
    """The JSON body of a respx route's call (the last one unless told)."""
    return json.loads(route.calls[index].request.content)
