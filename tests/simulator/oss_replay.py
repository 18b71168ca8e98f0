"""Replay exchanges recorded from the open-source Astradial server against the simulator.

A recording (``recordings/astradial_oss/*.json``) is a list of exchanges: ``request`` (method,
path, body), ``status`` and ``body`` as the real server answered, with secrets, ids and times
replaced by placeholders (see ``recordings/astradial_oss/README.md``). The replayer sends each
request to the simulator and compares the answer:

* ``<id:N>`` matches any string; the first match binds it, later ones must be equal, and a
  request path or body naming it sends the bound value (an unbound one sends a fresh UUID);
* ``<secret>`` matches any non-empty string; ``<time>`` a date-time, ``<date>`` a date,
  ``<seconds>`` a number, ``<host>``/``<hostname>`` any string; ``<prefix>`` inside a string an
  organisation's phone-system prefix, ``<ms>`` digits, ``(conn:<n>,`` any connection number, ``<port>`` the phone
  system's port;
* ``match`` chooses the comparison: ``exact`` (default), ``shape`` (the same keys at every
  level and the same JSON types; for rows the server read from hand-seeded fixtures), or
  ``skip`` (a fixture step through a route the simulator does not have: not sent);
* ``auth``: ``api_key`` (the organisation key), ``none``, ``jwt`` (a login of the simulator's
  owner, made by the ``login`` step) or ``created_key`` (the key the first ``api_keys`` create
  answered).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

RECORDINGS = Path(__file__).parent / "recordings" / "astradial_oss"

_ID = re.compile(r"<id:\d+>")
_PLACEHOLDER = re.compile(r"<(?:id:\d+|secret|time|date|prefix|ms|n|port|host|hostname|seconds)>")
_TOKENS = {
    "<secret>": r".+",
    "<time>": r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?Z?",
    "<date>": r"\d{4}-\d\d-\d\d",
    "<prefix>": r"org_[0-9a-z]+_",
    "<ms>": r"\d+",
    "<n>": r"\d+",
    "<port>": r"\d+",
    "<host>": r".+",
    "<hostname>": r".+",
}


def load(name: str) -> list[dict[str, Any]]:
    """The exchanges of one recording."""
    data: list[dict[str, Any]] = json.loads((RECORDINGS / f"{name}.json").read_text())
    return data


@dataclass
class Replayer:
    """Sends recorded requests to the simulator and compares its answers."""

    client: httpx.AsyncClient
    org_key: str
    login: tuple[str, str]
    bound: dict[str, Any] = field(default_factory=dict)
    token: str | None = None
    created_key: str | None = None

    async def run(self, exchanges: list[dict[str, Any]]) -> list[str]:
        """Replay every exchange; the readable differences (empty when all match)."""
        problems: list[str] = []
        for n, exchange in enumerate(exchanges):
            mode = exchange.get("match", "exact")
            if mode == "skip":
                continue
            where = f"#{n} {exchange['note']!r}"
            status, body = await self._send(exchange)
            if status != exchange["status"]:
                problems.append(
                    f"{where}: status {status} != recorded {exchange['status']}: {body}"
                )
                continue
            if mode == "login":  # the simulator's own owner stands for the recorded account
                self.token = body["token"]
                for key in ("id", "org_id"):
                    self.bound[exchange["body"]["user"][key]] = body["user"][key]
                mode = "shape"
            diffs = self._compare(exchange["body"], body, "$", shape=mode == "shape")
            problems.extend(f"{where}: {d}" for d in diffs)
            created = isinstance(body, dict) and "api_secret" in body
            if created and self.created_key is None:
                self.created_key = body["api_key"]
        return problems

    async def _send(self, exchange: dict[str, Any]) -> tuple[int, Any]:
        request = exchange["request"]
        headers: dict[str, str] = {}
        auth = exchange["auth"]
        if exchange.get("match") == "login":
            body: Any = {"email": self.login[0], "password": self.login[1]}
            auth = "none"
        else:
            body = self._fill(request["body"])
        if auth == "api_key":
            headers["X-API-Key"] = self.org_key
        elif auth == "created_key":
            assert self.created_key is not None, "no api_keys.create before this step"
            headers["X-API-Key"] = self.created_key
        elif auth == "jwt":
            assert self.token is not None, "no login step before this one"
            headers["Authorization"] = f"Bearer {self.token}"
        path = self._fill(request["path"])
        response = await self.client.request(request["method"], path, json=body, headers=headers)
        return response.status_code, response.json() if response.content else None

    def _fill(self, value: Any) -> Any:
        """A recorded request value with its placeholders replaced by bound values."""
        if isinstance(value, dict):
            return {k: self._fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        if isinstance(value, str):
            value = _ID.sub(lambda m: str(self.bound.setdefault(m.group(0), uuid.uuid4())), value)
            return value.replace("<secret>", "replayed-secret-1")
        return value

    def _compare(self, want: Any, got: Any, where: str, *, shape: bool) -> list[str]:
        if isinstance(want, dict):
            if not isinstance(got, dict):
                return [f"{where}: expected an object, got {got!r}"]
            if set(want) != set(got):
                missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
                return [f"{where}: keys differ: missing {missing}, not recorded {extra}"]
            return [
                d for k in want for d in self._compare(want[k], got[k], f"{where}.{k}", shape=shape)
            ]
        if isinstance(want, list):
            if not isinstance(got, list):
                return [f"{where}: expected a list, got {got!r}"]
            if shape:
                if want and got:
                    return [
                        d
                        for item in got
                        for d in self._compare(want[0], item, f"{where}[]", shape=True)
                    ]
                return []
            if len(want) != len(got):
                return [f"{where}: {len(got)} items, recorded {len(want)}"]
            return self._compare_rows(want, got, where)
        if isinstance(want, str) and _PLACEHOLDER.search(want):
            return self._placeholder(want, got, where, shape=shape)
        if shape:
            if want is None or got is None:  # a nullable column: null or a value
                return []
            if type(want) is not type(got) and not (
                isinstance(want, int | float) and isinstance(got, int | float)
            ):
                return [
                    f"{where}: {type(got).__name__} where the server sent {type(want).__name__}"
                ]
            return []
        if want != got:
            return [f"{where}: {got!r} != recorded {want!r}"]
        return []

    def _compare_rows(self, want: list[Any], got: list[Any], where: str) -> list[str]:
        """Lists in any order (the server lists rows in primary-key order: random UUIDs)."""
        unused = list(range(len(got)))
        problems: list[str] = []
        for n, item in enumerate(want):
            for m in unused:
                saved = dict(self.bound)
                if not self._compare(item, got[m], f"{where}[{n}]", shape=False):
                    unused.remove(m)
                    break
                self.bound = saved
            else:
                first = unused[0]
                problems += self._compare(item, got[first], f"{where}[{n}]", shape=False)
                unused.remove(first)
        return problems

    def _placeholder(self, want: str, got: Any, where: str, *, shape: bool) -> list[str]:
        if want == "<seconds>":
            return [] if isinstance(got, int | float) else [f"{where}: {got!r} is not a number"]
        if shape and got is None:  # a nullable column
            return []
        if not isinstance(got, str):
            return [f"{where}: {got!r} where the server sent {want!r}"]
        if _ID.fullmatch(want):
            if shape:
                return []
            bound = self.bound.setdefault(want, got)
            return [] if str(bound) == got else [f"{where}: {got!r} != {want} ({bound!r})"]
        pattern = ""
        for piece in re.split(f"({_PLACEHOLDER.pattern})", want):
            if _ID.fullmatch(piece):
                pattern += (
                    re.escape(str(self.bound[piece]))
                    if piece in self.bound and not shape
                    else r".+"
                )
            elif piece in _TOKENS:
                pattern += _TOKENS[piece]
            else:
                pattern += re.escape(piece)
        if shape or re.fullmatch(pattern, got, flags=re.S):
            return []
        return [f"{where}: {got!r} does not match recorded {want!r}"]
