"""The resource families beyond users, devices, callflows and numbers, gathered for the router.

Each family lives in its own module (voicemail, conferences, temporal rules, webhooks, CDRs,
live state, faxes, billing, user credentials) and exposes ``KINDS`` (document kinds served by
the generic CRUD routes) and/or ``endpoints()`` (its own routes).
"""

from __future__ import annotations

from . import (
    _billing,
    _cdrs,
    _conferences,
    _faxes,
    _live,
    _temporal,
    _user_auth,
    _voicemail,
    _webhooks,
)
from ._handlers import Endpoint
from ._kinds import Kind

__all__ = ["family_endpoints", "family_kinds"]


def _modules() -> list[object]:
    return [
        _voicemail,
        _conferences,
        _temporal,
        _webhooks,
        _cdrs,
        _live,
        _faxes,
        _billing,
        _user_auth,
    ]


def family_kinds() -> dict[str, Kind]:
    """Document kinds of every family, by collection name."""
    kinds: dict[str, Kind] = {}
    for module in _modules():
        kinds.update(getattr(module, "KINDS", {}))
    return kinds


def family_endpoints() -> list[Endpoint]:
    """The families' own routes (beyond generic CRUD)."""
    table: list[Endpoint] = []
    for module in _modules():
        make = getattr(module, "endpoints", None)
        if make is not None:
            table.extend(make())
    return table
