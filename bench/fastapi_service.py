"""A FastAPI service under 128 concurrent clients: the README's example vs raw aiohttp.

``python -m bench.fastapi_service --port P [--concurrency 128 --batches 6 --batch-n 1500]``

Two FastAPI applications run in their own uvicorn processes against the benchmark server
(``bench.server`` on loopback, port ``P``): ``sdk`` is the README's FastAPI example exactly as
written (``audian_lifespan()`` from ``AUDIAN_API_KEY`` / ``AUDIAN_BASE_URL``, one
``users.get`` per request), ``raw`` the same endpoint calling the upstream with one
``aiohttp.ClientSession`` (token from ``PUT /v2/api_auth`` at start-up), which its handler
gets as the README's handler gets its client: from ``app.state`` through a FastAPI
dependency (FastAPI spends some 15-20 µs a request resolving one). A load generator
sends ``GET /users/{id}`` to each with ``--concurrency`` in flight, in alternating batches
(``raw, sdk, sdk, raw ...``, as in ``bench.paired``), and prints one JSON line: requests/s
of each and the median per-pair ratio ``sdk / raw``.

``python -m bench.fastapi_service serve sdk|raw --upstream P`` runs one application and
prints ``PORT n``; it stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

API_KEY = "b" * 64
USER_ID = "0" * 31 + "1"
README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    """The README's FastAPI example, verbatim."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- readme-example: fastapi -->\n```python\n(.*?)```", text, re.S)
    if match is None:
        raise RuntimeError("README has no FastAPI example")
    return match.group(1)


def sdk_app(upstream: str) -> Any:
    os.environ["AUDIAN_API_KEY"] = API_KEY
    os.environ["AUDIAN_BASE_URL"] = f"{upstream}/v2"
    namespace: dict[str, Any] = {}
    exec(compile(readme_example(), "README:fastapi", "exec"), namespace)
    return namespace["app"]


async def _upstream(request: Request) -> dict[str, Any]:
    """The raw app's session, token and account: from ``app.state`` through a dependency,
    the way the README's app gets its client, so that the two apps differ only in the SDK."""
    state: dict[str, Any] = request.app.state.upstream
    return state


def raw_app(upstream: str) -> Any:
    import aiohttp
    from fastapi import FastAPI, HTTPException

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            body = {"data": {"api_key": API_KEY}}
            async with session.put(f"{upstream}/v2/api_auth", json=body) as r:
                auth = await r.json()
            app.state.upstream = {
                "session": session,
                "token": auth["auth_token"],
                "account": auth["data"]["account_id"],
            }
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/users/{user_id}")
    async def read_user(
        user_id: str, state: Annotated[dict[str, Any], Depends(_upstream)]
    ) -> dict[str, object]:
        url = f"{upstream}/v2/accounts/{state['account']}/users/{user_id}"
        async with state["session"].get(url, headers={"X-Auth-Token": state["token"]}) as r:
            if r.status != 200:
                raise HTTPException(502)
            data: dict[str, object] = (await r.json())["data"]
            return data

    return app


def serve(kind: str, upstream_port: int) -> None:
    import uvicorn

    upstream = f"http://127.0.0.1:{upstream_port}"
    app = sdk_app(upstream) if kind == "sdk" else raw_app(upstream)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", loop="asyncio", lifespan="on"))

    def watch_stdin() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


def _start(kind: str, upstream_port: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fastapi_service",
            "serve",
            kind,
            "--upstream",
            str(upstream_port),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the {kind} FastAPI app did not start: {line!r}")
    return proc, int(line.split()[1])


async def _drive(session: Any, url: str, n: int, concurrency: int) -> float:
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.get(url) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"{url}: {r.status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def compare(
    ports: dict[str, int], concurrency: int, batches: int, batch_n: int
) -> dict[str, Any]:
    import aiohttp

    urls = {k: f"http://127.0.0.1:{p}/users/{USER_ID}" for k, p in ports.items()}
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        for kind in ("raw", "sdk"):
            await _drive(session, urls[kind], concurrency * 4, concurrency)  # warm up
        walls: dict[str, float] = {"raw": 0.0, "sdk": 0.0}
        ratios = []
        for i in range(batches):
            order = ("raw", "sdk") if i % 2 == 0 else ("sdk", "raw")
            batch = {
                kind: await _drive(session, urls[kind], batch_n, concurrency) for kind in order
            }
            for kind, wall in batch.items():
                walls[kind] += wall
            ratios.append(batch["raw"] / batch["sdk"])  # sdk rps / raw rps
    n = batches * batch_n
    return {
        "concurrency": concurrency,
        "batches": batches,
        "batch_n": batch_n,
        "raw_rps": n / walls["raw"],
        "sdk_rps": n / walls["sdk"],
        "rps_ratio": statistics.median(ratios),
        "rps_ratios": ratios,
    }


def run(upstream_port: int, concurrency: int, batches: int, batch_n: int) -> dict[str, Any]:
    """Start both apps, compare them, stop them."""
    procs: list[subprocess.Popen[str]] = []
    try:
        ports = {}
        for kind in ("raw", "sdk"):
            proc, port = _start(kind, upstream_port)
            procs.append(proc)
            ports[kind] = port
        return asyncio.run(compare(ports, concurrency, batches, batch_n))
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:
        parser = argparse.ArgumentParser()
        parser.add_argument("kind", choices=("sdk", "raw"))
        parser.add_argument("--upstream", type=int, required=True)
        opts = parser.parse_args(args[1:])
        serve(opts.kind, opts.upstream)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True, help="the bench.server port")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-n", type=int, default=1500)
    opts = parser.parse_args(args)
    print(json.dumps(run(opts.port, opts.concurrency, opts.batches, opts.batch_n)))


if __name__ == "__main__":
    main()
