"""Starting and stopping the benchmark server in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import Any


class BenchServer:
    """``with BenchServer() as s: s.port`` — ``bench.server`` in a child process (loopback).

    The child stops by itself when its standard input closes (this process exited or closed
    the pipe), after ``lifetime`` seconds, or when asked to shut down.
    """

    def __init__(self, users: int = 100_000, lifetime: float = 900.0) -> None:
        self.users = users
        self.lifetime = lifetime
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchServer:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.server",
                "--users",
                str(self.users),
                "--lifetime",
                str(self.lifetime),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + 15
        line = self._proc.stdout.readline().decode()
        if not line.startswith("PORT ") or time.monotonic() > deadline:
            self._proc.kill()
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__stats", timeout=5) as r:
            return dict(json.loads(r.read()))

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the server's stop signal
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
