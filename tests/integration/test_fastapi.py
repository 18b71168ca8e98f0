"""A FastAPI service using the SDK: one client and one pool for every request, errors mapped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from audian_async import AsyncAudian
from audian_async._transport_httpx import HttpxTransport
from audian_async.integrations.fastapi import AudianClient, audian_lifespan, install_error_handlers
from audian_async.testing import RunningServer, Simulator, serve


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"clients": 0, "transports": 0}
    original = HttpxTransport.__init__

    def init(self: HttpxTransport, *args: Any, **kwargs: Any) -> None:
        counts["transports"] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(HttpxTransport, "__init__", init)
    return counts


def build_app(sim: Simulator, server: RunningServer, counts: dict[str, int]) -> FastAPI:
    def factory() -> AsyncAudian:
        counts["clients"] += 1
        return AsyncAudian(api_key=sim.default_api_key, base_url=f"{server.base_url}/v2")

    app = FastAPI(lifespan=audian_lifespan(factory, authenticate=True))
    install_error_handlers(app)

    @app.post("/people")
    async def create_person(payload: dict[str, str], audian: AudianClient) -> dict[str, Any]:
        user = await audian.users.create(
            first_name=payload["first"], last_name=payload["last"], username=payload["username"]
        )
        return {"id": user.id, "username": user.username}

    @app.get("/people/{user_id}")
    async def read_person(user_id: str, audian: AudianClient) -> dict[str, Any]:
        return (await audian.users.get(user_id)).to_dict()

    @app.get("/clients")
    async def client_identity(audian: AudianClient) -> dict[str, int]:
        return {"client": id(audian), "transport": id(audian._core.shared.transport)}

    return app


@pytest.fixture
def service(
    sim: Simulator, server: RunningServer, counted: dict[str, int]
) -> Iterator[RunningServer]:
    with serve(build_app(sim, server, counted)) as running:
        yield running


async def test_many_concurrent_requests_share_one_client(
    service: RunningServer, counted: dict[str, int], sim: Simulator
) -> None:
    identities: set[tuple[int, int]] = set()
    created: list[str] = []
    before = len(sim.requests.matching(method="PUT", path_contains="/api_auth"))
    async with httpx.AsyncClient(base_url=service.base_url) as http:

        async def one(n: int) -> None:
            r = await http.post(
                "/people", json={"first": "Web", "last": f"User {n}", "username": f"fastapi{n:03d}"}
            )
            assert r.status_code == 200, r.text
            created.append(r.json()["id"])
            ident = (await http.get("/clients")).json()
            identities.add((ident["client"], ident["transport"]))

        async with anyio.create_task_group() as tg:
            for n in range(60):
                tg.start_soon(one, n)
    assert len(created) == 60 == len(set(created))
    assert len(identities) == 1
    assert counted["clients"] == 1
    assert counted["transports"] == 1
    assert len(sim.requests.matching(method="PUT", path_contains="/api_auth")) - before <= 1


async def test_sdk_errors_become_http_responses(service: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        missing = await http.get("/people/ffffffffffffffffffffffffffffffff")
        assert missing.status_code == 404
        body = missing.json()
        assert body["upstream_status"] == 404 and body["request_id"]
        invalid = await http.post(
            "/people", json={"first": "", "last": "X", "username": "bad name"}
        )
        assert invalid.status_code == 422
        (item,) = invalid.json()["detail"]
        assert item["type"] in {"minLength", "pattern"}
        assert item["loc"][0] == "upstream" and item["msg"]


def assert_fastapi_422_shape(body: Any) -> None:
    """FastAPI's own 422: ``{"detail": [{"type", "loc", "msg", ...}]}``."""
    assert isinstance(body["detail"], list) and body["detail"]
    for item in body["detail"]:
        assert isinstance(item["type"], str) and isinstance(item["msg"], str)
        assert isinstance(item["loc"], list)


async def test_one_422_shape_for_fastapi_and_sdk_validation(service: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        by_fastapi = await http.post("/people", json=["not", "an", "object"])
        by_sdk = await http.post("/people", json={"first": "", "last": "X", "username": "x y"})
    assert by_fastapi.status_code == by_sdk.status_code == 422
    assert_fastapi_422_shape(by_fastapi.json())
    assert_fastapi_422_shape(by_sdk.json())
    assert set(by_sdk.json()["detail"][0]) == {"type", "loc", "msg"}


async def test_upstream_422_has_the_same_shape() -> None:
    import json

    from audian_async import UnprocessableEntityError
    from audian_async.integrations.fastapi import error_response

    exc = UnprocessableEntityError("422", status_code=422)
    response = error_response(exc)
    assert response.status_code == 422
    assert_fastapi_422_shape(json.loads(bytes(response.body)))


async def test_wrong_upstream_key_tells_the_operator(sim: Simulator, server: RunningServer) -> None:
    wrong_key = "0123456789abcdef" * 4
    app = FastAPI(
        lifespan=audian_lifespan(
            lambda: AsyncAudian(api_key=wrong_key, base_url=f"{server.base_url}/v2")
        )
    )
    install_error_handlers(app)

    @app.get("/people/{user_id}")
    async def read_person(user_id: str, audian: AudianClient) -> dict[str, Any]:
        return (await audian.users.get(user_id)).to_dict()

    with serve(app) as running:
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            answer = await http.get("/people/" + "f" * 32)
    assert answer.status_code == 502
    body = answer.json()
    assert body["detail"].startswith("upstream credentials refused")
    assert wrong_key not in answer.text


@pytest.mark.parametrize("choice", ["default", "httpx"])
async def test_lifespan_transport_is_aiohttp_unless_httpx_is_chosen(
    sim: Simulator, server: RunningServer, monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    from audian_async._transport_aiohttp import AiohttpTransport

    monkeypatch.setenv("AUDIAN_API_KEY", sim.default_api_key)
    monkeypatch.setenv("AUDIAN_BASE_URL", f"{server.base_url}/v2")
    lifespan = audian_lifespan() if choice == "default" else audian_lifespan(transport="httpx")
    app = FastAPI(lifespan=lifespan)

    @app.get("/transport")
    async def transport(audian: AudianClient) -> dict[str, str]:
        return {"transport": type(audian._core.shared.transport).__name__}

    @app.get("/people/{user_id}")
    async def read_person(user_id: str, audian: AudianClient) -> dict[str, Any]:
        return (await audian.users.get(user_id)).to_dict()

    user_id = sim.create("users", sim.master_account_id, {"first_name": "T", "last_name": "X"})[
        "id"
    ]
    with serve(app) as running:
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            used = (await http.get("/transport")).json()["transport"]
            person = await http.get(f"/people/{user_id}")
    expected = AiohttpTransport.__name__ if choice == "default" else HttpxTransport.__name__
    assert used == expected
    assert person.status_code == 200 and person.json()["first_name"] == "T"


def test_lifespan_refuses_an_unknown_transport() -> None:
    with pytest.raises(ValueError, match="aiohttp"):
        audian_lifespan(transport="urllib")
