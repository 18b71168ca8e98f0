"""Astradial client: configuration, both auth modes, error shapes, validation, secrets."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
import httpx
import pytest
import respx

from audian_async import (
    AsyncAstradial,
    AudianError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    UnexpectedValueWarning,
    UnprocessableEntityError,
    ValidationError,
)
from audian_async._clock import SystemClock
from audian_async.astradial import QueueStrategy, SipCredentials, User, UserRole
from tests.helpers import ASTRADIAL_BASE as BASE
from tests.helpers import ASTRADIAL_KEY as KEY
from tests.helpers import ASTRADIAL_ROOT as ROOT
from tests.helpers import make_jwt, shift_clock

EMAIL = "owner@example.com"
PASSWORD = "s3cret-Passw0rd!"
USER = {
    "id": "20f84360-3b20-437c-8651-87cd7d36e859",
    "org_id": "org-1",
    "username": "org_example_1099",
    "extension": "1099",
    "full_name": "Alice Agent",
    "email": "alice@example.com",
    "role": "agent",
    "status": "active",
    "call_recording": True,
    "ring_target": "sip",
    "phone_number": None,
    "outbound_did": None,
    "created_at": "2026-03-01T00:00:00Z",
}


def echo(status: int) -> Any:
    """A respx side effect answering USER with the request's fields applied (a server that
    stores what it is sent)."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={**USER, **json.loads(request.content)})

    return answer


def jwt(lifetime: float = 86400, **claims: Any) -> str:
    return make_jwt(lifetime, orgId="org-1", userId="u-1", role="owner", **claims)


def login_body(token: str) -> dict[str, Any]:
    return {"token": token, "user": {"id": "u-1", "email": EMAIL, "role": "owner"}}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ASTRADIAL_API_KEY",
        "ASTRADIAL_BASE_URL",
        "ASTRADIAL_EMAIL",
        "ASTRADIAL_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [ROOT, ROOT + "/", ROOT + "/api/v1", ROOT + "/api/v1/", "  " + ROOT + "  "],
)
def test_base_url_gets_api_v1_once(given: str) -> None:
    assert AsyncAstradial(base_url=given, api_key=KEY).base_url == BASE


def test_self_hosted_base_url_with_a_path_prefix() -> None:
    client = AsyncAstradial(base_url="http://10.0.0.5:3000/pbx", api_key=KEY)
    assert client.base_url == "http://10.0.0.5:3000/pbx/api/v1"


def test_missing_base_url_names_the_argument_and_variable() -> None:
    with pytest.raises(AudianError) as info:
        AsyncAstradial(api_key=KEY)
    assert "base_url=" in str(info.value)
    assert "ASTRADIAL_BASE_URL" in str(info.value)


def test_base_url_needs_a_scheme() -> None:
    with pytest.raises(AudianError, match="http"):
        AsyncAstradial(base_url="pbx.example.com:8000", api_key=KEY)


def test_missing_credentials_name_every_argument_and_variable() -> None:
    with pytest.raises(AudianError) as info:
        AsyncAstradial(base_url=ROOT)
    text = str(info.value)
    for name in (
        "api_key=",
        "email=",
        "password=",
        "ASTRADIAL_API_KEY",
        "ASTRADIAL_EMAIL",
        "ASTRADIAL_PASSWORD",
    ):
        assert name in text


def test_email_without_password_says_what_is_missing() -> None:
    with pytest.raises(AudianError, match="password= \\(or ASTRADIAL_PASSWORD\\) is missing"):
        AsyncAstradial(base_url=ROOT, email=EMAIL)


def test_key_and_password_together_are_refused() -> None:
    with pytest.raises(TypeError):
        AsyncAstradial(base_url=ROOT, api_key=KEY, email=EMAIL, password=PASSWORD)


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTRADIAL_BASE_URL", ROOT)
    monkeypatch.setenv("ASTRADIAL_EMAIL", EMAIL)
    monkeypatch.setenv("ASTRADIAL_PASSWORD", PASSWORD)
    client = AsyncAstradial()
    assert client.base_url == BASE
    assert client.auth_mode == "password"
    monkeypatch.setenv("ASTRADIAL_API_KEY", KEY)
    assert AsyncAstradial().auth_mode == "api_key"  # the key wins over email + password
    # An explicit email/password wins over an environment key; the password may come from env.
    assert AsyncAstradial(email="other@example.com").auth_mode == "password"


