"""The credentials a client attaches to its requests: headers, and when to replace them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._redact import REDACTED

__all__ = ["Credentials", "str_or_none"]


class Credentials:
    """Headers to attach, and when to replace them. Secret values never appear in ``repr``.

    Attributes:
        headers: the credential headers.
        refreshable: whether a new exchange can replace them (after a 401, or before expiry).
        jwt: the token whose ``exp`` schedules the refresh (``None``: no schedule).
        refresh_margin: refresh this many seconds before ``exp`` (capped at half the lifetime).
        refresh_at: when (client clock) a background refresh is due; ``None``: none planned.
        expires_at: when (client clock) the credentials stop working; ``None``: unknown.
        earliest_expiry: the earliest moment (client clock) the server may already hold them
            expired (whole-second claims and the exchange's own trip blur ``expires_at``); a
            401 after it is explained by expiry. ``None``: unknown.
        account_id, owner_id: who the credentials act as.
    """

    __slots__ = (
        "account_id",
        "earliest_expiry",
        "exp",
        "expires_at",
        "headers",
        "jwt",
        "owner_id",
        "refresh_at",
        "refresh_margin",
        "refreshable",
    )

    def __init__(
        self,
        headers: tuple[tuple[str, str], ...],
        *,
        refreshable: bool = False,
        jwt: str | None = None,
        refresh_margin: float = 60.0,
        account_id: str | None = None,
        owner_id: str | None = None,
    ) -> None:
        self.headers = headers
        self.refreshable = refreshable
        self.jwt = jwt
        self.refresh_margin = refresh_margin
        self.refresh_at: float | None = None
        self.expires_at: float | None = None
        self.earliest_expiry: float | None = None
        self.exp: float | None = None
        self.account_id = account_id
        self.owner_id = owner_id

    @classmethod
    def kazoo_token(cls, token: str, data: Mapping[str, Any], refresh_margin: float) -> Credentials:
        """A Kazoo auth token from an exchange (``api_auth``, ``user_auth``): refreshable,
        acting as the ``account_id`` and ``owner_id`` the answer's ``data`` names."""
        return cls(
            (("X-Auth-Token", token),),
            refreshable=True,
            jwt=token,
            refresh_margin=refresh_margin,
            account_id=str_or_none(data.get("account_id")),
            owner_id=str_or_none(data.get("owner_id")),
        )

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"Credentials(headers=[{names}: {REDACTED}], account_id={self.account_id!r})"


def str_or_none(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None
