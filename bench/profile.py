"""Profile the SDK's per-request path: ``python -m bench.profile [get|create] [aiohttp|httpx]``.

Starts the benchmark server, runs ``N`` SDK calls at ``C`` in flight under cProfile (or
pyinstrument with ``--pyinstrument``) and prints the functions with the most own time.
Use it to see what the SDK itself costs per request beside the HTTP library.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys

from ._serverproc import BenchServer
from .clients import drive, make_call


async def _profiled(args: argparse.Namespace, port: int) -> None:
    call, close = await make_call(
        f"sdk-{args.transport}", args.op, f"http://127.0.0.1:{port}", args.concurrency
    )
    try:
        await drive(call, max(2 * args.concurrency, 200), args.concurrency)
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled", interval=0.0002)
            profiler.start()
            await drive(call, args.n, args.concurrency)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        else:
            prof = cProfile.Profile()
            prof.enable()
            await drive(call, args.n, args.concurrency)
            prof.disable()
            stats = pstats.Stats(prof, stream=sys.stdout)
            stats.sort_stats(args.sort).print_stats(args.top)
    finally:
        await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("op", nargs="?", default="get", choices=["get", "create"])
    parser.add_argument("transport", nargs="?", default="aiohttp", choices=["aiohttp", "httpx"])
    parser.add_argument("-c", "--concurrency", type=int, default=256)
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--pyinstrument", action="store_true")
    args = parser.parse_args()
    with BenchServer() as server:
        asyncio.run(_profiled(args, server.port))


if __name__ == "__main__":
    main()
