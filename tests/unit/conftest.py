from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from audian_async import AsyncAstradial, AsyncAudian
from tests.helpers import (
    API_KEY,
    ASTRADIAL_BASE,
    ASTRADIAL_KEY,
    ASTRADIAL_ROOT,
    BASE,
    auth_body,
    make_jwt,
)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def auth_route(mock: respx.MockRouter) -> respx.Route:
    return mock.put("/api_auth").respond(201, json=auth_body(make_jwt()))


@pytest.fixture
async def audian(auth_route: respx.Route) -> AsyncIterator[AsyncAudian]:
    async with AsyncAudian(api_key=API_KEY, max_retries=2) as client:
        yield client


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record backoff sleeps instead of sleeping."""
    from tests.helpers import record_sleeps

    return record_sleeps(monkeypatch)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """respx over the Astradial API's base URL."""
    with respx.mock(base_url=ASTRADIAL_BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def astra(api: respx.MockRouter) -> AsyncIterator[AsyncAstradial]:
    """An Astradial client with an API key, answered by ``api``."""
    async with AsyncAstradial(base_url=ASTRADIAL_ROOT, api_key=ASTRADIAL_KEY) as client:
        yield client
