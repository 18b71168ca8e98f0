"""User credentials, token details, logout and the account API key, over loopback HTTP."""

from __future__ import annotations

import hashlib
import itertools
import logging

import pytest

from audian_async import AsyncAudian, AuthenticationError
from audian_async.audian import AccountApiKey, TokenInfo
from audian_async.testing import RunningServer, Simulator

from .coverage_registry import covers

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


async def _user_in_new_account(audian: AsyncAudian, sim: Simulator) -> tuple[str, str, str]:
    name = f"Login Co {next(_seq)}"
    account = sim.create_account(name)
    user = await audian.for_account(account).users.create(
        first_name="Lee", last_name="Login", username=f"Lee{next(_seq)}", password=PASSWORD
    )
    assert user.username is not None
    return name, account, user.username


@covers("audian", "auth.user_auth", "tokens.info", "tokens.logout")
async def test_user_login_token_info_and_logout(
    audian: AsyncAudian,
    sim: Simulator,
    server: RunningServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account_name, account_id, username = await _user_in_new_account(audian, sim)
    caplog.set_level(logging.DEBUG, logger="audian_async")
    async with AsyncAudian(
        username=username.upper(),  # Kazoo hashes the lower-cased username
        password=PASSWORD,
        account_name=account_name,
        base_url=f"{server.base_url}/v2",
    ) as client:
        info = await client.authenticate()
        assert info.account_id == account_id
        token = await client.tokens.info()
        assert isinstance(token, TokenInfo)
        assert (token.account_id, token.method) == (account_id, "cb_user_auth")
        assert token.owner_id == info.owner_id

        before = len(sim.requests.matching(method="PUT", path_contains="/user_auth"))
        revoked = await client.tokens.logout()
        assert revoked.account_id == account_id
        # the revoked token is refused; the client logs in again and the call succeeds
        assert (await client.users.list(paginate=False).collect())[0].username == username
        assert len(sim.requests.matching(method="PUT", path_contains="/user_auth")) == before + 1
        assert PASSWORD not in repr(client)

    sent = [r for r in sim.requests.matching(path_contains="/user_auth")]
    assert sent and all(PASSWORD not in r.query for r in sent)
    assert PASSWORD not in caplog.text


async def test_the_password_is_sent_only_as_the_kazoo_hash(
    audian: AsyncAudian, sim: Simulator, server: RunningServer
) -> None:
    account_name, _, username = await _user_in_new_account(audian, sim)
    with pytest.raises(AuthenticationError) as info:
        async with AsyncAudian(
            username=username,
            password="wrong password",
            account_name=account_name,
            base_url=f"{server.base_url}/v2",
        ) as client:
            await client.authenticate()
    assert "wrong password" not in str(info.value) and "wrong password" not in repr(info.value)
    expected = hashlib.md5(f"{username}:wrong password".encode()).hexdigest()
    assert expected not in str(info.value)


@covers("audian", "accounts.get_api_key")
async def test_account_api_key(audian: AsyncAudian, sim: Simulator) -> None:
    key = await audian.accounts.get_api_key()
    assert isinstance(key, AccountApiKey) and key.api_key == sim.default_api_key
    assert sim.default_api_key not in repr(key)
    child = sim.create_account(f"Keyed Co {next(_seq)}")
    child_key = await audian.for_account(child).accounts.get_api_key()
    assert child_key.api_key is not None and sim.api_keys[child_key.api_key] == child
