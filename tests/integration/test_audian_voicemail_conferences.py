"""Voicemail, conferences, temporal rules and webhooks through the SDK over loopback HTTP."""

from __future__ import annotations

import itertools

import pytest

from audian_async import AsyncAudian, BadRequestError, NotFoundError, ValidationError
from audian_async.audian import (
    Conference,
    TemporalRule,
    TemporalRuleSet,
    VoicemailBox,
    VoicemailMessage,
    Webhook,
)
from audian_async.testing import Simulator

from .coverage_registry import covers

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq):04d}"


@covers(
    "audian",
    "vmboxes.create",
    "vmboxes.get",
    "vmboxes.list",
    "vmboxes.update",
    "vmboxes.patch",
    "vmboxes.delete",
)
async def test_voicemail_box_lifecycle(audian: AsyncAudian) -> None:
    mailbox = unique("7")
    box = await audian.vmboxes.create(name="Sales", mailbox=mailbox, pin="1234", require_pin=True)
    assert isinstance(box, VoicemailBox) and box.mailbox == mailbox
    assert box.check_if_owner is True and box.media_extension == "mp3"  # Kazoo's defaults
    assert "1234" not in repr(box)
    assert [b.id async for b in audian.vmboxes.list(filters={"mailbox": mailbox})] == [box.id]
    box.name = "Sales Team"
    assert (await audian.vmboxes.update(box.id, box)).name == "Sales Team"
    patched = await audian.vmboxes.patch(box.id, transcribe=True)
    assert patched.transcribe is True and patched.name == "Sales Team"
    with pytest.raises(BadRequestError) as dup:
        await audian.vmboxes.create(name="Other", mailbox=mailbox)
    assert "unique" in dup.value.field_errors["mailbox"]
    with pytest.raises(ValidationError) as short:
        await audian.vmboxes.create(name="Bad", mailbox=unique("8"), pin="12")
    assert (short.value.field, short.value.rule) == ("pin", "minLength")
    await audian.vmboxes.delete(box.id)
    with pytest.raises(NotFoundError):
        await audian.vmboxes.get(box.id)


@covers(
    "audian",
    "vmboxes.list_messages",
    "vmboxes.get_message",
    "vmboxes.move_message",
    "vmboxes.download_message",
    "vmboxes.delete_message",
)
async def test_voicemail_messages(audian: AsyncAudian, sim: Simulator) -> None:
    box = await audian.vmboxes.create(name="Support", mailbox=unique("6"))
    audio = b"ID3" + bytes(range(256)) * 512  # 128 KiB: arrives in several chunks
    left = sim.leave_voicemail(box.id, audio=audio, caller_id_number="+14155550123")
    messages = await audian.vmboxes.list_messages(box.id)
    assert [m.media_id for m in messages] == [left["media_id"]]
    message = messages[0]
    assert isinstance(message, VoicemailMessage) and message.folder == "new"
    assert message.caller_id_number == "+14155550123"

    heard = await audian.vmboxes.move_message(box.id, message.media_id, folder="saved")
    assert heard.folder == "saved"
    assert await audian.vmboxes.list_messages(box.id, folder="new") == []
    assert (await audian.vmboxes.get_message(box.id, message.media_id)).folder == "saved"

    chunks = []
    async with audian.vmboxes.download_message(box.id, message.media_id) as download:
        assert download.headers["content-type"].startswith("audio/mpeg")
        async for chunk in download.iter_bytes():
            chunks.append(chunk)
    assert b"".join(chunks) == audio

    await audian.vmboxes.delete_message(box.id, message.media_id)
    assert await audian.vmboxes.list_messages(box.id) == []
    with pytest.raises(NotFoundError):
        await audian.vmboxes.get_message(box.id, message.media_id)


@covers(
    "audian",
    "conferences.create",
    "conferences.get",
    "conferences.list",
    "conferences.update",
    "conferences.patch",
    "conferences.delete",
)
async def test_conference_lifecycle(audian: AsyncAudian) -> None:
    conference = await audian.conferences.create(
        name="Standup",
        conference_numbers=["5000"],
        member={"pins": ["1111"], "join_muted": False},
        moderator={"pins": ["9999"]},
        max_participants=25,
    )
    assert isinstance(conference, Conference)
    assert conference.member is not None and conference.member.pins == ["1111"]
    assert conference.member.join_muted is False
    found = await audian.conferences.list(filters={"name": "Standup"}).collect()
    assert conference.id in [c.id for c in found]
    conference.max_participants = 50
    assert (await audian.conferences.update(conference.id, conference)).max_participants == 50
    assert (await audian.conferences.patch(conference.id, play_name=True)).play_name is True
    assert (await audian.conferences.get(conference.id)).name == "Standup"
    with pytest.raises(ValidationError) as bad:
        await audian.conferences.create(name="x", member={"pins": ["12ab"]})
    assert (bad.value.field, bad.value.rule) == ("member.pins.0", "pattern")
    await audian.conferences.delete(conference.id)
    with pytest.raises(NotFoundError):
        await audian.conferences.get(conference.id)


