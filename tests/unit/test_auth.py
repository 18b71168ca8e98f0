"""Authentication: lazy exchange, single-flight refresh, proactive expiry, wrong keys."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

from audian_async import AsyncAudian, AuthenticationError
from audian_async._auth import KazooApiKeyAuth
from audian_async._authenticator import Authenticator
from audian_async._credentials import Credentials
from tests.helpers import ACCOUNT, API_KEY, auth_body, envelope, make_jwt, shift_clock
from tests.virtual import jwt as kazoo_jwt

USERS = f"/accounts/{ACCOUNT}/users"


async def test_authenticates_lazily_on_first_call(
    mock: respx.MockRouter, auth_route: respx.Route
) -> None:
    users = mock.get(USERS).respond(200, json=envelope([]))
    async with AsyncAudian(api_key=API_KEY) as audian:
        assert auth_route.call_count == 0
        assert [u async for u in audian.users.list()] == []
    assert auth_route.call_count == 1
    sent = auth_route.calls[0].request
    assert sent.method == "PUT"
    assert sent.read() == b'{"data":{"api_key":"' + API_KEY.encode() + b'"}}'
    assert "x-auth-token" not in sent.headers
    token = auth_route.calls[0].response.json()["auth_token"]
    assert users.calls[0].request.headers["x-auth-token"] == token


async def test_authenticate_exposes_account_and_owner(audian: AsyncAudian) -> None:
    info = await audian.authenticate()
    assert info.account_id == ACCOUNT
    assert info.owner_id == "o" * 32
    assert audian.account_id == ACCOUNT


async def test_fifty_concurrent_calls_with_expired_token_cause_one_exchange(
    mock: respx.MockRouter,
) -> None:
    # First token: issued an hour ago, already expired by our clock's reading of iat/exp.
    tokens = iter([make_jwt(3600), make_jwt(3600)])
    auth = mock.put("/api_auth").mock(
        side_effect=lambda req: httpx.Response(201, json=auth_body(next(tokens)))
    )
    mock.get(USERS + "/u1").respond(200, json=envelope({"id": "u1"}))
    async with AsyncAudian(api_key=API_KEY) as audian:
        await audian.users.get("u1")
        assert auth.call_count == 1
        # Make the current credentials stale, as if their refresh time had passed.
        cred = audian._core.shared.authenticator.current  # type: ignore[union-attr]
        assert cred is not None
        cred.refresh_at = time.monotonic() - 1

        async def one() -> None:
            await audian.users.get("u1")

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
    assert auth.call_count == 2


async def test_401_with_a_token_that_worked_refreshes_once_and_replays(
    mock: respx.MockRouter,
) -> None:
    first, second = make_jwt(3600, jti="1"), make_jwt(3600, jti="2")
    tokens = iter([first, second])
    auth = mock.put("/api_auth").mock(
        side_effect=lambda req: httpx.Response(201, json=auth_body(next(tokens)))
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["x-auth-token"] == first and answer.calls > 0:  # type: ignore[attr-defined]
            return httpx.Response(
                401,
                json={
                    "status": "error",
                    "error": "401",
                    "message": "invalid credentials",
                    "data": {},
                },
            )
        answer.calls += 1  # type: ignore[attr-defined]
        return httpx.Response(200, json=envelope({"id": "u1"}))

    answer.calls = 0  # type: ignore[attr-defined]
    route = mock.get(USERS + "/u1").mock(side_effect=answer)
    async with AsyncAudian(api_key=API_KEY) as audian:
        await audian.users.get("u1")  # proves the first token

        async def one() -> None:
            user = await audian.users.get("u1")
            assert user.id == "u1"

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
    assert auth.call_count == 2
    assert route.calls[-1].request.headers["x-auth-token"] == second


async def test_401_refreshes_once_and_replays_even_a_token_that_never_succeeded(
    mock: respx.MockRouter, auth_route: respx.Route
) -> None:
    # A fresh token can expire before its first answer arrives: a 401 retires it whether or
    # not it ever worked; a second 401 with the new token is the server's final word.
    route = mock.get(USERS + "/u1").respond(
        401,
        json={
            "status": "error",
            "error": "401",
            "message": "invalid_credentials",
            "data": {"message": "invalid credentials"},
        },
    )
    async with AsyncAudian(api_key=API_KEY) as audian:
        with pytest.raises(AuthenticationError) as info:
            await audian.users.get("u1")
    assert info.value.status_code == 401
    assert route.call_count == 2
    assert auth_route.call_count == 2


async def _get_through_slow_trips(
    mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    mint: Callable[[float, int], str],
    trips: list[float],
) -> tuple[list[str], respx.Route, respx.Route]:
    """``users.get`` on a frozen clock against a server whose answers take ``trips`` seconds
    each (the clock moves on by that much before the token is checked); ``mint(wall, n)``
    issues the n-th token, the first one late (0.9) in a wall-clock second. Returns the tokens
    issued and the login and user routes."""
    from audian_async._auth import jwt_claims
    from audian_async._clock import SYSTEM_CLOCK

    offset = shift_clock(monkeypatch, frozen=True)
    offset[0] += (0.9 - SYSTEM_CLOCK.wall() % 1.0) % 1.0
    wall = SYSTEM_CLOCK.wall

    issued: list[str] = []

    def login(request: httpx.Request) -> httpx.Response:
        issued.append(mint(wall(), len(issued)))
        return httpx.Response(201, json=auth_body(issued[-1]))

    durations = iter(trips)

    def get(request: httpx.Request) -> httpx.Response:
        offset[0] += next(durations)
        claims = jwt_claims(request.headers["x-auth-token"]) or {}
        if wall() >= claims["exp"]:
            return httpx.Response(401, json={"status": "error", "error": "401", "data": {}})
        return httpx.Response(200, json=envelope({"id": "u1"}))

    auth = mock.put("/api_auth").mock(side_effect=login)
    route = mock.get(USERS + "/u1").mock(side_effect=get)
    async with AsyncAudian(api_key=API_KEY) as audian:
        user = await audian.users.get("u1")
    assert user.id == "u1"
    return issued, auth, route


async def test_a_token_that_expires_on_the_way_is_replaced_and_replayed_again(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under load a request can take longer than its fresh 1-second token has left, the replay's
    # token included: a 401 answering a token that had expired by then is explained by expiry
    # and replayed with the next one, not raised after the first replay.
    issued, auth, route = await _get_through_slow_trips(
        mock,
        monkeypatch,
        lambda wall, n: kazoo_jwt(math.floor(wall) + 1, jti=n),  # Kazoo's: no `iat`
        [1.5, 1.5, 1.5, 0.0],  # three trips outlast their token, the fourth does not
    )
    assert auth.call_count == 4
    assert [call.request.headers["x-auth-token"] for call in route.calls] == issued


async def test_a_token_with_whole_second_iat_that_expires_on_the_way_is_replayed_again(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `iat` in whole seconds hides up to a second of the token's age, and the exchange's own
    # trip hides more: a 2-second token can be dead a second before `received + (exp - iat)`.
    # A 401 after the earliest moment the token could have expired is explained by expiry.
    issued, auth, route = await _get_through_slow_trips(
        mock,
        monkeypatch,
        lambda wall, n: make_jwt(2, iat=math.floor(wall), jti=str(n)),
        [1.95, 1.95, 0.0],  # two trips outlast their token, the third does not
    )
    assert auth.call_count == 3
    assert [call.request.headers["x-auth-token"] for call in route.calls] == issued


@pytest.mark.parametrize("status", [404, 401, 400])
async def test_wrong_api_key_fails_at_once_without_retry(
    mock: respx.MockRouter, status: int, sleeps: list[float]
) -> None:
    body = {"status": "error", "error": str(status), "message": "bad_identifier", "data": [API_KEY]}
    auth = mock.put("/api_auth").respond(status, json=body)
    async with AsyncAudian(api_key=API_KEY, max_retries=5) as audian:
        with pytest.raises(AuthenticationError) as info:
            await audian.authenticate()
    assert auth.call_count == 1
    assert sleeps == []
    assert info.value.status_code == status
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value.body)


async def test_transient_failure_of_the_exchange_is_retried(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    auth = mock.put("/api_auth").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(503),
            httpx.Response(201, json=auth_body(make_jwt())),
        ]
    )
    async with AsyncAudian(api_key=API_KEY) as audian:
        info = await audian.authenticate()
    assert info.account_id == ACCOUNT
    assert auth.call_count == 3
    assert len(sleeps) == 2


class _FixedClock:
    def __init__(self, mono: float, wall: float) -> None:
        self.mono, self.wall_time = mono, wall

    def now(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.wall_time

    async def sleep(self, seconds: float) -> None:
        self.mono += seconds


def _refresh_at(token: str, margin: float, clock: _FixedClock) -> float | None:
    holder = Authenticator(KazooApiKeyAuth(API_KEY), clock)
    cred = Credentials(
        (("X-Auth-Token", token),), refreshable=True, jwt=token, refresh_margin=margin
    )
    holder._schedule(cred, None)
    return cred.refresh_at


def test_refresh_margin_never_exceeds_the_token_lifetime() -> None:
    clock = _FixedClock(50.0, 1_000_000.0)
    short = make_jwt(2, iat=clock.wall_time)
    assert _refresh_at(short, 60.0, clock) == pytest.approx(50.0 + 1.0)  # half of 2 s, not 60 s
    long = make_jwt(3600, iat=clock.wall_time)
    assert _refresh_at(long, 60.0, clock) == pytest.approx(50.0 + 3540)
    assert _refresh_at("not-a-jwt", 60.0, clock) is None


async def test_short_lived_tokens_do_not_cause_an_exchange_loop(mock: respx.MockRouter) -> None:
    auth = mock.put("/api_auth").mock(
        side_effect=lambda req: httpx.Response(201, json=auth_body(make_jwt(2)))
    )
    mock.get(USERS + "/u1").respond(200, json=envelope({"id": "u1"}))
    async with AsyncAudian(api_key=API_KEY, refresh_margin=600) as audian:
        for _ in range(20):
            await audian.users.get("u1")
    assert auth.call_count == 1


async def test_static_token_is_sent_and_never_exchanged(mock: respx.MockRouter) -> None:
    auth = mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))
    route = mock.get("/accounts/b0/users/u1").respond(200, json=envelope({"id": "u1"}))
    async with AsyncAudian(auth_token="opaque-token", account_id="b0") as audian:
        await audian.users.get("u1")
    assert auth.call_count == 0
    assert route.calls[0].request.headers["x-auth-token"] == "opaque-token"


def test_missing_credentials_name_the_argument_and_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIAN_API_KEY", raising=False)
    with pytest.raises(Exception, match="AUDIAN_API_KEY"):
        AsyncAudian()


async def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch, mock: respx.MockRouter) -> None:
    monkeypatch.setenv("AUDIAN_API_KEY", API_KEY)
    monkeypatch.setenv("AUDIAN_BASE_URL", "https://pbx.example.net/v2")
    with respx.mock(base_url="https://pbx.example.net/v2") as other:
        auth = other.put("/api_auth").respond(201, json=auth_body(make_jwt()))
        async with AsyncAudian() as audian:
            await audian.authenticate()
        assert auth.call_count == 1


async def test_concurrent_calls_with_a_wrong_key_cost_one_exchange(mock: respx.MockRouter) -> None:
    body = {
        "status": "error",
        "error": "404",
        "message": "bad_identifier",
        "data": {"message": "bad identifier"},
    }
    auth = mock.put("/api_auth").respond(404, json=body)
    failures: list[BaseException] = []
    async with AsyncAudian(api_key=API_KEY) as audian:

        async def one() -> None:
            try:
                await audian.users.get("u1")
            except AuthenticationError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
        assert auth.call_count == 1
        assert len(failures) == 20
        # a later call tries again (the key may have been fixed on the server)
        with pytest.raises(AuthenticationError):
            await audian.authenticate()
    assert auth.call_count == 2
