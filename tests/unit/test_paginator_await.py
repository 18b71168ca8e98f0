"""``await paginator`` gives the first page; pages step to the next one by hand."""

from __future__ import annotations

import httpx
import pytest
import respx

from audian_async import AsyncAstradial, AsyncAudian, Page
from audian_async.astradial import Call
from audian_async.audian import User
from tests.helpers import ACCOUNT, users_page

USERS = f"/accounts/{ACCOUNT}/users"


async def test_await_gives_the_first_page_with_one_request(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).mock(
        side_effect=[users_page(["1", "2"], "k2"), users_page(["3"], None)]
    )
    page = await audian.users.list(page_size=2)
    assert isinstance(page, Page)
    assert route.call_count == 1
    assert [u.id for u in page.items] == ["1", "2"]
    assert [u.id for u in page] == ["1", "2"] and len(page) == 2
    assert all(isinstance(u, User) for u in page.items)
    assert page.next_start_key == "k2" and page.has_next_page()
    assert page.request_id == "req-1"

    second = await page.get_next_page()
    assert route.call_count == 2
    assert dict(route.calls[1].request.url.params) == {"page_size": "2", "start_key": "k2"}
    assert [u.id for u in second.items] == ["3"]
    assert not second.has_next_page()
    with pytest.raises(StopAsyncIteration):
        await second.get_next_page()


async def test_the_same_paginator_still_iterates_every_item(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.get(USERS).mock(
        side_effect=[users_page(["1"], "k2"), users_page(["1"], "k2"), users_page(["2"], None)]
    )
    paginator = audian.users.list()
    first = await paginator
    assert [u.id for u in first.items] == ["1"]
    assert [u.id async for u in paginator] == ["1", "2"]  # iteration starts from the top


async def test_await_with_max_items_trims_the_page_and_ends_there(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).mock(return_value=users_page(["1", "2", "3"], "k2"))
    page = await audian.users.list(max_items=2)
    assert [u.id for u in page.items] == ["1", "2"]
    assert not page.has_next_page()
    assert route.call_count == 1


async def test_await_an_unpaginated_listing(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.get(USERS).mock(return_value=users_page(["1", "2"], None))
    page = await audian.users.list(paginate=False)
    assert route.calls[0].request.url.params["paginate"] == "false"
    assert len(page.items) == 2 and not page.has_next_page()


async def test_await_an_offset_listing_then_step_through_its_pages() -> None:
    rows = [
        {"id": str(n), "from_number": "+15550100", "to_number": "1001", "status": "ANSWERED"}
        for n in range(5)
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        data = rows[offset : offset + limit]
        return httpx.Response(
            200, json={"data": data, "total": len(rows), "page": offset // limit + 1, "pages": 3}
        )

    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        route = router.get("/calls").mock(side_effect=answer)
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            page = await astra.calls.list(page_size=2)
            assert route.call_count == 1
            ids = [c.id for c in page.items]
            assert page.total == 5 and all(isinstance(c, Call) for c in page.items)
            while page.has_next_page():
                page = await page.get_next_page()
                ids += [c.id for c in page.items]
    assert ids == ["0", "1", "2", "3", "4"]
    assert [c.request.url.params["offset"] for c in route.calls] == ["0", "2", "4"]


async def test_await_a_listing_the_server_sends_whole() -> None:
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        router.get("/users").respond(
            200, json=[{"id": "u1", "extension": "1001", "email": "a@example.com"}]
        )
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            page = await astra.users.list()
    assert [u.extension for u in page.items] == ["1001"]
    assert not page.has_next_page()
