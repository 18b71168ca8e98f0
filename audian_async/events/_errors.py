"""Errors of the event stream (besides the SDK's own ``AuthenticationError``,
``APIStatusError`` and ``APIConnectionError``)."""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import AudianError

__all__ = ["EventStreamError", "SubscriptionError"]


class EventStreamError(AudianError):
    """The event stream cannot go on (or cannot start): the message says why."""


class SubscriptionError(EventStreamError):
    """The server refused a binding for a reason other than its rate limit or the token:
    an unknown binding, or an account the credentials may not watch.

    Attributes:
        binding: the binding refused.
        account_id: the account it was asked for.
        errors: the server's error strings.
    """

    def __init__(self, binding: str, account_id: str, errors: Sequence[str]) -> None:
        detail = "; ".join(errors) or "no reason given"
        super().__init__(f"subscribe {binding!r} on account {account_id!r} refused: {detail}")
        self.binding = binding
        self.account_id = account_id
        self.errors = tuple(errors)
