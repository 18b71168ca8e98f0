"""Running a simulator (or any ASGI app) with uvicorn on a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["RunningServer", "bind_socket", "serve"]


@dataclass(frozen=True)
class RunningServer:
    """A server started by [`serve`][audian_async.testing.serve]."""

    app: Any
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash, no ``/v2``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on, before the server loop runs
    return sock


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn settings the simulator relies on (h11, plain asyncio, lifespan if the app has
    one, websockets through wsproto without server pings: Kazoo's socket sends none)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        loop="asyncio",
        ws="wsproto",
        ws_ping_interval=None,
        lifespan="auto",
        log_level=log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )


@contextmanager
def serve(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 10.0
) -> Iterator[RunningServer]:
    """Serve ``app`` over real loopback HTTP from a daemon thread for the ``with`` block.

    Works the same from sync, asyncio and trio tests (the server has its own event loop).
    Raises RuntimeError when the server does not come up within ``startup_timeout``.
    """
    sock = bind_socket(host, port)
    bound_port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn_config(app, host, bound_port))
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"audian-simulator-{bound_port}",
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator failed to start on {host}:{bound_port}")
            time.sleep(0.005)
        yield RunningServer(app=app, host=host, port=bound_port)
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        sock.close()
