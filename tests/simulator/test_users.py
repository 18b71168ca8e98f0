"""Users: CRUD, write semantics, validation, secrets."""

from __future__ import annotations

from typing import Any

from audian_async.testing import Simulator, SimulatorConfig, create_app

from .conftest import USER, Session, asgi_client, login


async def test_create_get_list_agree(sim: Simulator, session: Session) -> None:
    created = await session.put("/users", {**USER, "username": "Ada.L", "custom_key": {"x": 1}})
    assert created.status_code == 201
    body = created.json()
    user = body["data"]
    assert len(user["id"]) == 32 and body["revision"].startswith("1-")
    assert user["username"] == "ada.l"  # lower-cased
    assert user["custom_key"] == {"x": 1}  # unknown keys kept
    assert user["enabled"] is True and user["priv_level"] == "user"
    fetched = await session.get(f"/users/{user['id']}")
    assert fetched.json()["data"] == user
    listed = (await session.get("/users")).json()
    assert listed["revision"] == "automatic" and listed["page_size"] == 1
    assert "start_key" not in listed and "next_start_key" not in listed
    row = listed["data"][0]
    assert (
        row["id"] == user["id"]
        and row["email"] == "ada@example.com"
        and row["features"] == ["vm_to_email"]
    )
    assert "custom_key" not in row
    assert sim.state.user_count(session.account_id) == 1


async def test_password_is_stored_but_never_returned(sim: Simulator, session: Session) -> None:
    created = await session.put("/users", {**USER, "password": "hunter2hunter2"})
    user_id = created.json()["data"]["id"]
    assert "password" not in created.json()["data"]
    assert "hunter2" not in (await session.get(f"/users/{user_id}")).text
    assert "hunter2" not in (await session.get("/users")).text
    assert sim.state.secrets("user", user_id) == {"password": "hunter2hunter2"}
    # a POST without a password keeps the stored one
    await session.post(f"/users/{user_id}", {**USER})
    assert sim.state.secrets("user", user_id) == {"password": "hunter2hunter2"}
    # filters never see secrets
    probe = await session.get("/users", params={"filter_password": "hunter2hunter2"})
    assert probe.json()["data"] == []


async def test_post_replaces_and_patch_merges(session: Session) -> None:
    user = (
        await session.put(
            "/users",
            {**USER, "caller_id": {"internal": {"name": "A", "number": "1"}}, "title": "x"},
        )
    ).json()["data"]
    replaced = await session.post(
        f"/users/{user['id']}", {"first_name": "Ada", "last_name": "King"}
    )
    data = replaced.json()["data"]
    assert replaced.status_code == 200 and replaced.json()["revision"].startswith("2-")
    assert (
        data["last_name"] == "King"
        and "email" not in data
        and "title" not in data
        and "caller_id" not in data
    )
    patched = await session.patch(
        f"/users/{user['id']}",
        {
            "email": "new@example.com",
            "caller_id": {"internal": {"name": "B"}},
            "last_name": "K",
            "flags": ["a"],
        },
    )
    data = patched.json()["data"]
    assert (
        data["email"] == "new@example.com"
        and data["first_name"] == "Ada"
        and data["last_name"] == "K"
    )
    assert data["caller_id"] == {"internal": {"name": "B"}}
    patched = await session.patch(
        f"/users/{user['id']}", {"caller_id": {"internal": {"number": "2"}}, "flags": None}
    )
    data = patched.json()["data"]
    assert data["caller_id"] == {"internal": {"name": "B", "number": "2"}}
    assert "flags" not in data


async def test_delete_returns_flagged_doc_then_404(sim: Simulator, session: Session) -> None:
    user = (await session.put("/users", USER)).json()["data"]
    deleted = await session.delete(f"/users/{user['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["data"]["_read_only"] == {"deleted": True}
    assert deleted.json()["data"]["id"] == user["id"]
    gone = await session.get(f"/users/{user['id']}")
    assert gone.status_code == 404 and gone.json()["message"] == "bad_identifier"
    assert sim.state.user_count() == 0


async def test_delete_204_switch() -> None:
    sim = create_app(SimulatorConfig(delete_returns_204=True))
    async with asgi_client(sim) as client:
        s = await login(client, sim.default_api_key)
        user = (await s.put("/users", USER)).json()["data"]
        deleted = await s.delete(f"/users/{user['id']}")
        assert deleted.status_code == 204 and deleted.content == b""


def _errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "validation error"
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_user_validation_messages(session: Session) -> None:
    errors = _errors(
        await session.put(
            "/users", {"username": "bad name!", "email": "nope", "priv_level": "root"}
        )
    )
    assert errors["first_name"] == {"required": {"message": "Field is required but missing"}}
    assert errors["last_name"]["required"]["message"] == "Field is required but missing"
    assert errors["username"]["pattern"]["message"] == "Failed to match pattern '^([+@.\\w_-]+)$'"
    assert errors["email"]["format"]["message"] == "Field is not in the correct format"
    assert errors["priv_level"]["enum"] == {
        "message": "Value not found in enumerated list of values",
        "target": ["user", "admin"],
        "value": "root",
    }
    errors = _errors(await session.put("/users", {"first_name": "", "last_name": "x" * 129}))
    assert errors["first_name"]["minLength"]["message"] == "String must be at least 1 characters"
    assert (
        errors["last_name"]["maxLength"]["message"] == "String must not be more than 128 characters"
    )
    errors = _errors(await session.put("/users", {**USER, "enabled": "yes", "password": 12345}))
    assert errors["enabled"]["type"]["message"] == "Value did not match type(s): boolean"
    assert "value" not in errors["password"]["type"]  # secrets are never echoed


async def test_username_unique_within_account(sim: Simulator, session: Session) -> None:
    await session.put("/users", USER)
    errors = _errors(await session.put("/users", {**USER, "username": "ADA"}))
    assert errors == {
        "username": {
            "unique": {"message": "Username must be unique within account", "cause": "ada"}
        }
    }
    other = sim.create_account("Other")
    response = await session.client.put(
        f"/accounts/{other}/users", json={"data": USER}, headers=session.headers
    )
    assert response.status_code == 201  # uniqueness is per account


async def test_id_and_private_fields_in_body_are_ignored(session: Session) -> None:
    created = await session.put(
        "/users", {**USER, "id": "f" * 32, "_rev": "9-x", "pvt_type": "hack"}
    )
    data = created.json()["data"]
    assert data["id"] != "f" * 32 and "_rev" not in data and "pvt_type" not in data
