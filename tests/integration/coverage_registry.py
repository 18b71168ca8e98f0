"""Which spec operations the integration tests exercise (checked by test_zz_coverage.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

COVERED: set[str] = set()


def covers(api: str, *operation_ids: str) -> Callable[[F], F]:
    """Mark a test as exercising these operationIds of ``spec/<api>.yaml`` over real HTTP."""
    COVERED.update(f"{api}:{op}" for op in operation_ids)

    def mark(fn: F) -> F:
        return fn

    return mark
