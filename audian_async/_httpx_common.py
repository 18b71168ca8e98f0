"""What the httpx transport and its websocket share: timeouts, headers and failures translated."""

from __future__ import annotations

import httpx

from ._transport import TransportError
from ._types import Timeout

__all__ = ["NOT_SENT", "headers_dict", "to_httpx_timeout", "translate"]


def to_httpx_timeout(t: Timeout) -> httpx.Timeout:
    """Our per-phase timeouts as httpx's."""
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def headers_dict(headers: httpx.Headers) -> dict[str, str]:
    """httpx headers as one dict: lower-cased names, repeated headers joined with ``, ``."""
    out: dict[str, str] = {}
    for key, value in headers.multi_items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def translate(exc: httpx.HTTPError) -> TransportError:
    """An httpx failure as a :class:`TransportError` (how far the request got, timeout or not)."""
    timeout = isinstance(exc, httpx.TimeoutException)
    sent = not isinstance(exc, NOT_SENT)
    name = type(exc).__name__
    detail = str(exc) or name
    return TransportError(f"{name}: {detail}", sent=sent, timeout=timeout)
