"""Checking served responses against the OpenAPI documents in ``spec/``.

For every response the simulator sends, the operation is found by method and path template
(below each document's server base path, e.g. ``/v2``), the response object by status (exact
code, then ``2XX``-style ranges, then ``default``; a success status the operation does not list
is itself a violation), and the body is validated with the JSON-Schema subset of
:mod:`._schema` (formats are not checked; ``x-open-enum`` enums are open). A method+path no
document describes is a violation too.

Documents are looked up in ``audian_async/_spec/`` (a packaged copy) and otherwise in the
repository's ``spec/`` next to the package; every ``*.yaml``/``*.yml`` with ``openapi`` and
``paths`` keys is loaded, so another API's document is picked up by dropping it there.
"""

from __future__ import annotations

import json
import posixpath
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from ._schema import Validator

__all__ = ["Contract", "default_spec_location"]

_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
_MAX_ERRORS = 5
_cache: dict[tuple[str, float], list[tuple[Path, dict[str, Any]]]] = {}
_cache_lock = threading.Lock()


def default_spec_location() -> Path | None:
    """``audian_async/_spec/`` when it exists, else ``<repo>/spec/``, else None."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_spec", package.parent / "spec"):
        if candidate.is_dir() and any(candidate.glob("*.y*ml")):
            return candidate
    return None


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    params: int
    responses: Mapping[str, Any]
    document: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...] = ()
    request_body: Mapping[str, Any] | None = None
    partial: bool = False  # a merge update: fields of the body are optional
    error_in_body: bool = False  # x-error-in-body: a 2xx may carry the error body instead


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/{}]+\})", template)
    regex = "".join(
        "[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts
    )
    return re.compile(f"^{regex}$")


def _base_path(document: Mapping[str, Any]) -> str:
    servers = document.get("servers") or [{}]
    url = str(servers[0].get("url", "")) if isinstance(servers[0], Mapping) else ""
    return urlsplit(url).path.rstrip("/")


def _load_documents(location: Path) -> list[tuple[Path, dict[str, Any]]]:
    files = sorted(location.glob("*.y*ml")) if location.is_dir() else [location]
    stamp = max((f.stat().st_mtime for f in files), default=0.0)
    key = (str(location), stamp)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents: list[tuple[Path, dict[str, Any]]] = []
    for file in files:
        with file.open(encoding="utf-8") as handle:
            loaded = yaml.load(handle, Loader=loader)
        if (
            isinstance(loaded, dict)
            and "openapi" in loaded
            and isinstance(loaded.get("paths"), dict)
        ):
            documents.append((file, loaded))
    with _cache_lock:
        _cache[key] = documents
    return documents


class Contract:
    """The operations of one or more OpenAPI documents, ready to check responses."""

    def __init__(self, documents: list[tuple[Path, dict[str, Any]]]) -> None:
        self.files = [path for path, _ in documents]
        self._bases: list[tuple[str, list[_Operation]]] = []
        for _, document in documents:
            operations: list[_Operation] = []
            for template, item in document["paths"].items():
                if not isinstance(item, Mapping):
                    continue
                for method in _METHODS:
                    op = item.get(method)
                    if isinstance(op, Mapping):
                        operations.append(
                            _Operation(
                                method=method.upper(),
                                template=template,
                                pattern=_template_regex(template),
                                params=template.count("{"),
                                responses=op.get("responses", {}),
                                document=document,
                                parameters=tuple(
                                    p
                                    for p in [
                                        *item.get("parameters", []),
                                        *op.get("parameters", []),
                                    ]
                                    if isinstance(p, Mapping)
                                ),
                                request_body=op.get("requestBody"),
                                partial=method == "patch" or bool(op.get("x-partial")),
                                error_in_body=bool(op.get("x-error-in-body")),
                            )
                        )
            base = _base_path(document)
            # A template that climbs out of the base (``/../../health``) is served beside it.
            outside = [o for o in operations if "/../" in o.template]
            for n, op in enumerate(outside):
                resolved = posixpath.normpath(base + op.template)
                outside[n] = replace(op, pattern=_template_regex(resolved))
            inside = sorted((o for o in operations if o not in outside), key=lambda o: o.params)
            self._bases.append((base, inside))
            if outside:
                self._bases.append(("", outside))
        self._bases.sort(key=lambda b: len(b[0]), reverse=True)

    @classmethod
    def load(cls, location: Path | None = None) -> Contract | None:
        """Load the documents at ``location`` (a file or directory) or the default place."""
        where = location if location is not None else default_spec_location()
        if where is None or not where.exists():
            return None
        documents = _load_documents(where)
        return cls(documents) if documents else None

    def operation_for(self, method: str, path: str) -> tuple[str, str] | None:
        """``(METHOD, template)`` of the operation serving a request, if any."""
        found = self._find(method, path)
        return (found.method, found.template) if found else None

    def _find(self, method: str, path: str) -> _Operation | None:
        wanted = "GET" if method.upper() == "HEAD" else method.upper()
        for base, operations in self._bases:
            if base and not (path == base or path.startswith(base + "/")):
                continue
            relative = path[len(base) :] or "/"
            for op in operations:
                if op.method == wanted and op.pattern.match(relative):
                    return op
        return None

    def check(
        self, method: str, path: str, status: int, content_type: str, body: bytes
    ) -> list[str]:
        """Readable violations of one response (empty when it conforms)."""
        where = f"{method} {path} -> {status}"
        op = self._find(method, path)
        if op is None:
            return [f"{where}: no operation in the spec for {method} {path}"]
        response = self._response(op, status)
        if response is None:
            listed = ", ".join(sorted(str(k) for k in op.responses))
            return [
                f"{where}: status {status} is not documented for {op.method} {op.template} ({listed})"
            ]
        content = response.get("content")
        if not content:
            return (
                []
                if not body
                else [f"{where}: the spec documents no body but {len(body)} bytes were sent"]
            )
        if method.upper() == "HEAD":
            return []
        media = content.get("application/json") if isinstance(content, Mapping) else None
        if not isinstance(media, Mapping):
            return []
        if "json" not in content_type:
            return [f"{where}: expected application/json, got {content_type or 'no content type'}"]
        try:
            instance = json.loads(body)
        except ValueError:
            return [f"{where}: the body is not valid JSON"]
        schema = media.get("schema")
        if op.error_in_body and status < 300 and _reports_failure(instance):
            # x-error-in-body: a failure answered with a success status has the error's shape.
            fallback = self._response(op, 599) or {}
            json_media = (fallback.get("content") or {}).get("application/json") or {}
            schema = json_media.get("schema") if isinstance(json_media, Mapping) else None
        if not isinstance(schema, Mapping):
            return []
        validator = Validator(op.document, check_formats=False)
        errors = validator.validate(instance, schema)
        messages = [f"{where} ({op.template}): {e.readable()}" for e in errors[:_MAX_ERRORS]]
        if len(errors) > _MAX_ERRORS:
            messages.append(f"{where}: ... and {len(errors) - _MAX_ERRORS} more")
        return messages

    def check_request(
        self, method: str, path: str, query: str, content_type: str, body: bytes
    ) -> list[str]:
        """Readable violations of one request: required query parameters, the JSON body."""
        op = self._find(method, path)
        if op is None:
            return []  # reported once, with the response
        where = f"{method} {path} (request)"
        validator = Validator(op.document)
        problems: list[str] = []
        given = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
        for param in op.parameters:
            resolved = validator.resolve(param)
            if (
                resolved.get("in") == "query"
                and resolved.get("required")
                and resolved.get("name") not in given
            ):
                problems.append(
                    f"{where}: the required query parameter {resolved.get('name')!r} is missing"
                )
        spec_body = validator.resolve(op.request_body) if op.request_body else None
        if spec_body is None:
            if body.strip():
                problems.append(
                    f"{where}: the spec documents no request body but {len(body)} bytes were sent"
                )
            return problems
        content = spec_body.get("content") or {}
        if content_type.startswith("multipart/") and "multipart/form-data" in content:
            return problems  # an upload the spec documents (its fields are checked by the server)
        media = content.get("application/json")
        if not isinstance(media, Mapping) or not isinstance(media.get("schema"), Mapping):
            return problems
        if not body.strip():
            if spec_body.get("required"):
                problems.append(f"{where}: the request body is required")
            return problems
        if "json" not in content_type:
            problems.append(
                f"{where}: expected application/json, got {content_type or 'no content type'}"
            )
        try:
            instance = json.loads(body)
        except ValueError:
            return [*problems, f"{where}: the body is not valid JSON"]
        # A merge update (PATCH, or x-partial) sends only the fields it changes: `required`
        # is enforced only for a Kazoo {"data": ...} envelope itself.
        partial = None
        if op.partial:
            top = validator.resolve(media["schema"])
            partial = 1 if list(top.get("required", [])) == ["data"] else 0
        errors = Validator(op.document, check_formats=True, partial_below=partial).validate(
            instance, media["schema"]
        )
        problems += [f"{where} ({op.template}): {e.readable()}" for e in errors[:_MAX_ERRORS]]
        return problems

    def _response(self, op: _Operation, status: int) -> Mapping[str, Any] | None:
        responses = op.responses
        chosen = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if chosen is None:
            if 200 <= status < 300:
                return None
            chosen = responses.get("default")
        if not isinstance(chosen, Mapping):
            return None
        resolved = Validator(op.document).resolve(chosen)
        return resolved


def _reports_failure(body: Any) -> bool:
    """The core's test for an error answered with a 2xx (``audian_async._core``)."""
    from .._classify import reports_failure as core_test

    return core_test(body)
