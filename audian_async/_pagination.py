"""Async paginators: Kazoo ``start_key`` cursors (Audian) and ``limit``/``offset`` (Astradial).

A paginator fetches pages lazily, one at a time, so memory stays bounded by one page however
long the listing is. ``async for item in paginator`` walks items across pages;
``paginator.pages()`` walks pages with their metadata; ``await paginator`` fetches the first
page only (a [`Page`][audian_async._pagination.Page], which can fetch the one after it: ``await page.get_next_page()``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import attrs

from ._errors import APIResponseValidationError, ValidationError
from ._response import APIResponse

if TYPE_CHECKING:
    from ._operation import Operation
    from ._request_options import RequestOptions
    from ._transport import StreamingResponse

__all__ = ["AsyncPaginator", "Page"]

T = TypeVar("T")


class PageSource(Protocol):
    """What a paginator sends its page requests through (a client view's core)."""

    async def request(
        self,
        op: Operation[Any],
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
        raw: Literal[True],
        structure: bool = True,
    ) -> APIResponse[Any]:
        """Send one page's request; the answer with its decoded, unstructured body."""
        ...

    def stream(
        self,
        op: Operation[Any],
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
    ) -> AbstractAsyncContextManager[StreamingResponse]:
        """Send one page's request and hand out its body unread."""
        ...


@attrs.define(slots=True, repr=False)
class Page(Generic[T]):
    """One page of a listing.

    ``for item in page`` walks this page's items only. [`has_next_page`][audian_async._pagination.Page.has_next_page] and
    [`get_next_page`][audian_async._pagination.Page.get_next_page] step to the following page by hand (``async for`` on the paginator
    does this for you).

    Attributes:
        items: the page's items.
        next_start_key: the cursor of the next page (Kazoo), ``None`` on the last page.
        total: the total count when the server reports one (Astradial calls).
        response: the page's [`APIResponse`][audian_async._response.APIResponse] (request id, page size,
            headers ...).
    """

    items: list[T]
    next_start_key: str | int | None
    total: int | None
    response: APIResponse[Any]
    # Where the next page starts (a start key or an offset) and who fetches it; None: last page.
    _next_cursor: Any = attrs.field(default=None, eq=False)
    _paginator: AsyncPaginator[T] | None = attrs.field(default=None, eq=False)

    @property
    def request_id(self) -> str | None:
        """The request id of this page's response."""
        return self.response.request_id

    @property
    def page_size(self) -> int | None:
        """The number of items the server says it returned."""
        return self.response.page_size

    def has_next_page(self) -> bool:
        """Whether another page follows this one."""
        return self._paginator is not None and self._next_cursor is not None

    async def get_next_page(self) -> Page[T]:
        """Fetch the page after this one.

        Raises:
            StopAsyncIteration: this is the last page (check [`has_next_page`][audian_async._pagination.Page.has_next_page] first).
        """
        if self._paginator is None or self._next_cursor is None:
            raise StopAsyncIteration("this is the last page")
        return await self._paginator._page(self._next_cursor)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Page(items={len(self.items)}, next_start_key={self.next_start_key!r}, total={self.total!r})"


class AsyncPaginator(Generic[T]):
    """A lazily fetched listing: nothing is sent before it is iterated or awaited.

    * ``async for item in paginator``: every item, page after page (memory: one page).
    * ``page = await paginator``: the first [`Page`][audian_async._pagination.Page] only (``page.items``,
      ``page.has_next_page()``, ``await page.get_next_page()``).
    * ``paginator.pages()``: every page with its metadata; ``await paginator.collect()``:
      every item in a list; ``await paginator.first()``: the first item or ``None``.
    """

    def __init__(
        self,
        core: PageSource,
        op: Operation[Any],
        *,
        path_params: Mapping[str, Any],
        query: dict[str, Any],
        item_type: Any,
        page_size: int | None,
        paginate: bool = True,
        max_items: int | None = None,
        options: RequestOptions | None = None,
    ) -> None:
        self._core = core
        self._op = op
        self._path_params = path_params
        self._query = query
        self._item_type = item_type
        self._page_size = page_size
        self._paginate = paginate
        self._max_items = max_items
        self._options = options

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iter_items()

    def __await__(self) -> Generator[Any, None, Page[T]]:
        """``await paginator`` gives the first page (see [`first_page`][audian_async._pagination.AsyncPaginator.first_page])."""
        return self.first_page().__await__()

    async def first_page(self) -> Page[T]:
        """Fetch the first page only (one request), as ``await paginator`` does.

        With ``max_items``, the page holds at most that many items, and has no next page
        once they are reached.
        """
        page = await self._page(None)
        limit = self._max_items
        if limit is not None and len(page.items) >= limit:
            page = Page(page.items[:limit], None, page.total, page.response)
        return page

    async def _iter_items(self) -> AsyncIterator[T]:
        remaining = self._max_items
        async for page in self.pages():
            for item in page.items:
                if remaining is not None:
                    if remaining <= 0:
                        return
                    remaining -= 1
                yield item

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate pages (with their metadata), fetching each one when the previous is done."""
        page = await self._page(None)
        seen: set[Any] = set()
        while True:
            yield page
            cursor = page._next_cursor
            if cursor is None:
                return
            if cursor in seen:
                raise self._invalid(
                    page.response,
                    f"the server repeated the cursor {cursor!r} (stopped to avoid a loop)",
                )
            seen.add(cursor)
            page = await self._page(cursor)

    async def _page(self, cursor: Any) -> Page[T]:
        """The page starting at ``cursor`` (``None``: the first page)."""
        if self._op.pagination == "offset":
            return await self._offset_page(cursor)
        return await self._start_key_page(cursor)

    async def collect(self) -> list[T]:
        """Fetch every item into a list (memory grows with the listing: prefer ``async for``)."""
        return [item async for item in self]

    async def first(self) -> T | None:
        """The first item, or ``None`` for an empty listing.

        It asks for one item (``page_size=1`` on a Kazoo listing, ``limit=1`` on an
        offset one), whatever page size the paginator was given; a listing fetched whole
        (``paginate=False``, or one the server does not page) is fetched as asked.
        """
        probe = self
        if self._paginate and self._op.pagination in ("start_key", "offset"):
            probe = AsyncPaginator(
                self._core,
                self._op,
                path_params=self._path_params,
                query=self._query,
                item_type=self._item_type,
                page_size=1,
                max_items=1,
                options=self._options,
            )
        async for item in probe:
            return item
        return None

    def stream(self) -> AbstractAsyncContextManager[StreamingResponse]:
        """The first page's response body, unread (``with_streaming_response``).

        Send the request of the first page (or, with ``paginate=False``, of the whole
        listing) and hand out the body to read incrementally inside ``async with``: a large
        listing can go to a file without being held in memory. Error statuses raise as
        usual before the body is handed out.

        Raises:
            ValidationError: ``max_items`` was given (a body cannot be cut at an item).
        """
        if self._max_items is not None:
            raise ValidationError(
                "max_items", "type", "a streamed listing is the server's body: drop max_items"
            )
        if self._op.pagination == "offset":
            query, _ = self._offset_query(None)
        else:
            query = self._start_key_query(None)
        return self._core.stream(
            self._op, path_params=self._path_params, query=query, options=self._options
        )

    async def _fetch(self, query: dict[str, Any]) -> APIResponse[Any]:
        response: APIResponse[Any] = await self._core.request(
            self._op,
            path_params=self._path_params,
            query=query,
            raw=True,
            structure=False,
            options=self._options,
        )
        return response

    def _items(self, data: Any, response: APIResponse[Any]) -> list[T]:
        """Structure one page's rows; an answer that is not a list of items raises."""
        from ._classify import listing_items

        return listing_items(self._op, self._item_type, data, response)

    def _invalid(self, response: APIResponse[Any], why: str) -> APIResponseValidationError:
        from ._classify import listing_invalid

        return listing_invalid(self._op, response, why)

    def _start_key_query(self, start_key: Any) -> dict[str, Any]:
        query = dict(self._query)
        if not self._paginate:
            query["paginate"] = "false"
            return query
        if self._page_size is not None:
            query["page_size"] = self._page_size
        if start_key is not None:
            query["start_key"] = start_key
        return query

    async def _start_key_page(self, start_key: Any) -> Page[T]:
        query = self._start_key_query(start_key)
        if not self._paginate:
            response = await self._fetch(query)
            return Page(self._items(response.parsed, response), None, None, response)
        response = await self._fetch(query)
        next_key = response.envelope.get("next_start_key")
        if next_key == "":
            next_key = None
        return Page(
            self._items(response.parsed, response),
            next_key,
            None,
            response,
            next_cursor=next_key,
            paginator=self,
        )

    def _offset_query(self, offset: int | None) -> tuple[dict[str, Any], int]:
        query = dict(self._query)
        query["limit"] = self._page_size or int(query.get("limit") or 50)
        if offset is None:
            offset = int(query.get("offset") or 0)
        query["offset"] = offset
        return query, offset

    async def _offset_page(self, offset: int | None) -> Page[T]:
        query, offset = self._offset_query(offset)
        limit = query["limit"]
        response = await self._fetch(query)
        body = response.parsed
        rows = body.get("data") if isinstance(body, Mapping) else body
        items = self._items(rows, response)
        total, has_more = _offset_meta(body)
        following = offset + len(items)
        # The server's own signals win: a server may cap `limit` below what was asked.
        last = (
            not items
            or has_more is False
            or (
                has_more is None
                and (following >= total if total is not None else len(items) < limit)
            )
        )
        return Page(
            items,
            None,
            total,
            response,
            next_cursor=None if last else following,
            paginator=self,
        )


def _offset_meta(body: Any) -> tuple[int | None, bool | None]:
    """``(total, has_more)`` from either Astradial envelope shape."""
    if not isinstance(body, Mapping):
        return None, None
    pagination = body.get("pagination")
    if isinstance(pagination, Mapping):
        total = pagination.get("total")
        has_more = pagination.get("has_more")
        return (total if isinstance(total, int) else None), (
            has_more if isinstance(has_more, bool) else None
        )
    total = body.get("total")
    page, pages = body.get("page"), body.get("pages")
    has_more = page < pages if isinstance(page, int) and isinstance(pages, int) else None
    return (total if isinstance(total, int) else None), has_more
