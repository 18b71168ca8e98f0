"""``with_raw_response`` and ``with_streaming_response``: thin wrappers of bound methods.

A generated ``Raw<Tag>Resource`` or ``Streaming<Tag>Resource`` holds one wrapper per
operation around the resource's own bound method, so the operation is written once and the
wrapper keeps its exact signature for type checkers (``ParamSpec``); only the result type
changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from ._types import RAW_OPTION

if TYPE_CHECKING:
    from ._pagination import AsyncPaginator
    from ._response import APIResponse
    from ._transport import StreamingResponse

__all__ = ["to_raw_response", "to_streamed_response"]

P = ParamSpec("P")
R = TypeVar("R")


def to_raw_response(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[APIResponse[R]]]:
    """``method`` returning an :class:`~audian_async.APIResponse` around its typed result.

    The call carries the private ``_raw`` option; the core then answers with the response
    (status, headers, envelope, retries) instead of the result alone.
    """

    async def raw(*args: P.args, **kwargs: P.kwargs) -> APIResponse[R]:
        kwargs[RAW_OPTION] = True
        return cast("APIResponse[R]", await method(*args, **kwargs))

    update_wrapper(raw, method)
    return raw


def to_streamed_response(
    method: Callable[P, AsyncPaginator[Any]],
) -> Callable[P, AbstractAsyncContextManager[StreamingResponse]]:
    """A listing ``method`` whose first page's body is handed out unread, to stream.

    ``async with resource.with_streaming_response.list(...) as response`` sends the first
    page's request (the whole listing's with ``paginate=False``) and reads nothing more than
    the status and headers; ``response.iter_bytes()`` gives the body as it arrives.
    """

    def streamed(
        *args: P.args, **kwargs: P.kwargs
    ) -> AbstractAsyncContextManager[StreamingResponse]:
        return method(*args, **kwargs).stream()

    update_wrapper(streamed, method)
    return streamed
