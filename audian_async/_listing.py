"""Setting up a listing: its filters and page size checked and written as the API's query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ValidationError
from ._operation import Operation
from ._pagination import AsyncPaginator, PageSource
from ._request_options import RequestOptions
from ._types import NOT_GIVEN, NotGiven

__all__ = ["listing"]

# Listing filters sent as they are: Kazoo's query verbs (`has_key`, `key_missing`, `has_value`,
# `value_missing`: they take a key name, not a value of a field so named) and filters already
# written in full; any other key becomes `filter_<key>`.
_QUERY_VERBS = frozenset({"value_missing"})
_QUERY_PREFIXES = ("filter_", "has_", "key_", "created_", "modified_")


def listing(
    source: PageSource,
    op: Operation[Any],
    *,
    item_type: Any,
    path_params: Mapping[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    filters: Mapping[str, Any] | None = None,
    page_size: int | NotGiven | None = NOT_GIVEN,
    paginate: bool = True,
    max_items: int | None = None,
    options: RequestOptions | None = None,
) -> AsyncPaginator[Any]:
    """A lazy :class:`AsyncPaginator` over ``op``'s listing, its pages sent through ``source``.

    Raises:
        ValidationError: ``page_size`` is not a whole number of at least 1.
    """
    q = {k: v for k, v in (query or {}).items() if v is not NOT_GIVEN}
    if filters:
        for key, value in filters.items():
            q[
                key if key in _QUERY_VERBS or key.startswith(_QUERY_PREFIXES) else f"filter_{key}"
            ] = value
    if options is not None and options.extra_query:
        q.update(options.extra_query)
        options = options.without_query()
    size = None if isinstance(page_size, NotGiven) else page_size
    if size is not None and (not isinstance(size, int) or size < 1):
        raise ValidationError("page_size", "minimum", "must be a whole number of at least 1")
    return AsyncPaginator(
        source,
        op,
        path_params=path_params or {},
        query=q,
        item_type=item_type,
        page_size=size,
        paginate=paginate,
        max_items=max_items,
        options=options,
    )
