"""The simulator's create rate as it fills: empty vs holding ``--users`` users.

``python -m bench.simulator_fill [--users 100000] [--n 2000]``

Creates go through ``Simulator.create`` (the store, validation and uniqueness rules, without
HTTP), so the number isolates what grows with the stored users. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

from audian_async.testing import SimulatorConfig, create_app


def measure(users: int, n: int) -> dict[str, float]:
    sim = create_app(SimulatorConfig(bucket_size=None, check_contract=False, seed=1))
    account = sim.master_account_id

    def creates(start: int, count: int) -> float:
        began = time.perf_counter()
        for i in range(start, start + count):
            sim.create("users", account, {"first_name": "B", "last_name": "U", "username": f"u{i}"})
        return count / (time.perf_counter() - began)

    empty = creates(0, n)
    creates(n, users - n)
    full = creates(users, n)
    return {"users": users, "empty_per_s": empty, "full_per_s": full, "ratio": full / empty}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=2_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.users, args.n)))


if __name__ == "__main__":
    main()
