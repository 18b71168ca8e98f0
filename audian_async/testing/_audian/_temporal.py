"""Temporal rules and temporal rule sets (Kazoo's time-of-day routing documents)."""

from __future__ import annotations

from typing import Any

from .._schema import SchemaError
from .._store import Doc, Store
from ._kinds import Kind, pick

__all__ = ["KINDS", "TEMPORAL_RULE", "TEMPORAL_RULE_SET"]

#: Kazoo's default start date: 1983-04-11 in Gregorian seconds.
DEFAULT_START_DATE = 62586115200


def _rule_summary(doc: Doc) -> dict[str, Any]:
    return pick(doc, ("name", "cycle", "enabled"))


def _set_summary(doc: Doc) -> dict[str, Any]:
    return pick(doc, ("name", "temporal_rules"))


def _set_rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    """Every listed rule must be a temporal rule of the account."""
    errors: list[SchemaError] = []
    for index, rule_id in enumerate(data.get("temporal_rules") or []):
        if isinstance(rule_id, str) and store.get("temporal_rule", account_id, rule_id) is None:
            errors.append(
                SchemaError(
                    ("temporal_rules", index),
                    "not_found",
                    "Referenced temporal rule does not exist",
                    cause=rule_id,
                )
            )
    return errors


TEMPORAL_RULE = Kind(
    name="temporal_rule",
    collection="temporal_rules",
    schema={"type": "object"},
    defaults={"interval": 1, "start_date": DEFAULT_START_DATE},
    summary=_rule_summary,
    spec_input="TemporalRuleInput",
)

TEMPORAL_RULE_SET = Kind(
    name="temporal_rule_set",
    collection="temporal_rules_sets",
    schema={"type": "object"},
    rules=_set_rules,
    summary=_set_summary,
    spec_input="TemporalRuleSetInput",
)

#: Collection name -> kind.
KINDS = {k.collection: k for k in (TEMPORAL_RULE, TEMPORAL_RULE_SET)}
