"""Every secret the SDK hides, hidden in one place.

Secrets are API keys, auth tokens, JWTs, SIP and user passwords, PINs. They never appear in
reprs, log lines or exception messages: values under secret-named fields are replaced, known
secret strings (the client's credentials, the live token, every secret value the request
carried) are scrubbed from server answers, SQL parameter lists a server quotes are masked when
the statement names a secret column, and the SDK's credential headers are masked wherever
request headers are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_FIELD_NAMES",
    "SECRET_HEADERS",
    "credential_values",
    "mask_headers",
    "redact",
    "request_body_secrets",
    "scrub",
    "secrets_in",
]

REDACTED = "***"

SECRET_FIELD_NAMES = frozenset(
    {
        "password",
        "api_key",
        "api_secret",
        "auth_token",
        "token",
        "sip_password",
        "credentials",
        "pin",
        "secret",
        "org_secret",
        "bridge_password",
        "password_hash",
        "api_secret_hash",
    }
)

#: Request headers that carry credentials (lower-case).
SECRET_HEADERS = frozenset({"x-auth-token", "x-api-key", "authorization", "cookie"})


def redact(value: Any, _key: str | None = None) -> Any:
    """A copy of decoded JSON with the values of secret-named keys replaced."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            last = key.rsplit(".", 1)[-1]
            if last in SECRET_FIELD_NAMES and not isinstance(v, Mapping):
                out[key] = REDACTED if v is not None else None
            elif last in SECRET_FIELD_NAMES:
                # A Kazoo validation entry keyed by a secret field: keep rules, hide echoed values.
                out[key] = _redact_rule_map(v)
            else:
                out[key] = redact(v, key)
        return out
    if isinstance(value, list):
        return [redact(v, _key) for v in value]
    if isinstance(value, str) and "arameters" in value:
        return redact_sql_parameters(value)
    return value


# `... sql: INSERT INTO users (...) VALUES (?,...) - parameters:['u1', ...]`: a database
# driver's text that some servers (the open-source Astradial server) answer a failed write with.
_SQL_PARAMETERS = re.compile(r"parameters\s*:\s*\[", re.IGNORECASE)
_SQL_WORDS = re.compile(r"[A-Za-z0-9_]+")
_SECRET_PARTS = frozenset({"password", "passwd", "secret", "pin", "token", "credentials"})


def _secret_column(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELD_NAMES or not _SECRET_PARTS.isdisjoint(lowered.split("_"))


def redact_sql_parameters(text: str) -> str:
    """``text`` with each quoted SQL parameter list masked when its statement names a secret
    column (``password_hash``, ``sip_password`` ...); other lists are left readable."""
    out: list[str] = []
    start = 0
    for match in _SQL_PARAMETERS.finditer(text):
        if match.start() < start:
            continue
        end = _closing_bracket(text, match.end())
        statement = text[start : match.start()]
        if any(_secret_column(w) for w in _SQL_WORDS.findall(statement)):
            out.append(text[start : match.end()] + REDACTED + "]")
        else:
            out.append(text[start:end])
        start = end
    if not out:
        return text
    out.append(text[start:])
    return "".join(out)


def _closing_bracket(text: str, i: int) -> int:
    """The index just past the ``]`` closing a list whose ``[`` ends before ``i``."""
    depth, quote = 1, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def secrets_in(body: Any) -> list[str]:
    """The values under secret-named keys of decoded JSON (a request body), as strings."""
    found: list[str] = []
    _collect_secrets(body, found)
    return found


def _collect_secrets(value: Any, found: list[str]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if (
                str(k) in SECRET_FIELD_NAMES
                and isinstance(v, str | int)
                and not isinstance(v, bool)
            ):
                found.append(str(v))
            elif isinstance(v, Mapping | list):
                _collect_secrets(v, found)
    elif isinstance(value, list):
        for v in value:
            _collect_secrets(v, found)


def _redact_rule_map(rules: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rule, info in rules.items():
        if isinstance(info, Mapping):
            out[str(rule)] = {
                k: (REDACTED if k in ("value", "cause") else v) for k, v in info.items()
            }
        else:
            out[str(rule)] = REDACTED
    return out


def scrub(body: Any, secrets: Iterable[str]) -> Any:
    """``body`` (text or decoded JSON) with every occurrence of the given secrets replaced."""
    # The longest first: a secret that contains another is replaced whole.
    secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    if not secrets:
        return body
    return _scrub(body, secrets)


def _scrub(body: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(body, str):
        for s in secrets:
            body = body.replace(s, REDACTED)
        return body
    if isinstance(body, Mapping):
        return {k: _scrub(v, secrets) for k, v in body.items()}
    if isinstance(body, list):
        return [_scrub(v, secrets) for v in body]
    return body


def mask_headers(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> list[tuple[str, str]]:
    """Headers to show, with credential headers masked (``Authorization: ***``)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in items]


def credential_values(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The secret values of credential headers (a Bearer token without its scheme)."""
    found = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic"):
                found.append(token)
    return found


def request_body_secrets(content: bytes) -> list[str]:
    """The secret values a JSON request body carried (none for any other body)."""
    if content[:1] not in (b"{", b"["):
        return []
    from . import _json

    try:
        return secrets_in(_json.loads(content))
    except (ValueError, RecursionError):
        return []
