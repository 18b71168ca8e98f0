"""A raw client and the SDK measured in alternating batches in one process.

``python -m bench.paired RAW SDK OP --port P --concurrency C --batches B --batch-n N``

Both clients are set up (and warmed up) in the same process and event loop, then run in
alternating batches of ``N`` requests (``RAW, SDK, SDK, RAW, RAW, SDK ...``) with ``C`` in
flight. Each batch pair shares the machine's load of its moment, so the per-pair ratios are
far steadier on a shared machine than separate runs. Prints one JSON line: per-request CPU
and requests/s of each client over all batches, and the median per-pair ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from .clients import drive, make_call


async def paired(
    raw: str, sdk: str, op: str, port: int, concurrency: int, batches: int, batch_n: int
) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    calls = {}
    closers = []
    for config in (raw, sdk):
        call, close = await make_call(config, op, base, concurrency)
        calls[config] = call
        closers.append(close)
    try:
        for config in (raw, sdk):
            await drive(calls[config], concurrency + 100, concurrency)  # open the connections
        totals = {raw: [0.0, 0.0], sdk: [0.0, 0.0]}  # cpu seconds, wall seconds
        cpu_ratios, rps_ratios = [], []
        for i in range(batches):
            order = (raw, sdk) if i % 2 == 0 else (sdk, raw)
            batch: dict[str, tuple[float, float]] = {}
            for config in order:
                cpu0 = time.process_time()
                wall = await drive(calls[config], batch_n, concurrency)
                batch[config] = (time.process_time() - cpu0, wall)
                totals[config][0] += batch[config][0]
                totals[config][1] += wall
            cpu_ratios.append(batch[sdk][0] / batch[raw][0])
            rps_ratios.append(batch[raw][1] / batch[sdk][1])
    finally:
        for close in closers:
            await close()
    n = batches * batch_n
    return {
        "raw": raw,
        "sdk": sdk,
        "op": op,
        "concurrency": concurrency,
        "batches": batches,
        "batch_n": batch_n,
        "raw_cpu_us": totals[raw][0] / n * 1e6,
        "sdk_cpu_us": totals[sdk][0] / n * 1e6,
        "raw_rps": n / totals[raw][1],
        "sdk_rps": n / totals[sdk][1],
        "cpu_ratios": cpu_ratios,
        "rps_ratios": rps_ratios,
        "cpu_ratio": statistics.median(cpu_ratios),
        "rps_ratio": statistics.median(rps_ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("sdk")
    parser.add_argument("op", choices=["get", "create"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-n", type=int, default=1500)
    args = parser.parse_args()
    result = asyncio.run(
        paired(args.raw, args.sdk, args.op, args.port, args.concurrency, args.batches, args.batch_n)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
