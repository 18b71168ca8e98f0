"""Pagination: lazy start_key cursors, page metadata, bounded memory, keyed listings."""

from __future__ import annotations

import gc
import weakref

import httpx
import pytest
import respx

from audian_async import APIResponseValidationError, AsyncAstradial, AsyncAudian
from audian_async.audian import PhoneNumberSummary, User
from tests.helpers import ACCOUNT, envelope
from tests.helpers import users_page as page

USERS = f"/accounts/{ACCOUNT}/users"


async def test_three_pages_are_fetched_lazily_one_at_a_time(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).mock(
        side_effect=[page(["1", "2"], "k2"), page(["3", "4"], "k3", "k2"), page(["5"], None, "k3")]
    )
    seen: list[str] = []
    paginator = audian.users.list(page_size=2)
    assert route.call_count == 0  # nothing is sent before iterating
    async for user in paginator:
        seen.append(user.id)
        # page n+1 is requested only once page n is consumed
        assert route.call_count == (len(seen) + 1) // 2
    assert seen == ["1", "2", "3", "4", "5"]
    queries = [dict(call.request.url.params) for call in route.calls]
    assert queries[0] == {"page_size": "2"}
    assert queries[1] == {"page_size": "2", "start_key": "k2"}
    assert queries[2] == {"page_size": "2", "start_key": "k3"}


async def test_pages_expose_metadata(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    mock.get(USERS).mock(side_effect=[page(["1", "2"], "k2"), page(["3"], None)])
    pages = [p async for p in audian.users.list().pages()]
    assert [p.next_start_key for p in pages] == ["k2", None]
    assert [p.page_size for p in pages] == [2, 1]
    assert pages[0].request_id == "req-1"
    assert all(isinstance(u, User) for p in pages for u in p.items)


async def test_memory_stays_bounded_by_one_page(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    responses = [
        page([f"{n}-{i}" for i in range(50)], f"k{n + 1}" if n < 9 else None) for n in range(10)
    ]
    mock.get(USERS).mock(side_effect=responses)
    refs: list[weakref.ref[User]] = []
    count = 0
    async for user in audian.users.list(page_size=50):
        count += 1
        refs.append(weakref.ref(user))
        if count % 50 == 1 and count > 50:
            del user
            gc.collect()
            alive = sum(1 for r in refs if r() is not None)
            # only the current page (plus the item just yielded) may be alive
            assert alive <= 51, alive
    assert count == 500


async def test_paginate_false_is_one_unpaginated_request(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).respond(200, json=envelope([{"id": str(i)} for i in range(7)]))
    users = await audian.users.list(paginate=False).collect()
    assert len(users) == 7
    assert route.call_count == 1
    assert dict(route.calls[0].request.url.params) == {"paginate": "false"}


async def test_max_items_and_first(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.get(USERS).mock(
        side_effect=[page(["1", "2"], "k2"), page(["3", "4"], "k3"), page(["5"], None)]
    )
    assert [u.id async for u in audian.users.list(max_items=3)] == ["1", "2", "3"]
    assert route.call_count == 2
    route.mock(side_effect=[page(["9"], "k")])
    first = await audian.users.list().first()
    assert first is not None and first.id == "9"


async def test_first_asks_for_one_item(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    route = mock.get(USERS).mock(side_effect=[page([], "k1"), page(["7"], "k2")])
    first = await audian.users.list(page_size=50, filters={"username": "ada"}).first()
    assert first is not None and first.id == "7"  # an empty page with a cursor is stepped over
    sent = [call.request.url.params for call in route.calls]
    assert [p["page_size"] for p in sent] == ["1", "1"]
    assert sent[0]["filter_username"] == "ada" and sent[1]["start_key"] == "k1"
    route.mock(side_effect=[page(["1", "2"], None)])
    whole = await audian.users.list(paginate=False).first()  # fetched whole, as asked
    assert whole is not None and whole.id == "1"
    assert "page_size" not in route.calls[-1].request.url.params


async def test_first_of_an_offset_listing_asks_for_one_item() -> None:
    base = "https://pbx.example.com/api/v1"
    with respx.mock(base_url=base) as router:
        route = router.get("/calls").respond(200, json={"data": [{"id": "c1"}], "total": 40})
        async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
            first = await astra.calls.list(page_size=20).first()
    assert first is not None and first.id == "c1"
    params = route.calls[0].request.url.params
    assert (params["limit"], params["offset"]) == ("1", "0")
    assert route.call_count == 1


async def test_a_repeated_cursor_stops_with_an_error(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    mock.get(USERS).mock(
        side_effect=[page(["1"], "same"), page(["2"], "same"), page(["3"], "same")]
    )
    with pytest.raises(APIResponseValidationError, match="repeated the cursor"):
        await audian.users.list().collect()


async def test_filters_map_to_filter_params_and_lists_repeat(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    route = mock.get(USERS).respond(200, json=envelope([]))
    await audian.users.list(
        filters={"first_name": "Jane", "priv_level": ["admin", "user"], "enabled": True}
    ).collect()
    params = route.calls[0].request.url.params
    assert params.get_list("filter_first_name") == ["Jane"]
    assert params.get_list("filter_priv_level") == ["admin", "user"]
    assert params["filter_enabled"] == "true"


async def test_phone_numbers_keyed_listing_in_both_shapes(
    audian: AsyncAudian, mock: respx.MockRouter
) -> None:
    flat = {
        "+14155550001": {"state": "in_service", "features": ["cnam"]},
        "+14155550002": {"state": "reserved"},
    }
    route = mock.get(f"/accounts/{ACCOUNT}/phone_numbers").mock(
        side_effect=[
            httpx.Response(200, json=envelope(flat)),
            httpx.Response(200, json=envelope({"cascade_quantity": 0, "numbers": flat})),
        ]
    )
    for _ in range(2):
        numbers = await audian.phone_numbers.list().collect()
        assert [n.number for n in numbers] == ["+14155550001", "+14155550002"]
        assert all(isinstance(n, PhoneNumberSummary) for n in numbers)
        assert numbers[0].features == ["cnam"]
    assert route.call_count == 2


@pytest.mark.parametrize("bad", [0, -3])
async def test_invalid_page_size_is_rejected_before_sending(
    audian: AsyncAudian, mock: respx.MockRouter, bad: int
) -> None:
    route = mock.get(USERS).respond(200, json=envelope([]))
    with pytest.raises(ValueError, match="page_size"):
        audian.users.list(page_size=bad)
    assert route.call_count == 0


async def test_offset_listing_follows_the_servers_signals_when_it_caps_the_limit() -> None:
    from audian_async import AsyncAstradial

    rows = [{"id": str(i), "from_number": "1001", "to_number": "1002"} for i in range(7)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        page = rows[offset : offset + 3]  # the server caps every page at 3 rows
        more = offset + len(page) < len(rows)
        return httpx.Response(
            200,
            json={
                "data": page,
                "pagination": {"total": len(rows), "limit": 3, "offset": offset, "has_more": more},
            },
        )

    async with AsyncAstradial(
        base_url="http://pbx.test", api_key="ak_x", transport=httpx.MockTransport(handler)
    ) as astra:
        ids = [call.id async for call in astra.calls.list(page_size=100)]
    assert ids == [str(i) for i in range(7)]
