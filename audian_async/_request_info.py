"""What an exception says about the request it was raised for, and the response, secrets masked.

[`RequestInfo`][audian_async._request_info.RequestInfo] and
[`ResponseInfo`][audian_async._request_info.ResponseInfo] are small, immutable and safe to log: the
credential headers (``X-Auth-Token``, ``X-API-Key``, ``Authorization``, cookies) and headers
whose name says secret, token or password (a caller's ``extra_headers``) are masked, known
secrets (the API key, the token) are scrubbed from every value, and secret-named query
parameters and URL passwords are masked. They never hold the transport's own objects (an
``httpx.Request`` carries the credentials).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from urllib.parse import unquote

from ._redact import REDACTED, SECRET_FIELD_NAMES, mask_headers

__all__ = ["RequestInfo", "ResponseInfo", "safe_url"]

# Response headers that may carry credentials too (Kazoo echoes X-Auth-Token).
_SECRET_RESPONSE_HEADERS = frozenset({"set-cookie", "www-authenticate", "proxy-authorization"})
_SECRET_WORDS = ("token", "password", "secret", "api_key", "apikey", "jwt")


# Header names that say they carry a credential (an `X-Webhook-Secret` given in
# extra_headers, `Proxy-Authorization`), beyond the API's own credential headers.
_SECRET_HEADER_WORDS = (*_SECRET_WORDS, "api-key", "authorization", "cookie")


def _secret_header(name: str) -> bool:
    return any(word in name for word in _SECRET_HEADER_WORDS)


def _secret_param(name: str) -> bool:
    lowered = unquote(name).lower()
    return lowered in SECRET_FIELD_NAMES or any(word in lowered for word in _SECRET_WORDS)


def _scrub_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def safe_url(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` with a userinfo password, secret-named query values and known secrets masked.

    Other query parameters are kept exactly as they were encoded.
    """
    known = tuple(s for s in secrets if s)
    scheme, sep, rest = url.partition("://")
    if sep:
        authority_end = len(rest)
        for ch in "/?#":
            i = rest.find(ch)
            if i >= 0:
                authority_end = min(authority_end, i)
        authority = rest[:authority_end]
        if "@" in authority:
            userinfo, host = authority.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            authority = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
        url = f"{scheme}://{authority}{rest[authority_end:]}"
    base, qmark, query = url.partition("?")
    if qmark:
        query, hash_mark, fragment = query.partition("#")
        pairs = []
        for piece in query.split("&"):
            name, eq, _value = piece.partition("=")
            pairs.append(f"{name}={REDACTED}" if eq and _secret_param(name) else piece)
        url = f"{base}?{'&'.join(pairs)}{hash_mark}{fragment}"
    return _scrub_text(url, known)


def _safe_headers(
    headers: Iterable[tuple[str, str]] | Mapping[str, str],
    secrets: tuple[str, ...],
    extra: frozenset[str] = frozenset(),
) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for name, value in mask_headers(headers):
        key = name.lower()
        value = REDACTED if key in extra or _secret_header(key) else _scrub_text(value, secrets)
        out[key] = f"{out[key]}, {value}" if key in out else value
    return MappingProxyType(out)


class RequestInfo:
    """The request an exception was raised for, safe to log and show.

    Attributes:
        method: the HTTP method.
        url: the full URL, with secret-named query values and URL passwords masked.
        headers: the request headers (lower-case names), credentials masked (``***``).
    """

    __slots__ = ("headers", "method", "url")

    method: str
    url: str
    headers: Mapping[str, str]

    def __init__(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        known = tuple(s for s in secrets if s)
        self.method = method
        self.url = safe_url(url, known)
        self.headers = _safe_headers(headers, known)

    def __repr__(self) -> str:
        return f"RequestInfo(method={self.method!r}, url={self.url!r})"


class ResponseInfo:
    """The response an error status came with, safe to log and show.

    Attributes:
        status_code: the HTTP status.
        headers: the response headers (lower-case names); credential headers a server may
            echo (``X-Auth-Token``, ``Set-Cookie`` ...) are masked.
        request: the request it answers.
    """

    __slots__ = ("headers", "request", "status_code")

    status_code: int
    headers: Mapping[str, str]
    request: RequestInfo | None

    def __init__(
        self,
        status_code: int,
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        *,
        request: RequestInfo | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.status_code = status_code
        self.headers = _safe_headers(
            headers, tuple(s for s in secrets if s), _SECRET_RESPONSE_HEADERS
        )
        self.request = request

    def __repr__(self) -> str:
        return f"ResponseInfo(status_code={self.status_code})"


def shown_path(url: str, template: str) -> str:
    """The path ``url`` goes to, relative to the API's base (``/accounts/ab12/users/u1``):
    what messages show, where ``template`` is the operation's path template."""
    full = path_of(url)
    depth = template.count("/")
    parts = full.split("/")
    if depth == 0 or len(parts) <= depth:
        return full
    return "/".join(["", *parts[-depth:]])


def path_of(url: str) -> str:
    """The path of ``url`` (no scheme, host or query)."""
    scheme_end = url.find("//")
    start = url.find("/", scheme_end + 2 if scheme_end >= 0 else 0)
    end = url.find("?", start)
    return url[start:] if end < 0 else url[start:end]