def test_repr_shows_no_secret() -> None:
    for client in (
        AsyncAstradial(base_url=ROOT, api_key=KEY),
        AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD),
    ):
        text = repr(client) + repr(client._core.shared.authenticator.strategy)  # type: ignore[union-attr]
        assert KEY not in text
        assert PASSWORD not in text


# -- API key mode -------------------------------------------------------------------------------


async def test_api_key_is_sent_as_x_api_key(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    route = api.get("/users").respond(200, json=[USER])
    users = await astra.users.list().collect()
    assert [u.id for u in users] == [USER["id"]]
    sent = route.calls[0].request
    assert sent.headers["x-api-key"] == KEY
    assert "authorization" not in sent.headers
    assert str(sent.url) == BASE + "/users"


async def test_rejected_api_key_is_an_authentication_error(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    route = api.get("/users").respond(
        401, json={"error": "Invalid authentication or organization not active"}
    )
    with pytest.raises(AuthenticationError) as info:
        await astra.users.list().collect()
    assert info.value.server_message == "Invalid authentication or organization not active"
    assert route.call_count == 1
    assert KEY not in str(info.value)


# -- email + password mode ------------------------------------------------------------------------


async def test_password_login_once_then_bearer(api: respx.MockRouter) -> None:
    token = jwt()
    login = api.post("/auth/user-login").respond(200, json=login_body(token))
    users = api.get("/users").respond(200, json=[USER])
    async with AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD) as astra:
        assert login.call_count == 0  # lazy
        await astra.users.list().collect()
        await astra.users.list().collect()
        info = await astra.authenticate()
    assert login.call_count == 1
    assert json.loads(login.calls[0].request.content) == {"email": EMAIL, "password": PASSWORD}
    assert "x-api-key" not in login.calls[0].request.headers
    assert "authorization" not in login.calls[0].request.headers
    assert users.calls[0].request.headers["authorization"] == f"Bearer {token}"
    assert info.account_id == "org-1"
    assert info.owner_id == "u-1"


async def test_org_id_is_sent_with_the_login(api: respx.MockRouter) -> None:
    login = api.post("/auth/user-login").respond(200, json=login_body(jwt()))
    api.get("/users").respond(200, json=[])
    async with AsyncAstradial(
        base_url=ROOT, email=EMAIL, password=PASSWORD, org_id="org-2"
    ) as astra:
        await astra.users.list().collect()
    assert json.loads(login.calls[0].request.content)["org_id"] == "org-2"


async def test_fifty_concurrent_calls_cause_one_login(api: respx.MockRouter) -> None:
    release = anyio.Event()

    async def slow_login(request: httpx.Request) -> httpx.Response:
        await release.wait()  # bcrypt takes a while: everybody arrives during the login
        return httpx.Response(200, json=login_body(jwt()))

    login = api.post("/auth/user-login").mock(side_effect=slow_login)
    api.get("/queues").respond(200, json=[])
    async with AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD) as astra:

        async def one() -> None:
            assert await astra.queues.list().collect() == []

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert login.call_count == 1
        cred = astra._core.shared.authenticator.current  # type: ignore[union-attr]
        assert cred is not None
        cred.refresh_at = time.monotonic() - 1
        # Expiry is near, the token still valid: the wave keeps using it while one login
        # runs in the background.
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
        holder = astra._core.shared.authenticator
        if holder._exchange is not None:
            await holder._exchange.done.wait()
        assert holder.current is not cred
    assert login.call_count == 2


async def test_proactive_refresh_is_scheduled_before_exp(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    shift_clock(monkeypatch, frozen=True)  # the schedule is read against a clock at rest
    api.post("/auth/user-login").respond(200, json=login_body(jwt(86400)))
    async with AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD) as astra:
        await astra.authenticate()
        cred = astra._core.shared.authenticator.current  # type: ignore[union-attr]
        assert cred is not None and cred.refresh_at is not None
        assert cred.refresh_at - SystemClock.now() == pytest.approx(86400 - 300, abs=1e-6)


async def test_401_after_success_logs_in_again_once_and_replays(api: respx.MockRouter) -> None:
    first, second = jwt(jti="1"), jwt(jti="2")
    login = api.post("/auth/user-login").mock(
        side_effect=[
            httpx.Response(200, json=login_body(first)),
            httpx.Response(200, json=login_body(second)),
        ]
    )
    state = {"revoked": False}

    def answer(request: httpx.Request) -> httpx.Response:
        if state["revoked"] and request.headers["authorization"] == f"Bearer {first}":
            return httpx.Response(401, json={"error": "Authentication failed"})
        return httpx.Response(200, json=[USER])

    route = api.get("/users").mock(side_effect=answer)
    async with AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD) as astra:
        await astra.users.list().collect()  # proves the first token
        state["revoked"] = True  # e.g. the server restarted with a new secret

        async def one() -> None:
            assert len(await astra.users.list().collect()) == 1

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
    assert login.call_count == 2
    assert route.calls[-1].request.headers["authorization"] == f"Bearer {second}"


