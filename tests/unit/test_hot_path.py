"""The lean request path keeps the slow path's semantics: model reading and path segments."""

from __future__ import annotations

import httpx
import pytest
import respx

from audian_async import AsyncAudian, UnexpectedValueWarning, ValidationError
from audian_async._generated.audian.models.user import User
from audian_async._generated.audian.models.user_priv_level import UserPrivLevel
from audian_async._types import Timeout
from tests.helpers import ACCOUNT, API_KEY, auth_body, make_jwt


def test_model_reading_converts_only_what_the_type_asks_for() -> None:
    with pytest.warns(UnexpectedValueWarning) as warned:
        user = User.from_dict(
            {"id": 7, "enabled": 1, "priv_level": "admin", "flags": ["a"], "surprise": {"x": 1}}
        )
    # Values of another type are kept as sent (never str(7) or bool(1)), and flagged.
    assert user.id == 7
    assert user.enabled == 1 and user.enabled is not True
    assert sorted(w.message.field for w in warned) == ["enabled", "id"]  # type: ignore[union-attr]
    assert user.priv_level is UserPrivLevel.ADMIN
    assert user.flags == ["a"]
    assert user.extra == {"surprise": {"x": 1}}
    assert User.from_dict({"id": "u1", "timezone": None}).timezone is None


def test_model_reading_keeps_unknown_enum_values_and_fails_without_required_fields() -> None:
    assert User.from_dict({"id": "u1", "priv_level": "superuser"}).priv_level == "superuser"
    with pytest.raises(TypeError, match="id"):
        User.from_dict({"username": "ada"})


def test_list_of_primitives_is_copied_and_mixed_items_kept_as_sent() -> None:
    data = {"id": "u1", "flags": ["a", "b"], "features": []}
    user = User.from_dict(data)
    assert user.flags == ["a", "b"] and user.features == []
    assert user.flags is not data["flags"]  # the model never shares the caller's list
    user.flags.append("c")
    assert data["flags"] == ["a", "b"]
    with pytest.warns(UnexpectedValueWarning, match="flags"):
        assert User.from_dict({"id": "u1", "flags": ["a", 2]}).flags == ["a", 2]  # kept as sent
    assert User.from_dict({"id": "u1", "flags": None}).flags is None


def test_enum_field_maps_listed_values_keeps_others_and_none() -> None:
    assert User.from_dict({"id": "u1", "priv_level": "user"}).priv_level is UserPrivLevel.USER
    assert User.from_dict({"id": "u1", "priv_level": None}).priv_level is None
    assert User.from_dict({"id": "u1", "priv_level": "root"}).priv_level == "root"


def test_timeout_longest_phase() -> None:
    assert Timeout(1, 2, 3, 4).longest == 4
    assert Timeout(1, None, 3, 4).longest == float("inf")
    assert Timeout(1, 2, 3, 4) == Timeout(1, 2, 3, 4)


@pytest.mark.parametrize(
    ("value", "rule"), [("", "minLength"), ("..", "pattern"), (None, "required")]
)
async def test_bad_path_segment_is_a_validation_error_naming_the_parameter(
    audian: AsyncAudian, mock: respx.MockRouter, value: object, rule: str
) -> None:
    route = mock.route(path__regex=r".*/users/.*")
    with pytest.raises(ValidationError) as caught:
        await audian.users.get(value)  # type: ignore[arg-type]
    assert caught.value.field == "user_id"
    assert caught.value.rule == rule
    assert not route.called


async def test_ids_and_escaped_segments_build_the_same_urls(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    seen: list[str] = []

    def answer(request: object) -> respx.MockResponse:
        seen.append(str(request.url.raw_path, "ascii"))  # type: ignore[attr-defined]
        return respx.MockResponse(200, json={"data": {"id": "x"}})

    mock.route(path__regex=r".*/users/.*").mock(side_effect=answer)
    await audian.users.get("abc123")
    await audian.users.get("a b/c+d")
    await audian.users.get("a-b_c.d~e")
    assert [p.rsplit("/", 1)[1] for p in seen] == ["abc123", "a%20b%2Fc%2Bd", "a-b_c.d~e"]


async def test_remembered_routes_follow_the_account_and_still_check_segments(
    mock: respx.MockRouter,
) -> None:
    """URLs are built from a remembered prefix per operation: it must follow a view's account
    (``for_account``) and the credentials' account when a new login names another one, and
    the parameters after it are still encoded and checked."""
    other, third = "b" * 32, "c" * 32
    mock.put("/api_auth").mock(
        side_effect=[
            httpx.Response(201, json=auth_body(make_jwt(), ACCOUNT)),
            httpx.Response(201, json=auth_body(make_jwt(), other)),
        ]
    )
    seen: list[str] = []
    statuses = iter([200, 200, 401, 200, 200, 200, 200, 200])

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.raw_path, "ascii"))
        return httpx.Response(next(statuses), json={"data": {"id": "x"}})

    mock.route(path__regex=r".*/users/.*").mock(side_effect=answer)
    async with AsyncAudian(api_key=API_KEY) as audian:
        await audian.users.get("u1")
        await audian.users.get("a b")
        await audian.users.get("u2")  # 401: a new login names another account; replayed
        await audian.users.get("u3")
        await audian.for_account(third).users.get("u4")
        await audian.users.get("u5")
        for bad in ("", "..", None):
            with pytest.raises(ValidationError) as caught:
                await audian.users.get(bad)  # type: ignore[arg-type]
            assert caught.value.field == "user_id"
    assert seen == [
        f"/v2/accounts/{ACCOUNT}/users/u1",
        f"/v2/accounts/{ACCOUNT}/users/a%20b",
        f"/v2/accounts/{ACCOUNT}/users/u2",
        f"/v2/accounts/{ACCOUNT}/users/u2",  # the replay: the same request, new token
        f"/v2/accounts/{other}/users/u3",
        f"/v2/accounts/{third}/users/u4",
        f"/v2/accounts/{other}/users/u5",
    ]
