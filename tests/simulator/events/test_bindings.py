"""The binding grammar's pure parts: topic matching, key encoding, database names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audian_async.testing._events._bindings import (
    account_db,
    encode_segment,
    matches,
    modb,
    resolve,
    validate,
)

ACCOUNT = "4b31dd1d32ce6d249897c06332375d65"


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("call.A.CHANNEL_CREATE.*", "call.A.CHANNEL_CREATE.c1", True),
        ("call.A.CHANNEL_CREATE.*", "call.A.CHANNEL_ANSWER.c1", False),
        ("call.*.CHANNEL_CREATE.*", "call.B.CHANNEL_CREATE.c1", True),
        ("call.A.CHANNEL_CREATE.*", "call.A.CHANNEL_CREATE.c1.extra", False),
        ("call.A.*", "call.A", False),
        ("call.#", "call", True),
        ("call.#", "call.A.B.C", True),
        ("#.c1", "call.A.CHANNEL_CREATE.c1", True),
        ("call.#.c2", "call.A.CHANNEL_CREATE.c1", False),
        ("doc_created.db%2Fx.user.*", "doc_created.db%2Fx.user.u1", True),
        ("doc_created.db%2Fx.user.*", "doc_createdXdb%2Fx.user.u1", False),  # dots are literal
    ],
)
def test_topic_matching(pattern: str, key: str, expected: bool) -> None:
    assert matches(pattern, key) is expected


def test_routing_key_segments_are_encoded_like_kazoo() -> None:
    assert encode_segment("abc-DEF_1~") == "abc-DEF_1~"
    assert encode_segment("a.b@c d") == "a%2Eb%40c+d"
    assert encode_segment("*") == "*" and encode_segment("") == ""
    assert encode_segment("é") == "%C3%A9"


def test_database_names() -> None:
    assert account_db(ACCOUNT) == "account%2F4b%2F31%2Fdd1d32ce6d249897c06332375d65"
    march = datetime(2026, 3, 15, tzinfo=UTC).timestamp()
    assert modb(ACCOUNT, march) == f"{account_db(ACCOUNT)}-202603"
    assert account_db("*") == "*" and modb("*", march) == "*"


def test_subscription_keys_per_module() -> None:
    now = datetime(2026, 3, 15, tzinfo=UTC).timestamp()
    db, monthly = account_db(ACCOUNT), modb(ACCOUNT, now)
    fax = resolve("fax.object.doc_created", ACCOUNT, now)
    assert fax is not None and fax.subscribed == (f"doc_created.{monthly}.fax.*",)
    messages = resolve("object.doc_deleted.mailbox_message", ACCOUNT, now)
    assert messages is not None
    assert messages.subscribed == (f"doc_deleted.{monthly}.mailbox_message.*",)
    anything = resolve("object.*.*", ACCOUNT, now)
    assert anything is not None and anything.subscribed == (f"*.{db}.*.*", f"*.{monthly}.*.*")
    conference = resolve("conference.event.conf1.call1", ACCOUNT, now)
    assert conference is not None
    assert conference.subscribed == (f"conference.event.*.{ACCOUNT}.conf1.call1",)
    assert resolve("presence.update.x", ACCOUNT, now) is None
    assert validate("presence.update.x") is None  # no module validates it: refused later