async def test_401_with_a_fresh_token_logs_in_again_once_then_raises(
    api: respx.MockRouter,
) -> None:
    login = api.post("/auth/user-login").respond(200, json=login_body(jwt()))
    users = api.get("/users").respond(401, json={"error": "Authentication failed"})
    async with AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD) as astra:
        with pytest.raises(AuthenticationError, match="Authentication failed"):
            await astra.users.list().collect()
    assert login.call_count == 2
    assert users.call_count == 2


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"error": "email and password required"}, "email and password required"),
        (401, {"error": "Invalid password."}, "Invalid password."),
        (404, {"error": "No account found with this email."}, "No account found with this email."),
        (
            404,
            {"error": "no_org", "message": "You are not a member of any organisation."},
            "You are not a member of any organisation.",
        ),
        (
            202,
            {"status": "pending_approval", "org_name": "Acme", "message": "Awaiting approval."},
            "Awaiting approval.",
        ),
    ],
)
async def test_login_failures_are_authentication_errors(
    api: respx.MockRouter, sleeps: list[float], status: int, body: dict[str, Any], message: str
) -> None:
    login = api.post("/auth/user-login").respond(status, json=body)
    users = api.get("/users").respond(200, json=[])
    async with AsyncAstradial(
        base_url=ROOT, email=EMAIL, password=PASSWORD, max_retries=3
    ) as astra:
        with pytest.raises(AuthenticationError) as info:
            await astra.users.list().collect()
    assert info.value.status_code == status
    assert info.value.server_message == message
    assert message in str(info.value)
    assert PASSWORD not in str(info.value) + repr(info.value.body)
    assert login.call_count == 1
    assert users.call_count == 0
    assert sleeps == []


async def test_login_echoing_the_password_is_scrubbed(api: respx.MockRouter) -> None:
    api.post("/auth/user-login").respond(
        401, json={"error": f"Invalid password {PASSWORD}", "password": PASSWORD}
    )
    async with AsyncAstradial(base_url=ROOT, email=EMAIL, password=PASSWORD) as astra:
        with pytest.raises(AuthenticationError) as info:
            await astra.authenticate()
    assert PASSWORD not in str(info.value) + repr(info.value.body)


# -- error shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "message", "details"),
    [
        (
            400,
            {"error": "Missing required fields", "required": ["from", "to"]},
            BadRequestError,
            "Missing required fields",
            {"required": ["from", "to"]},
        ),
        (
            400,
            {"error": "Required fields missing", "required_fields": ["username"]},
            BadRequestError,
            "Required fields missing",
            {"required_fields": ["username"]},
        ),
        (
            500,
            {"error": "Failed to originate call", "details": "extension not registered"},
            InternalServerError,
            "extension not registered",
            {"details": "extension not registered"},
        ),
        (
            500,
            {"status": "error", "message": "Failed to originate call: extension not registered"},
            InternalServerError,
            "Failed to originate call: extension not registered",
            None,
        ),
        (
            403,
            {
                "error": "Forbidden",
                "message": "Requires admin",
                "your_role": "agent",
                "required_role": "admin",
            },
            PermissionDeniedError,
            "Requires admin",
            None,
        ),
        (
            409,
            {
                "error": "already_member",
                "skipped": [{"user_id": "u-1", "reason": "already_member"}],
            },
            ConflictError,
            "already_member",
            {"skipped": [{"user_id": "u-1", "reason": "already_member"}]},
        ),
        (
            422,
            {"error": "Invalid role"},
            UnprocessableEntityError,
            "Invalid role",
            None,
        ),
        (
            404,
            {
                "error": "Not Found",
                "message": "Endpoint POST /api/v1/calls/click-to-call not found",
                "documentation": "/api",
            },
            NotFoundError,
            "Endpoint POST /api/v1/calls/click-to-call not found",
            None,
        ),
    ],
)
async def test_error_bodies_become_typed_exceptions(
    astra: AsyncAstradial,
    api: respx.MockRouter,
    status: int,
    body: dict[str, Any],
    cls: type[Exception],
    message: str,
    details: Any,
) -> None:
    route = api.post("/calls/click-to-call").respond(status, json=body)
    with pytest.raises(cls) as info:
        await astra.calls.click_to_call(from_="1001", to="9944421125")
    exc: Any = info.value
    assert exc.status_code == status
    assert exc.server_message == message
    assert message in str(exc)
    assert exc.body == body
    if details is not None:
        assert exc.details == details
    assert route.call_count == 1  # a POST is never retried after a 4xx/500


