"""Which spec operations the integration tests exercise (checked by test_zz_coverage.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., object])

COVERED: set[str] = set()


def covers(api: str, *operation_ids: str) -> Callable[[F], F]:
    """Mark a test as exercising these operationIds of ``spec/<api>.yaml`` over real HTTP."""
    COVERED.update(f"{api}:{op}" for op in operation_ids)

    def mark(fn: F) -> F:
        return fn

    return mark


#: ``"<api>@<flavour>"`` -> the ``"METHOD /template"`` of every spec operation a simulator of
#: that flavour actually served during the run (filled from its request log at teardown).
SERVED: dict[str, set[str]] = {}


def record_served(label: str, sim: Any) -> None:
    """Add the spec operations ``sim`` answered (any status) to ``SERVED[label]``."""
    contract = sim.contract
    assert contract is not None, "the simulator checks the spec, so it can name operations"
    served = SERVED.setdefault(label, set())
    for request in sim.requests:
        found = contract.operation_for(request.method, request.path)
        if found is not None:
            served.add(f"{found[0]} {found[1]}")
