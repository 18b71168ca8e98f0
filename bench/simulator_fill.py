"""The simulator's create rate as it fills: empty vs holding ``--users`` users.

``python -m bench.simulator_fill [--users 100000] [--n 2000]``

Creates go through ``Simulator.create`` (the store, validation and uniqueness rules, without
HTTP), so the number isolates what grows with the stored users: batch pairs (a fresh empty
simulator, then the full one, alternating order) and the median of their ratios, as
``bench/paired.py`` does for clients. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from audian_async.testing import SimulatorConfig, create_app


def measure(users: int, n: int, pairs: int = 7) -> dict[str, float]:
    """Creates/s into an empty simulator vs one holding ``users``, in alternating batches.

    Each of ``pairs`` batch pairs creates ``n // pairs`` users in a fresh (empty) simulator
    and as many in the full one, one right after the other, so both share the machine's load
    of that moment; the ratio is the median of the per-pair ratios.
    """
    full_sim = create_app(SimulatorConfig(bucket_size=None, check_contract=False, seed=1))
    full_account = full_sim.master_account_id
    batch = max(1, n // pairs)

    def creates(sim: Any, account: str, start: int, count: int) -> float:
        began = time.perf_counter()
        for i in range(start, start + count):
            sim.create("users", account, {"first_name": "B", "last_name": "U", "username": f"u{i}"})
        return count / (time.perf_counter() - began)

    creates(full_sim, full_account, 0, users)
    ratios, empty_rates, full_rates = [], [], []
    for k in range(pairs):
        empty_sim = create_app(SimulatorConfig(bucket_size=None, check_contract=False, seed=1))
        runs = [(empty_sim, empty_sim.master_account_id, 0), (full_sim, full_account, users)]
        rates = {}
        for sim, account, offset in runs if k % 2 == 0 else runs[::-1]:
            rates[id(sim)] = creates(sim, account, offset + k * batch, batch)
        empty, full = rates[id(empty_sim)], rates[id(full_sim)]
        empty_rates.append(empty)
        full_rates.append(full)
        ratios.append(full / empty)
    return {
        "users": users,
        "empty_per_s": statistics.median(empty_rates),
        "full_per_s": statistics.median(full_rates),
        "ratio": statistics.median(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=2_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.users, args.n)))


if __name__ == "__main__":
    main()
