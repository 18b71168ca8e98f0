"""Every operation of every spec has an integration test (see coverage_registry.covers)."""

from __future__ import annotations

from pathlib import Path

import yaml

from .coverage_registry import COVERED

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
METHODS = {"get", "put", "post", "patch", "delete"}


def spec_operations() -> set[str]:
    ops: set[str] = set()
    for spec in SPEC_DIR.glob("*.yaml"):
        doc = yaml.safe_load(spec.read_text())
        for item in doc["paths"].values():
            ops.update(
                f"{spec.stem}:{op['operationId']}"
                for method, op in item.items()
                if method in METHODS
            )
    return ops


def test_every_spec_operation_has_an_integration_test() -> None:
    operations = spec_operations()
    assert len(operations) >= 35
    missing = sorted(operations - COVERED)
    assert missing == [], f"operations without an integration test: {missing}"
    unknown = sorted(COVERED - operations)
    assert unknown == [], f"tests claim operations the spec does not have: {unknown}"
