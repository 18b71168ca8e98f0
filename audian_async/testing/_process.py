"""Running a simulator in a child process, so it does not share the client's interpreter lock.

``serve()`` (a thread) is the right tool for tests that inspect or script the simulator while
it runs. For load (the demo's bulk step, benchmarks) the simulator competes with the client
for the GIL; ``serve_in_process()`` gives it a process, and so a core, of its own. The parent
can still ask the child for its contract violations through a pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from ._config import SimulatorConfig

__all__ = ["ProcessServer", "serve_in_process"]


@dataclass
class ProcessServer:
    """A simulator served by [`serve_in_process`][audian_async.testing.serve_in_process]."""

    host: str
    port: int
    default_api_key: str
    astradial_api_key: str
    master_account_id: str
    _conn: Connection = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def base_url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def _ask(self, command: str) -> Any:
        with self._lock:
            self._conn.send(command)
            return self._conn.recv()

    @property
    def contract_violations(self) -> list[str]:
        """Response contract violations seen by the child so far."""
        result: list[str] = self._ask("contract_violations")
        return result

    @property
    def request_violations(self) -> list[str]:
        """Request contract violations seen by the child so far."""
        result: list[str] = self._ask("request_violations")
        return result


def _child(config: SimulatorConfig | None, host: str, conn: Connection) -> None:
    import uvicorn

    # Out of the terminal's process group: Ctrl-C interrupts the parent only (no traceback
    # from here); the parent stops this server through the pipe, or by exiting (EOF).
    with contextlib.suppress(OSError, AttributeError):
        os.setpgrp()

    from ._app import Simulator
    from ._server import bind_socket, uvicorn_config

    sim = Simulator(config)
    sock = bind_socket(host, 0)
    sock.listen(2048)  # connections made before uvicorn is up wait in the backlog
    server = uvicorn.Server(uvicorn_config(sim, host, int(sock.getsockname()[1])))

    def answer() -> None:
        while True:
            try:
                command = conn.recv()
            except EOFError:
                server.should_exit = True
                return
            if command == "stop":
                server.should_exit = True
                conn.send(None)
                return
            conn.send(list(getattr(sim, command, [])))

    conn.send(
        {
            "port": int(sock.getsockname()[1]),
            "default_api_key": sim.default_api_key,
            "astradial_api_key": sim.astradial_api_key,
            "master_account_id": sim.master_account_id,
        }
    )
    threading.Thread(target=answer, daemon=True).start()
    server.run(sockets=[sock])


@contextmanager
def serve_in_process(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", *, startup_timeout: float = 30.0
) -> Iterator[ProcessServer]:
    """Serve a new simulator from a child process for the ``with`` block."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(config, host, child), daemon=True)
    process.start()
    try:
        if not parent.poll(startup_timeout):
            raise RuntimeError("the simulator process did not start")
        info = parent.recv()
        yield ProcessServer(
            host=host,
            port=info["port"],
            default_api_key=info["default_api_key"],
            astradial_api_key=info["astradial_api_key"],
            master_account_id=info["master_account_id"],
            _conn=parent,
        )
    finally:
        try:
            parent.send("stop")
            parent.poll(5)
        except (BrokenPipeError, EOFError, OSError):
            pass
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
        parent.close()
