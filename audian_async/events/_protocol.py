"""Blackhole's wire protocol: the socket URL, messages, replies, and the message bucket."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["MessageBucket", "classify_refusal", "reply_errors", "socket_url"]


def socket_url(base_url: str) -> str:
    """The event socket of a REST base URL: same host and port, ``/v2/websocket``, ``wss`` for
    ``https`` (a path prefix before ``/v2`` is kept, for servers behind a path-routing proxy)."""
    parts = urlsplit(base_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    prefix = path[: -len("/v2")] if path.endswith("/v2") else ""
    return urlunsplit((scheme, parts.netloc, f"{prefix}/v2/websocket", "", ""))


def reply_errors(reply: Mapping[str, Any]) -> list[str]:
    """The error strings of an error reply (``data.errors``, else anything readable)."""
    data = reply.get("data")
    found: list[str] = []
    if isinstance(data, Mapping):
        errors = data.get("errors")
        if isinstance(errors, Sequence) and not isinstance(errors, str):
            found = [str(e) for e in errors]
        elif isinstance(errors, str):
            found = [errors]
        elif isinstance(data.get("message"), str):
            found = [data["message"]]
    elif isinstance(data, str):
        found = [data]
    if not found:
        for key in ("error", "message", "reason"):
            if isinstance(reply.get(key), str):
                found.append(reply[key])
    return found


Refusal = Literal["rate_limited", "token", "refused"]


def classify_refusal(errors: Sequence[str]) -> Refusal:
    """What an error reply means for the client: the bucket was empty (pace and resend), the
    token was refused (refresh it once), or the request itself was refused."""
    text = " ".join(errors).lower()
    if "rate limit" in text:
        return "rate_limited"
    if "account" not in text and any(
        word in text for word in ("token", "authenticat", "unauthorized", "credential")
    ):
        return "token"
    return "refused"


class MessageBucket:
    """The client's copy of the server's per-socket bucket: ``capacity`` messages, ``rate``
    more each second, so that a burst of subscribes is paced instead of refused.

    Refills are counted as one block a second from when this socket opened (the server's
    bucket, created as the socket opened, refills no later), which is right for a server
    refilling in blocks and conservative for one refilling continuously.
    """

    __slots__ = ("_blocks", "_clock", "_hold_until", "_level", "_opened", "capacity", "rate")

    def __init__(self, clock: Clock, capacity: int = 100, rate: float = 10.0) -> None:
        self._clock = clock
        self.capacity = capacity
        self.rate = rate
        self._level = float(capacity)
        self._opened = clock.now()
        self._blocks = 0
        self._hold_until = -math.inf

    def _refill(self, now: float) -> None:
        blocks = math.floor(now - self._opened)
        if blocks > self._blocks:
            self._level = min(self.capacity, self._level + (blocks - self._blocks) * self.rate)
            self._blocks = blocks

    async def take(self) -> None:
        """Spend one message, waiting for the bucket to refill when it is empty."""
        while True:
            now = self._clock.now()
            self._refill(now)
            if now >= self._hold_until and self._level >= 1.0:
                self._level -= 1.0
                return
            next_block = self._opened + self._blocks + 1
            await self._clock.sleep(max(self._hold_until - now, next_block - now, 1e-3))

    def refused(self) -> None:
        """The server found its bucket empty: wait one refill period before sending again."""
        now = self._clock.now()
        self._refill(now)
        self._level = 0.0
        self._hold_until = now + 1.0
