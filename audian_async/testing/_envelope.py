"""Kazoo crossbar response envelopes (success and error) and the error type handlers raise."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from ._schema import SchemaError, kazoo_error_map

__all__ = [
    "ApiError",
    "Meta",
    "Paging",
    "bad_identifier",
    "dumps",
    "error_body",
    "json_response",
    "success_body",
    "validation_error",
]


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Meta:
    """Per-request values every envelope carries."""

    request_id: str
    node: str
    version: str
    timestamp: str
    auth_token: str | None = None
    consumed: int = 0
    remaining: int = 0

    def tokens(self) -> dict[str, int]:
        """The ``tokens`` object."""
        return {"consumed": self.consumed, "remaining": self.remaining}


@dataclass
class Paging:
    """Page keys of a listing response; ``page_size`` None means ``paginate=false``."""

    page_size: int | None
    start_key: str | int | None = None
    next_start_key: str | int | None = None


@dataclass
class ApiError(Exception):
    """Raised by handlers; rendered as a Kazoo error envelope."""

    status: int
    message: str
    data: Any = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.message}"


def validation_error(errors: Sequence[SchemaError] | Mapping[str, Any]) -> ApiError:
    """A 400 ``validation error`` carrying Kazoo's field map."""
    data = dict(errors) if isinstance(errors, Mapping) else kazoo_error_map(errors)
    return ApiError(400, "validation error", data)


def bad_identifier(doc_id: str) -> ApiError:
    """A 404 for a document id that does not exist in the account."""
    return ApiError(404, "bad_identifier", {"message": "bad identifier", "cause": doc_id})


def success_body(
    meta: Meta, data: Any, revision: str, paging: Paging | None = None
) -> dict[str, Any]:
    """The success envelope (keys sorted the way Kazoo emits them)."""
    body: dict[str, Any] = {}
    if meta.auth_token is not None:
        body["auth_token"] = meta.auth_token
    body["data"] = data
    body["node"] = meta.node
    if paging is not None and paging.page_size is not None:
        body["page_size"] = paging.page_size
        if paging.start_key is not None:
            body["start_key"] = paging.start_key
        if paging.next_start_key is not None:
            body["next_start_key"] = paging.next_start_key
    body["request_id"] = meta.request_id
    body["revision"] = revision
    body["status"] = "success"
    body["timestamp"] = meta.timestamp
    body["tokens"] = meta.tokens()
    body["version"] = meta.version
    return body


def error_body(meta: Meta, status: int, message: str, data: Any) -> dict[str, Any]:
    """The error envelope: no ``revision`` and no ``version``."""
    body: dict[str, Any] = {}
    if meta.auth_token is not None:
        body["auth_token"] = meta.auth_token
    body["data"] = data
    body["error"] = str(status)
    body["message"] = message
    body["node"] = meta.node
    body["request_id"] = meta.request_id
    body["status"] = "error"
    body["timestamp"] = meta.timestamp
    body["tokens"] = meta.tokens()
    return body


def json_response(
    status: int, body: Any, request_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response that echoes ``X-Request-ID``; ``body=None`` sends no content."""
    all_headers = {"X-Request-ID": request_id, **(headers or {})}
    if body is None:
        return Response(status_code=status, headers=all_headers)
    return Response(
        dumps(body), status_code=status, headers=all_headers, media_type="application/json"
    )
