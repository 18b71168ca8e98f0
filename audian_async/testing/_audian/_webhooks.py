"""Webhooks: Kazoo webhook documents served by the generic CRUD routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._schema import SchemaError
from .._store import Doc, Store
from ._kinds import Kind, pick

__all__ = ["KINDS", "WEBHOOK"]


def _summary(doc: Doc) -> dict[str, Any]:
    return pick(doc, ("name", "uri", "hook", "enabled", "http_verb"))


def _rules(
    store: Store, account_id: str, data: dict[str, Any], self_id: str | None
) -> list[SchemaError]:
    """Kazoo checks the URI in code: an absolute http(s) URL."""
    uri = data.get("uri")
    if isinstance(uri, str):
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return [SchemaError(("uri",), "invalid", "Invalid URI", value=uri)]
    return []


WEBHOOK = Kind(
    name="webhook",
    collection="webhooks",
    schema={"type": "object"},
    defaults={
        "enabled": True,
        "http_verb": "post",
        "format": "form-data",
        "retries": 2,
        "include_internal_legs": True,
    },
    rules=_rules,
    summary=_summary,
    spec_input="WebhookInput",
)

#: Collection name -> kind.
KINDS = {WEBHOOK.collection: WEBHOOK}
