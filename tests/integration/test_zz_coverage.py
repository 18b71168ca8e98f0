"""Every operation of every spec has an integration test (see coverage_registry.covers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .coverage_registry import COVERED, SERVED

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


def astradial_operations() -> dict[str, str]:
    """``"METHOD /template"`` -> operationId of every operation of spec/astradial.yaml."""
    doc = yaml.safe_load((SPEC_DIR / "astradial.yaml").read_text())
    return {
        f"{method.upper()} {template}": op["operationId"]
        for template, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


@pytest.mark.parametrize("flavour", ["docs", "oss"])
def test_every_astradial_operation_ran_against_both_simulator_flavours(flavour: str) -> None:
    served = SERVED.get(f"astradial@{flavour}")
    if served is None:
        pytest.skip("test_astradial_operations.py did not run in this session")
    missing = sorted(op for key, op in astradial_operations().items() if key not in served)
    assert missing == [], f"operations never sent to the {flavour} flavour: {missing}"
