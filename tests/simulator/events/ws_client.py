"""A small blocking websocket client for the event-socket tests (wsproto over a plain socket).

Blocking on purpose: the simulator runs on its own thread (``serve``), and a test needs exact
control over reading (a client that stops reading is how a slow reader looks to the server).
Socket timeouts only stop a broken test from hanging; no test asserts on them.
"""

from __future__ import annotations

import itertools
import json
import socket
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

#: Seconds a blocking read may wait before the test fails instead of hanging.
SAFETY_TIMEOUT = 20.0

_ids = itertools.count(1)


class Refused(Exception):
    """The server answered the upgrade with an HTTP status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"upgrade refused with HTTP {status}")
        self.status = status


class Closed(Exception):
    """The server sent a close frame."""

    def __init__(self, code: int) -> None:
        super().__init__(f"closed by the server with code {code}")
        self.code = code


class Dropped(Exception):
    """The connection ended without a close frame."""


class WsClient:
    """One connection to the simulator's event socket."""

    def __init__(self, sock: socket.socket, ws: WSConnection) -> None:
        self.sock = sock
        self.ws = ws
        self.received: list[dict[str, Any]] = []  # events seen while waiting for a reply
        self._text: list[str] = []
        self._ready: list[dict[str, Any]] = []

    @classmethod
    def connect(
        cls,
        port: int,
        path: str = "/v2/websocket",
        *,
        host: str = "127.0.0.1",
        subprotocols: tuple[str, ...] = (),
        rcvbuf: int | None = None,
    ) -> WsClient:
        """Open and upgrade a connection; raises :class:`Refused` on an HTTP answer."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(SAFETY_TIMEOUT)
        sock.connect((host, port))
        ws = WSConnection(ConnectionType.CLIENT)
        sock.sendall(
            ws.send(Request(host=f"{host}:{port}", target=path, subprotocols=list(subprotocols)))
        )
        client = cls(sock, ws)
        while True:
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    return client
                if isinstance(event, RejectConnection):
                    if event.has_body:
                        client._drain_rejection()
                    sock.close()
                    raise Refused(event.status_code)
            client._feed()

    def _drain_rejection(self) -> None:
        while True:
            for event in self.ws.events():
                if isinstance(event, RejectData) and event.body_finished:
                    return
            data = self.sock.recv(65536)
            if not data:
                return
            self.ws.receive_data(data)

    def _feed(self) -> None:
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            raise Dropped from None
        if not data:
            raise Dropped
        self.ws.receive_data(data)

    # -- sending --------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """One text frame."""
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def send_bytes(self, data: bytes) -> None:
        """One binary frame."""
        self.sock.sendall(self.ws.send(BytesMessage(data=data)))

    def send(self, message: dict[str, Any]) -> None:
        """One JSON message."""
        self.send_text(json.dumps(message))

    # -- receiving ------------------------------------------------------------------------------

    def recv(self) -> dict[str, Any]:
        """The next message (decoded); raises :class:`Closed` or :class:`Dropped`."""
        while not self._ready:
            for event in self.ws.events():
                if isinstance(event, TextMessage):
                    self._text.append(event.data)
                    if event.message_finished:
                        self._ready.append(json.loads("".join(self._text)))
                        self._text.clear()
                elif isinstance(event, Ping):
                    self.sock.sendall(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    raise Closed(event.code)
            if not self._ready:
                self._feed()
        return self._ready.pop(0)

    def request(
        self,
        action: str,
        token: str | None = None,
        data: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Send one message with a fresh request id and return its reply (events are kept)."""
        request_id = f"req-{next(_ids)}"
        message: dict[str, Any] = {"action": action, "request_id": request_id, **extra}
        if token is not None:
            message["auth_token"] = token
        if data is not None:
            message["data"] = data
        self.send(message)
        return self.reply_to(request_id)

    def reply_to(self, request_id: str) -> dict[str, Any]:
        """Read until the reply carrying ``request_id`` (events meanwhile go to ``received``)."""
        while True:
            message = self.recv()
            if message.get("action") == "reply" and message.get("request_id") == request_id:
                return message
            self.received.append(message)

    def subscribe(self, token: str | None, account_id: str, binding: str) -> dict[str, Any]:
        """``subscribe`` one binding and return the reply."""
        return self.request("subscribe", token, {"account_id": account_id, "binding": binding})

    def next_event(self) -> dict[str, Any]:
        """The next event (one kept by :meth:`request` first)."""
        if self.received:
            return self.received.pop(0)
        while True:
            message = self.recv()
            if message.get("action") == "event":
                return message

    def close(self) -> None:
        """Close the TCP connection (no close handshake: tests do not need one)."""
        self.sock.close()

    def __enter__(self) -> WsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
