"""State shared by a client and all the views derived from it (``with_options``, ``for_account``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Shared"]


class Shared:
    """State shared by a client and all its views."""

    __slots__ = ("closed", "engine", "envelope", "validate")

    def __init__(
        self, engine: Engine, envelope: Literal["kazoo", "plain"], validate: bool = True
    ) -> None:
        self.engine = engine
        self.envelope = envelope
        self.validate = validate
        self.closed = False

    @property
    def authenticator(self) -> Any:
        """The credential holder (shared by every view)."""
        return self.engine.authenticator

    @property
    def transport(self) -> Any:
        """The transport (shared by every view)."""
        return self.engine.transport

    @property
    def limiter(self) -> Any:
        """The rate limiter of requests naming no account (shared by every view)."""
        return self.engine.limiter
