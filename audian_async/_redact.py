"""Every secret the SDK hides, hidden in one place.

Secrets are API keys, auth tokens, JWTs, SIP and user passwords. They never appear in reprs,
log lines or exception messages: values under secret-named fields are replaced, known secret
strings are scrubbed from server answers, and the SDK's credential headers are masked wherever
request headers are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_FIELD_NAMES",
    "SECRET_HEADERS",
    "mask_headers",
    "redact",
    "scrub",
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
    return value


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
    secrets = tuple(s for s in secrets if s)
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
