"""Request URLs from path templates, with a per-view cache of what stays the same.

Building a URL fills the template (the account id from the view or its credentials, the
caller's parameters percent-encoded) and names the rate-limit bucket the request spends:
Kazoo keeps one bucket per account named in the URL, and a URL naming no account spends the
bucket ``None``. Once built for the view's own account, a route is remembered as the URL up
to the first caller-given parameter and the rest, so the next call only encodes its ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ValidationError
from ._operation import Operation
from ._url import encode_segment, with_query

__all__ = ["Routes"]

# Path templates split once: ("/accounts/", "account_id", "/users/", "user_id", "").
_TEMPLATES: dict[str, tuple[str, ...]] = {}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# A remembered route: (the account it was built for, URL prefix, (parameter, literal after
# it) for the caller-given parameters, rate-limit bucket).
_Route = tuple[str | None, str, tuple[tuple[str, str], ...], str | None]


def _climb(url: str) -> str:
    """``url`` with its ``..`` path segments resolved (transports may send them as they are)."""
    import posixpath
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=posixpath.normpath(parts.path)))


def _compile_path(path: str) -> tuple[str, ...]:
    """``path`` as literal pieces with the placeholder names between them (cached)."""
    template = _TEMPLATES[path] = tuple(_PLACEHOLDER.split(path))
    return template


class Routes:
    """The URLs of one client view's operations (see the module docstring).

    ``account`` gives the account id the view acts on when the caller names none (the view's
    own, else the one its credentials at hand name; ``None`` when not known yet).
    """

    __slots__ = ("_account", "_cache", "base_url")

    def __init__(self, base_url: str, account: Callable[[], str | None]) -> None:
        self.base_url = base_url
        self._account = account
        self._cache: dict[str, _Route] = {}

    def target(
        self,
        op: Operation[Any],
        path_params: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
    ) -> tuple[str, str | None] | None:
        """The URL and the rate-limit bucket it spends, or ``None`` when the URL needs an
        account id that is not known yet.

        Raises:
            ValidationError: a path parameter is missing, empty, ``.`` or ``..``.
        """
        route = self._cache.get(op.path)
        if route is None:
            return self._build(op, path_params, query)
        own, url, rest, bucket = route
        if own is not None and (
            own != self._account() or (path_params and path_params.get("account_id") is not None)
        ):
            # The account is the caller's, or the credentials' changed or are not at hand.
            return self._build(op, path_params, query)
        for name, literal in rest:
            value = path_params.get(name) if path_params else None
            if value is None:
                raise ValidationError(name, "required", "a path parameter is required")
            url = url + encode_segment(value, name) + literal
        return with_query(url, query), bucket

    def _build(
        self,
        op: Operation[Any],
        path_params: Mapping[str, Any] | None,
        query: Mapping[str, Any] | None,
    ) -> tuple[str, str | None] | None:
        """:meth:`target` from the path template; remembers the route for the view's own
        account (the URL up to the first caller-given parameter, and the rest)."""
        template = _TEMPLATES.get(op.path) or _compile_path(op.path)
        bucket = None
        own_account = None
        prefix: str | None = None
        pieces = [self.base_url, template[0]]
        for i in range(1, len(template), 2):
            name = template[i]
            value = path_params.get(name) if path_params else None
            if name == "account_id":
                if value is None:
                    value = self._account()
                    if value is None:
                        return None
                    own_account = value
                bucket = value if type(value) is str else str(value)
            elif value is None:
                raise ValidationError(name, "required", "a path parameter is required")
            elif prefix is None:
                prefix = "".join(pieces)
                first_param = i
            pieces.append(encode_segment(value, name))
            pieces.append(template[i + 1])
        url = "".join(pieces)
        if template[0].startswith("/../"):  # a route beside the API's prefix (``/health``)
            url = _climb(url)
        if own_account is not None or "account_id" not in template[1::2]:
            if prefix is None:  # no caller-given parameter: the whole URL is fixed
                self._cache[op.path] = (own_account, url, (), bucket)
            elif "account_id" not in template[first_param::2]:
                names, literals = template[first_param::2], template[first_param + 1 :: 2]
                rest = tuple(zip(names, literals, strict=True))
                self._cache[op.path] = (own_account, prefix, rest, bucket)
        return with_query(url, query), bucket
