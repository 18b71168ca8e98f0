"""Conferences: Kazoo conference documents served by the generic CRUD routes."""

from __future__ import annotations

from typing import Any

from .._store import Doc
from ._kinds import Kind, pick

__all__ = ["CONFERENCE", "KINDS"]


def _summary(doc: Doc) -> dict[str, Any]:
    out = pick(doc, ("name", "owner_id", "conference_numbers", "member", "moderator"))
    member = doc.data.get("member")
    out["member_count"] = 0
    out["is_locked"] = False
    if isinstance(member, dict):
        out["member"] = member
    return out


CONFERENCE = Kind(
    name="conference",
    collection="conferences",
    schema={"type": "object"},
    defaults={
        "conference_numbers": [],
        "member": {"pins": [], "numbers": [], "join_muted": True, "join_deaf": False},
        "moderator": {"pins": [], "numbers": [], "join_muted": False, "join_deaf": False},
        "play_name": False,
    },
    summary=_summary,
    spec_input="ConferenceInput",
)

#: Collection name -> kind.
KINDS = {CONFERENCE.collection: CONFERENCE}
