"""``audian.events``: opens event streams on the client's transport, credentials and clock."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .._errors import ValidationError
from ._protocol import socket_url
from ._stream import DEFAULT_MAX_MESSAGE_SIZE, Backoff, EventStream

if TYPE_CHECKING:
    from .._core import Core

__all__ = ["Events"]


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(name, "exclusiveMinimum", f"must be a number > 0, not {value!r}")


class Events:
    """Realtime events of the Audian (Kazoo blackhole) event socket."""

    def __init__(self, core: Core, url: str | None = None) -> None:
        self._core = core
        self._url = url

    @property
    def url(self) -> str:
        """The socket URL: ``events_url=`` of the client, else derived from ``base_url``."""
        return self._url or socket_url(self._core.base_url)

    def subscribe(
        self,
        *bindings: str,
        account_id: str | None = None,
        buffer_size: int = 1000,
        ping_interval: float = 30.0,
        ping_timeout: float = 10.0,
        reply_timeout: float = 10.0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
        rng: random.Random | None = None,
    ) -> EventStream:
        """A stream of the events of ``bindings``, on a socket of its own.

        Example:
            async with audian.events.subscribe("call.CHANNEL_CREATE.*") as events:
                async for event in events:
                    if isinstance(event, Gap):
                        ...  # events were lost: resynchronise over REST
                    else:
                        print(event.name, event.data)

        Args:
            bindings: ``call.<EVENT>.<CALL_ID>``, ``object.<action>.<type>``,
                ``fax.status.<FAX_ID>``, ``conference.event.<CONF_ID>.<CALL_ID>`` ... (``*``
                matches any segment); one subscribe message is sent per binding.
            account_id: the account to watch (default: this client's, or its
                ``for_account`` view's).
            buffer_size: events held for the application; when it falls behind, the oldest
                are dropped (counted in ``stats.dropped`` and marked by a ``Gap``).
            ping_interval: seconds between application pings (sent on the period, whatever
                the traffic: the server answers nothing else that proves it reads).
            ping_timeout: a ping not sent and answered within this many seconds means the
                socket is dead: reconnect.
            reply_timeout: how long a subscribe may wait for its reply.
            max_message_size: the largest message accepted (default 16 MiB; events carry
                whole documents, often over 64 KiB). A bigger one makes the websocket
                library close the socket: the stream reconnects and yields a ``Gap``.
            backoff: waits between reconnection attempts (default 0.25 s doubling to 30 s,
                jittered).
            max_attempts: consecutive failed attempts before the stream fails with
                ``APIConnectionError`` (default: never give up).
            rng: the random source of the jitter (tests).
        """
        if not bindings:
            raise ValidationError("bindings", "minItems", "subscribe to at least one binding")
        for binding in bindings:
            if not isinstance(binding, str) or not binding.strip():
                raise ValidationError(
                    "bindings", "type", f"each binding is a non-empty string, not {binding!r}"
                )
        if account_id is not None and (not isinstance(account_id, str) or not account_id):
            raise ValidationError("account_id", "type", "must be a non-empty string")
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ValidationError("buffer_size", "minimum", "must be a whole number >= 1")
        if max_attempts is not None and (
            isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
        ):
            raise ValidationError("max_attempts", "minimum", "must be a whole number >= 1 or None")
        for name, value in (
            ("ping_interval", ping_interval),
            ("ping_timeout", ping_timeout),
            ("reply_timeout", reply_timeout),
            ("max_message_size", max_message_size),
        ):
            _positive(name, value)
        return EventStream(
            self._core,
            self.url,
            bindings,
            account_id=account_id,
            buffer_size=buffer_size,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            reply_timeout=reply_timeout,
            max_message_size=int(max_message_size),
            backoff=backoff or Backoff(),
            max_attempts=max_attempts,
            rng=rng,
        )

    def __repr__(self) -> str:
        return f"Events(url={self.url!r})"
