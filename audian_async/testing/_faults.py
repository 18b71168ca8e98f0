"""Fault injection: scripted (queued, matched in order) and random (seeded) failures.

Kinds:

* :func:`status` — answer with that status instead of acting (429/503 carry a Kazoo error
  envelope; ``retry_after`` adds a ``Retry-After`` header; ``html=True`` sends an nginx-style
  HTML page, as a gateway would for 502/504).
* :data:`drop_before` — close the connection without a response, before acting.
* :data:`drop_after` — act on the request (e.g. create the user), then close without a response.
* :func:`delay` — sleep before acting (``after=True``: act first, then sleep before responding).

Over a real socket a drop closes the TCP connection; in-process (``httpx.ASGITransport``) it
raises :class:`ConnectionDropped`, a subclass of ``httpx.RemoteProtocolError``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from .._transport_httpx import ConnectionDropped

__all__ = [
    "ConnectionDropped",
    "Delay",
    "DropAfter",
    "DropBefore",
    "Fault",
    "FaultController",
    "RandomFault",
    "ScriptedFault",
    "Status",
    "delay",
    "drop_after",
    "drop_before",
    "status",
]


@dataclass(frozen=True)
class Status:
    """Respond with ``code`` without acting on the request."""

    code: int
    retry_after: float | None = None
    html: bool = False

    @property
    def label(self) -> str:
        """Short name for the request log."""
        return f"status({self.code})"


@dataclass(frozen=True)
class DropBefore:
    """Close the connection before acting on the request."""

    label: str = "drop_before"


@dataclass(frozen=True)
class DropAfter:
    """Act on the request, then close the connection without responding."""

    label: str = "drop_after"


@dataclass(frozen=True)
class Delay:
    """Respond slowly: sleep ``seconds`` before acting (or after acting when ``after``)."""

    seconds: float
    after: bool = False

    @property
    def label(self) -> str:
        """Short name for the request log."""
        return f"delay({self.seconds})"


Fault = Status | DropBefore | DropAfter | Delay

drop_before = DropBefore()
drop_after = DropAfter()


def status(code: int, retry_after: float | None = None, *, html: bool = False) -> Status:
    """A status fault, e.g. ``status(429, retry_after=2)`` or ``status(503)``."""
    return Status(code, retry_after, html)


def delay(seconds: float, *, after: bool = False) -> Delay:
    """A slow-response fault."""
    return Delay(seconds, after)


def _coerce(kind: Fault | str | int) -> Fault:
    if isinstance(kind, int):
        return Status(kind)
    if kind == "drop_before":
        return drop_before
    if kind == "drop_after":
        return drop_after
    if isinstance(kind, str):
        raise ValueError(f"unknown fault kind {kind!r}")
    return kind


def _matches(method: str | None, path_contains: str | None, req_method: str, path: str) -> bool:
    if method is not None and method.upper() != req_method.upper():
        return False
    return path_contains is None or path_contains in path


@dataclass
class ScriptedFault:
    """A queued fault; ``remaining`` None means forever. ``hits`` counts uses."""

    kind: Fault
    method: str | None = None
    path_contains: str | None = None
    remaining: int | None = 1
    hits: int = 0


@dataclass
class RandomFault:
    """A fault that fires with ``probability`` on matching requests."""

    kind: Fault
    probability: float
    rng: random.Random
    method: str | None = None
    path_contains: str | None = None
    hits: int = field(default=0)


class FaultController:
    """Holds the fault rules of one simulator; safe to drive from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[ScriptedFault] = []
        self._random: list[RandomFault] = []

    def script(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        times: int | None = 1,
        *,
        kind: Fault | str | int,
    ) -> ScriptedFault:
        """Queue a fault for the next ``times`` matching requests (None: every one)."""
        entry = ScriptedFault(_coerce(kind), method, path_contains, times)
        with self._lock:
            self._script.append(entry)
        return entry

    def rate(
        self,
        kind: Fault | str | int,
        probability: float,
        seed: int | None = None,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> RandomFault:
        """Inject ``kind`` at random into a fraction of matching requests."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        entry = RandomFault(_coerce(kind), probability, random.Random(seed), method, path_contains)
        with self._lock:
            self._random.append(entry)
        return entry

    def clear(self) -> None:
        """Forget every scripted and random fault."""
        with self._lock:
            self._script.clear()
            self._random.clear()

    @property
    def pending(self) -> list[ScriptedFault]:
        """Scripted faults that have not been used up."""
        with self._lock:
            return list(self._script)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, if any (scripted ones first)."""
        with self._lock:
            for entry in self._script:
                if _matches(entry.method, entry.path_contains, method, path):
                    entry.hits += 1
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining <= 0:
                            self._script.remove(entry)
                    return entry.kind
            for rule in self._random:
                if (
                    _matches(rule.method, rule.path_contains, method, path)
                    and rule.rng.random() < rule.probability
                ):
                    rule.hits += 1
                    return rule.kind
        return None