async def test_raw_sql_500_stays_a_typed_error(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    sql = (
        'invalid input value for enum "enum_sip_users_role": "owner" '
        'INSERT INTO "sip_users" ("id","extension","role") VALUES ($1,$2,$3) RETURNING *;'
    )
    api.post("/users").mock(
        side_effect=[
            httpx.Response(500, json={"error": sql}),
            httpx.Response(500, text=sql, headers={"content-type": "text/html"}),
        ]
    )
    for _ in range(2):
        with pytest.raises(InternalServerError) as info:
            await astra.users.create(extension="1099", email="a@example.com", role="owner")
        assert info.value.status_code == 500
        assert info.value.server_message == sql


async def test_delete_with_204_and_an_empty_body_returns_none(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    api.delete("/users/u1").respond(204)
    api.delete("/queues/q1").respond(204, content=b"")
    api.delete("/ivrs/i1").respond(200, json={"success": True, "message": "IVR deleted"})
    assert await astra.users.delete("u1") is None
    assert await astra.queues.delete("q1") is None
    assert await astra.ivrs.delete("i1") is None


async def test_not_found_after_delete(astra: AsyncAstradial, api: respx.MockRouter) -> None:
    api.delete("/users/u1").respond(404, json={"error": "User not found"})
    with pytest.raises(NotFoundError, match="User not found"):
        await astra.users.delete("u1")


# -- validation -------------------------------------------------------------------------------


async def test_validation_is_limited_to_what_every_source_agrees_on(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    route = api.post("/users").mock(side_effect=echo(201))
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"extension": "1099", "email": None}, "email", "required"),
        ({"extension": "10a9", "email": "a@example.com"}, "extension", "pattern"),
        ({"extension": "1099", "email": "not-an-email"}, "email", "format"),
        (
            {"extension": "1099", "email": "a@example.com", "ring_target": "phone"},
            "phone_number",
            "required",
        ),
        (
            {
                "extension": "1099",
                "email": "a@example.com",
                "ring_target": "phone",
                "phone_number": "9944421125",
            },
            "phone_number",
            "format",
        ),
    ]
    for kwargs, field, rule in cases:
        with pytest.raises(ValidationError) as info:
            await astra.users.create(**kwargs)
        assert (info.value.field, info.value.rule) == (field, rule)
        assert field in str(info.value) and rule in str(info.value)
    assert route.call_count == 0
    # The conditional rule says when it applies.
    with pytest.raises(ValidationError, match="when ring_target is 'phone'"):
        await astra.users.create(extension="1099", email="a@example.com", ring_target="phone")
    # Enums are open: undocumented values go to the server, which decides.
    await astra.users.create(extension="1099", email="a@example.com", role="manager")
    await astra.users.create(extension="1099", email="a@example.com", ring_target="ext")
    await astra.users.create(
        extension="1099", email="a@example.com", ring_target="phone", phone_number="+919944421125"
    )
    # full_name is not required: the OSS server does not require it.
    await astra.users.create(
        extension="1099", email="a@example.com", username="alice", password="pw123456"
    )
    assert route.call_count == 4


