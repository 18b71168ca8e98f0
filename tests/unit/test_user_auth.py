"""User-credential login: the hash Kazoo expects, and nothing secret in reprs or errors."""

from __future__ import annotations

import hashlib
import json

import pytest
import respx

from audian_async import AsyncAudian, AuthenticationError
from audian_async._auth_user import KazooUserAuth, user_credentials
from tests.helpers import auth_body, make_jwt


def test_credentials_are_kazoos_hash_of_the_lower_cased_username() -> None:
    assert user_credentials("Jane", "pw") == hashlib.md5(b"jane:pw").hexdigest()
    assert user_credentials("Jane", "pw", "sha") == hashlib.sha1(b"jane:pw").hexdigest()


def test_an_account_must_be_named() -> None:
    with pytest.raises(ValueError):
        KazooUserAuth("jane", "pw")
    auth = KazooUserAuth("jane", "s3cret-pw", account_name="Acme")
    assert "s3cret-pw" not in repr(auth)
    assert auth.secrets()[0] == "s3cret-pw"


async def test_login_sends_the_hash_and_the_account(mock: respx.MockRouter) -> None:
    route = mock.put("/user_auth").respond(201, json=auth_body(make_jwt()))
    async with AsyncAudian(username="jane", password="s3cret-pw", account_name="Acme") as client:
        await client.authenticate()
    sent = json.loads(route.calls.last.request.content)["data"]
    assert sent == {
        "credentials": hashlib.md5(b"jane:s3cret-pw").hexdigest(),
        "method": "md5",
        "account_name": "Acme",
    }
    assert b"s3cret-pw" not in route.calls.last.request.content


async def test_refused_credentials_leak_nothing(mock: respx.MockRouter) -> None:
    digest = hashlib.md5(b"jane:s3cret-pw").hexdigest()
    body = {
        "status": "error",
        "error": "401",
        "message": "invalid credentials",
        "data": {"credentials": digest},
    }
    mock.put("/user_auth").respond(401, json=body)
    async with AsyncAudian(username="jane", password="s3cret-pw", account_name="Acme") as client:
        with pytest.raises(AuthenticationError) as info:
            await client.authenticate()
    assert digest not in str(info.value) and digest not in repr(info.value.body)
