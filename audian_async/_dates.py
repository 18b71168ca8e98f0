"""Kazoo's Gregorian seconds: Erlang's calendar seconds since year 0, Kazoo's timestamp unit."""

from __future__ import annotations

from datetime import UTC, datetime

from ._types import NotGiven

__all__ = ["GREGORIAN_OFFSET", "gregorian_seconds"]

#: Seconds from 0000-01-01 (Erlang's Gregorian calendar) to the Unix epoch.
GREGORIAN_OFFSET = 62_167_219_200


def gregorian_seconds(value: datetime | int | NotGiven) -> int | NotGiven:
    """A time as Kazoo's Gregorian seconds (seconds since year 0; naive datetimes are UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp()) + GREGORIAN_OFFSET
    return value