async def test_partial_update_checks_only_what_it_sends(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    route = api.put("/users/u1").mock(side_effect=echo(200))
    await astra.users.update("u1", phone_number="9944421125")  # ring_target not sent
    with pytest.raises(ValidationError) as info:
        await astra.users.update("u1", ring_target="phone", phone_number="99")
    assert (info.value.field, info.value.rule) == ("phone_number", "format")
    await astra.users.update("u1", ring_target="phone", phone_number="+919944421125")
    await astra.users.update("u1", outbound_did=None)
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert bodies == [
        {"phone_number": "9944421125"},
        {"ring_target": "phone", "phone_number": "+919944421125"},
        {"outbound_did": None},
    ]


async def test_validation_can_be_turned_off(api: respx.MockRouter) -> None:
    route = api.post("/users").respond(201, json=USER)
    async with AsyncAstradial(base_url=ROOT, api_key=KEY, validate=False) as astra:
        await astra.users.create(extension="10a9", email="a@example.com")
    assert route.call_count == 1


# -- models and secrets -------------------------------------------------------------------------


def test_timestamps_in_either_casing_read_into_one_attribute() -> None:
    snake = User.from_dict({**USER, "updated_at": "2026-03-02T00:00:00Z"})
    camel = User.from_dict(
        {
            **{k: v for k, v in USER.items() if k != "created_at"},
            "createdAt": "2026-03-01T00:00:00Z",
            "updatedAt": "2026-03-02T00:00:00Z",
        }
    )
    assert snake.created_at == camel.created_at == "2026-03-01T00:00:00Z"
    assert snake.updated_at == camel.updated_at == "2026-03-02T00:00:00Z"
    assert "createdAt" not in camel.extra and "updatedAt" not in camel.extra
    out = camel.to_dict()
    assert out["created_at"] == "2026-03-01T00:00:00Z"
    assert "createdAt" not in out


def test_models_keep_unknown_fields_and_open_enums() -> None:
    user = User.from_dict(
        {**USER, "role": "manager", "ring_target": "ext", "asterisk_endpoint": "e1", "brand_new": 1}
    )
    assert user.role == "manager" and not isinstance(user.role, UserRole)
    assert User.from_dict(USER).role is UserRole.AGENT
    assert user.ring_target == "ext"
    assert user.asterisk_endpoint == "e1"
    assert user.extra == {"brand_new": 1}
    assert user.to_dict()["brand_new"] == 1


async def test_sip_credentials_in_both_shapes_never_leak(
    astra: AsyncAstradial, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Zx9-plaintext-SIP"
    api.get("/users/u1/sip-credentials").respond(
        200,
        json={
            "username": "org_example_1099",
            "password": secret,
            "domain": "devsip.astradial.com",
            "port": 5060,
            "transport": "UDP",
        },
    )
    api.get("/users/u2/sip-credentials").respond(
        200, json={"sip_password": secret, "endpoint": "org_example_1099", "extension": "1099"}
    )
    api.get("/users/u3/sip-credentials").respond(
        200, json={"sip_password": secret, "endpoint": "e", "port": "not-a-port"}
    )
    caplog.set_level(logging.DEBUG)
    docs = await astra.users.sip_credentials("u1")
    oss = await astra.users.sip_credentials("u2")
    assert docs.password == oss.password == secret
    assert docs.username == oss.username == "org_example_1099"
    assert (docs.domain, docs.port, docs.transport) == ("devsip.astradial.com", 5060, "UDP")
    assert oss.extension == "1099"
    assert oss.extra == {}
    # A port that is not a number is kept as sent and warned about, never shown with the secret.
    with pytest.warns(UnexpectedValueWarning, match="port") as warned:
        odd = await astra.users.sip_credentials("u3")
    assert odd.port == "not-a-port" and odd.password == secret
    texts = [repr(docs), repr(oss), str(docs), repr(odd), *(str(w.message) for w in warned)]
    texts += [r.getMessage() for r in caplog.records]
    assert secret not in "\n".join(texts)
    assert "password=***" in repr(docs)


async def test_create_response_sip_password_is_masked(
    astra: AsyncAstradial, api: respx.MockRouter
) -> None:
    secret = "abcdEFGH1234"
    api.post("/users").respond(
        201,
        json={
            **{k: v for k, v in USER.items() if k != "created_at"},
            "createdAt": "2026-03-01T00:00:00.000Z",
            "recording_enabled": True,
            "sip_password": secret,
        },
    )
    user = await astra.users.create(
        extension="1099",
        full_name="Alice Agent",
        email="alice@example.com",
        role="agent",
        username="alice",
        password="login-password",
        recording_enabled=True,
    )
    assert user.sip_password == secret
    assert secret not in repr(user)
    assert user.created_at == "2026-03-01T00:00:00.000Z"
    assert user.recording_enabled is True


def test_input_models_mask_passwords() -> None:
    from audian_async.astradial import UserInput

    value = UserInput.from_dict({"extension": "1", "email": "a@b.co", "password": "hunter2"})
    assert "hunter2" not in repr(value)
    assert isinstance(SipCredentials.__secret_fields__, frozenset)


def test_queue_aliases_read_the_oss_field_names() -> None:
    from audian_async.astradial import Queue

    queue = Queue.from_dict(
        {"id": "q1", "number": "5001", "strategy": "random", "music_on_hold": "default"}
    )
    assert queue.ring_strategy == "random"
    assert queue.moh_class == "default"
    documented = Queue.from_dict({"id": "q1", "ring_strategy": "ringall"})
    assert documented.ring_strategy is QueueStrategy.RINGALL