@covers(
    "audian",
    "temporal_rules.create",
    "temporal_rules.get",
    "temporal_rules.list",
    "temporal_rules.update",
    "temporal_rules.patch",
    "temporal_rules.delete",
    "temporal_rule_sets.create",
    "temporal_rule_sets.get",
    "temporal_rule_sets.list",
    "temporal_rule_sets.update",
    "temporal_rule_sets.patch",
    "temporal_rule_sets.delete",
)
async def test_temporal_rules_and_sets(audian: AsyncAudian) -> None:
    rule = await audian.temporal_rules.create(
        name="Office hours",
        cycle="weekly",
        wdays=["monday", "tuesday", "wednesday", "thursday", "friday"],
        time_window_start=9 * 3600,
        time_window_stop=17 * 3600,
    )
    assert isinstance(rule, TemporalRule)
    assert (rule.interval, rule.start_date) == (1, 62586115200)  # Kazoo's defaults
    assert rule.id in [r.id async for r in audian.temporal_rules.list()]
    rule.name = "Business hours"
    assert (await audian.temporal_rules.update(rule.id, rule)).name == "Business hours"
    assert (await audian.temporal_rules.patch(rule.id, enabled=True)).enabled is True
    assert (await audian.temporal_rules.get(rule.id)).cycle == "weekly"
    with pytest.raises(ValidationError) as late:
        await audian.temporal_rules.create(name="x", cycle="daily", time_window_stop=90000)
    assert (late.value.field, late.value.rule) == ("time_window_stop", "maximum")

    rule_set = await audian.temporal_rule_sets.create(name="Open", temporal_rules=[rule.id])
    assert isinstance(rule_set, TemporalRuleSet) and rule_set.temporal_rules == [rule.id]
    assert rule_set.id in [s.id async for s in audian.temporal_rule_sets.list()]
    rule_set.name = "Open hours"
    assert (await audian.temporal_rule_sets.update(rule_set.id, rule_set)).name == "Open hours"
    patched = await audian.temporal_rule_sets.patch(rule_set.id, flags=["x"])
    assert patched.flags == ["x"]
    assert (await audian.temporal_rule_sets.get(rule_set.id)).name == "Open hours"
    with pytest.raises(BadRequestError) as missing:
        await audian.temporal_rule_sets.create(name="Ghost", temporal_rules=["0" * 32])
    assert "not_found" in missing.value.field_errors["temporal_rules.0"]
    with pytest.raises(ValidationError):
        await audian.temporal_rule_sets.create(name="Empty", temporal_rules=[])
    await audian.temporal_rule_sets.delete(rule_set.id)
    await audian.temporal_rules.delete(rule.id)
    with pytest.raises(NotFoundError):
        await audian.temporal_rules.get(rule.id)


@covers(
    "audian",
    "webhooks.create",
    "webhooks.get",
    "webhooks.list",
    "webhooks.update",
    "webhooks.patch",
    "webhooks.delete",
)
async def test_webhook_lifecycle(audian: AsyncAudian) -> None:
    hook = await audian.webhooks.create(
        name="Calls", uri="https://hooks.example.com/calls", hook="channel_create"
    )
    assert isinstance(hook, Webhook)
    assert (hook.http_verb, hook.retries, hook.enabled) == ("post", 2, True)  # Kazoo's defaults
    assert [h.id async for h in audian.webhooks.list(filters={"hook": "channel_create"})] == [
        hook.id
    ]
    hook.retries = 4
    assert (await audian.webhooks.update(hook.id, hook)).retries == 4
    assert (await audian.webhooks.patch(hook.id, enabled=False)).enabled is False
    assert (await audian.webhooks.get(hook.id)).uri == "https://hooks.example.com/calls"
    with pytest.raises(ValidationError) as retries:
        await audian.webhooks.create(name="x", uri="https://x.example", hook="object", retries=5)
    assert (retries.value.field, retries.value.rule) == ("retries", "maximum")
    with pytest.raises(BadRequestError) as uri:
        await audian.webhooks.create(name="x", uri="not a url", hook="object")
    assert "uri" in uri.value.field_errors
    await audian.webhooks.delete(hook.id)
    with pytest.raises(NotFoundError):
        await audian.webhooks.get(hook.id)
