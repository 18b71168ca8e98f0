"""The Audian (Kazoo crossbar v2) router, mounted at ``/v2``.

Every request goes through one pipeline: request id, token check, token bucket, 401s, body
parsing, account access (own account and descendants only), then the endpoint handler under
the store lock, then the Kazoo envelope. Handlers are plain functions from :class:`Call` to
:class:`Result`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from .._envelope import (
    ApiError,
    bad_identifier,
    error_body,
    json_response,
    success_body,
    validation_error,
)
from .._events import available as available_bindings
from .._jwt import Claims
from .._schema import Validator
from .._sim_core import Core
from .._store import Doc
from ._families import family_endpoints, family_kinds
from ._flat_accounts import FlatError, create_flat_account, flat_error, render_flat
from ._forms import Upload, parse_form
from ._handlers import (
    Call,
    Endpoint,
    Handler,
    Result,
    announce,
    check_charges,
    doc_rows,
    page_of,
)
from ._kinds import ACCOUNT, KINDS, Kind
from ._listing import Row
from ._resources import (
    add_number,
    available_numbers,
    create_account,
    create_doc,
    delete_account,
    delete_doc,
    delete_number,
    normalise_number,
    number_entry,
    render_account,
    render_number,
    search_callflows,
    update_account,
    update_doc,
    update_number,
)

__all__ = ["build_app"]

logger = logging.getLogger("audian_async.testing")

BODY_METHODS = frozenset({"PUT", "POST", "PATCH"})

API_AUTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["api_key"],
    "additionalProperties": False,
    "properties": {
        "api_key": {"type": "string", "minLength": 64, "maxLength": 64, "x-secret": True}
    },
}


def _deleted(call: Call, data: dict[str, Any], revision: str) -> Result:
    if call.core.config.delete_returns_204:
        return Result(status=204, empty=True)
    return Result(data, revision=revision)


def _required_query(call: Call, name: str, allowed: list[str] | None = None) -> str:
    values = dict(call.query)
    if not values.get(name):
        raise validation_error({name: {"required": {"message": "Field is required but missing"}}})
    value = values[name]
    if allowed is not None and value not in allowed:
        raise validation_error(
            {
                name: {
                    "enum": {
                        "message": "Value not found in enumerated list of values",
                        "target": allowed,
                        "value": value,
                    }
                }
            }
        )
    return value


# -- auth -------------------------------------------------------------------------------------


def api_auth(call: Call) -> Result:
    """``PUT /v2/api_auth``: exchange an API key for a token."""
    errors = Validator(API_AUTH_SCHEMA).validate(call.data, API_AUTH_SCHEMA)
    if errors:
        raise validation_error(errors)
    store = call.core.store
    key = call.data["api_key"]
    account_id = store.api_keys.get(key)
    if account_id is None or account_id not in store.accounts:
        raise ApiError(404, "bad_identifier", {"message": "bad identifier"})
    owner_id = store.key_owners[key]
    config = call.core.config
    call.meta.auth_token = call.core.tokens.mint(
        account_id, owner_id, "cb_api_auth", config.token_lifetime
    )
    data: dict[str, Any] = {
        "account_id": account_id,
        "owner_id": owner_id,
        "account_name": store.accounts[account_id].data.get("name"),
        "language": "en-us",
        "is_reseller": False,
        "reseller_id": store.root_of(account_id),
        "apps": [],
    }
    return Result(data, status=201)


# -- accounts ---------------------------------------------------------------------------------


def get_account(call: Call) -> Result:
    """``GET /v2/accounts/{id}``."""
    return Result(render_account(call.account), revision=call.account.revision)


def replace_account(call: Call) -> Result:
    """``POST /v2/accounts/{id}``."""
    doc = update_account(call.core.store, call.core.clock, call.account, call.data, "replace")
    announce(call, "edited", doc)
    return Result(render_account(doc), revision=doc.revision)


def patch_account(call: Call) -> Result:
    """``PATCH /v2/accounts/{id}``."""
    doc = update_account(call.core.store, call.core.clock, call.account, call.data, "patch")
    announce(call, "edited", doc)
    return Result(render_account(doc), revision=doc.revision)


def remove_account(call: Call) -> Result:
    """``DELETE /v2/accounts/{id}`` (400 ``account_has_descendants`` while it has children)."""
    doc = call.account
    data = delete_account(call.core.store, call.core.clock, doc, call.core.master_account_id)
    announce(call, "deleted", doc)
    return _deleted(call, data, doc.revision)


def list_children(call: Call) -> Result:
    """``GET /v2/accounts/{id}/accounts``: direct children."""
    kids = call.core.store.children(call.account.id)
    return page_of(call, doc_rows(kids, _account_summary, render_account))


def create_child(call: Call) -> Result:
    """``PUT /v2/accounts/{id}/accounts``: a new child account."""
    doc = create_account(call.core.store, call.core.config, call.account.id, call.data)
    announce(call, "created", doc)
    return Result(render_account(doc), status=201, revision=doc.revision)


def list_descendants(call: Call) -> Result:
    """``GET /v2/accounts/{id}/descendants``: every level below."""
    found = call.core.store.descendants(call.account.id)
    return page_of(call, doc_rows(found, _account_summary, render_account))


def list_parents(call: Call) -> Result:
    """``GET /v2/accounts/{id}/parents``: the ancestors, root first (empty for a root)."""
    store = call.core.store
    ancestors = [a for a in reversed(store.ancestors(call.account.id)) if a in store.accounts]
    return Result([{"id": a, "name": store.accounts[a].data.get("name")} for a in ancestors])


def create_flat(call: Call) -> Result:
    """``POST /v2/accounts``: flat body, flat 201 response; child of the token's account."""
    assert call.claims is not None
    parent_id = call.claims.account_id
    if parent_id not in call.core.store.accounts:
        raise ApiError(404, "bad_identifier", {"message": f"invalid account_id '{parent_id}'"})
    doc = create_flat_account(call.core.store, call.core.config, parent_id, call.body)
    announce(call, "created", doc)
    return Result(render_flat(doc), status=201, flat=True)


def _account_summary(doc: Doc) -> dict[str, Any]:
    assert ACCOUNT.summary is not None
    return ACCOUNT.summary(doc)


# -- users, devices, callflows ----------------------------------------------------------------


def _collection_handlers(kind: Kind) -> tuple[dict[str, Handler], dict[str, Handler]]:
    summary = kind.summary or (lambda d: d.render())

    def find(call: Call) -> Doc:
        doc_id = call.params["doc_id"]
        doc = call.core.store.get(kind.name, call.account.id, doc_id)
        if doc is None:
            raise bad_identifier(doc_id)
        return doc

    def list_docs(call: Call) -> Result:
        docs = call.core.store.of_account(kind.name, call.account.id)
        return page_of(call, doc_rows(docs, summary, Doc.render))

    def create(call: Call) -> Result:
        check_charges(call, kind.collection)
        doc = create_doc(call.core.store, kind, call.account.id, call.data)
        announce(call, "created", doc)
        return Result(doc.render(), status=201, revision=doc.revision)

    def get(call: Call) -> Result:
        doc = find(call)
        return Result(doc.render(), revision=doc.revision)

    def replace(call: Call) -> Result:
        doc = update_doc(call.core.store, call.core.clock, kind, find(call), call.data, "replace")
        announce(call, "edited", doc)
        return Result(doc.render(), revision=doc.revision)

    def patch(call: Call) -> Result:
        doc = update_doc(call.core.store, call.core.clock, kind, find(call), call.data, "patch")
        announce(call, "edited", doc)
        return Result(doc.render(), revision=doc.revision)

    def delete(call: Call) -> Result:
        doc = find(call)
        data = delete_doc(call.core.store, call.core.clock, doc)
        announce(call, "deleted", doc)
        return _deleted(call, data, doc.revision)

    return (
        {"GET": list_docs, "PUT": create},
        {"GET": get, "POST": replace, "PATCH": patch, "DELETE": delete},
    )


def search(call: Call) -> Result:
    """``GET /v2/accounts/{id}/search?t=callflow&q=number|name|name_and_number&v=...`` (prefix match)."""
    _required_query(call, "t", ["callflow"])
    query = _required_query(call, "q", ["number", "name", "name_and_number"])
    value = _required_query(call, "v")
    found = search_callflows(call.core.store, call.account.id, query, value)
    summary = KINDS["callflows"].summary or Doc.render
    return page_of(call, doc_rows(found, summary, Doc.render))


# -- phone numbers ----------------------------------------------------------------------------


def _number(call: Call) -> str:
    raw = call.params["number"]
    number = normalise_number(raw)
    if number is None:
        raise ApiError(404, "bad_identifier", {"message": "bad identifier", "cause": raw})
    return number


def _owned_number(call: Call) -> Doc:
    number = _number(call)
    doc = call.core.store.numbers.get(number)
    if doc is None or doc.account_id != call.account.id:
        raise ApiError(404, "bad_identifier", {"message": "bad identifier", "cause": number})
    return doc


def list_numbers(call: Call) -> Result:
    """``GET /v2/accounts/{id}/phone_numbers``: an object keyed by number."""
    store = call.core.store
    rows = [
        Row(
            key=d.id,
            doc=render_number(d),
            created=d.created,
            modified=d.modified,
            item=(d.id, number_entry(store, d)),
        )
        for d in store.numbers_of(call.account.id)
    ]
    result = page_of(call, rows)
    numbers = dict(result.data)
    result.data = (
        {"cascade_quantity": 0, "numbers": numbers}
        if call.core.config.phone_numbers_nested
        else numbers
    )
    return result


def get_number(call: Call) -> Result:
    """``GET /v2/accounts/{id}/phone_numbers/{number}``."""
    doc = _owned_number(call)
    return Result(render_number(doc), revision=doc.revision)


def put_number(call: Call) -> Result:
    """``PUT /v2/accounts/{id}/phone_numbers/{number}``: add a number (409 ``number_exists``)."""
    check_charges(call, "phone_numbers")
    doc = add_number(call.core.store, call.account.id, _number(call), call.data)
    return Result(render_number(doc), status=201, revision=doc.revision)


def replace_number(call: Call) -> Result:
    """``POST /v2/accounts/{id}/phone_numbers/{number}``."""
    doc = update_number(call.core.store, call.core.clock, _owned_number(call), call.data, "replace")
    return Result(render_number(doc), revision=doc.revision)


def patch_number(call: Call) -> Result:
    """``PATCH /v2/accounts/{id}/phone_numbers/{number}``."""
    doc = update_number(call.core.store, call.core.clock, _owned_number(call), call.data, "patch")
    return Result(render_number(doc), revision=doc.revision)


def remove_number(call: Call) -> Result:
    """``DELETE /v2/accounts/{id}/phone_numbers/{number}``."""
    doc = _owned_number(call)
    data = delete_number(call.core.store, call.core.clock, doc)
    return _deleted(call, data, doc.revision)


def find_numbers(call: Call) -> Result:
    """``GET /v2/phone_numbers?prefix=415&quantity=5``: available numbers (``city``/``state``
    ignored). Kazoo's ``find_numbers`` rules: ``prefix`` 3 to 10 characters, ``quantity`` at
    least 1; a prefix no carrier has (not digits) finds nothing."""
    prefix = _required_query(call, "prefix")
    if not 3 <= len(prefix) <= 10:
        rule = "minLength" if len(prefix) < 3 else "maxLength"
        limit = 3 if rule == "minLength" else 10
        word = "at least" if rule == "minLength" else "not more than"
        raise validation_error(
            {
                "prefix": {
                    rule: {
                        "message": f"String must be {word} {limit} characters",
                        "target": limit,
                        "value": prefix,
                    }
                }
            }
        )
    raw_quantity = dict(call.query).get("quantity", "1")
    try:
        quantity = int(raw_quantity)
    except ValueError:
        quantity = 0
    if quantity < 1:
        raise validation_error(
            {
                "quantity": {
                    "minimum": {"message": "Value must be at least 1", "value": raw_quantity}
                }
            }
        )
    if not prefix.lstrip("+").isdigit():
        return Result([])
    # the simulated carrier offers at most MAX_OFFERED numbers per search
    return Result(available_numbers(call.core.store, prefix, min(quantity, MAX_OFFERED)))


#: Most numbers the simulated carrier offers in one search.
MAX_OFFERED = 100


def websocket_bindings(call: Call) -> Result:
    """``GET /v2/websockets``: the event socket's binding templates by module (no token needed,
    as Kazoo's ``cb_websockets``)."""
    return Result(available_bindings())


# -- the route table --------------------------------------------------------------------------


def endpoints() -> list[Endpoint]:
    """Every ``/v2`` endpoint."""
    table = [
        Endpoint("/api_auth", {"PUT": api_auth}, public=True),
        Endpoint("/accounts", {"POST": create_flat}, flat=True),
        Endpoint(
            "/accounts/{account_id}",
            {
                "GET": get_account,
                "POST": replace_account,
                "PATCH": patch_account,
                "DELETE": remove_account,
            },
        ),
        Endpoint("/accounts/{account_id}/accounts", {"GET": list_children, "PUT": create_child}),
        Endpoint("/accounts/{account_id}/descendants", {"GET": list_descendants}),
        Endpoint("/accounts/{account_id}/parents", {"GET": list_parents}),
        Endpoint("/accounts/{account_id}/search", {"GET": search}),
        Endpoint("/accounts/{account_id}/phone_numbers", {"GET": list_numbers}),
        Endpoint(
            "/accounts/{account_id}/phone_numbers/{number}",
            {
                "GET": get_number,
                "PUT": put_number,
                "POST": replace_number,
                "PATCH": patch_number,
                "DELETE": remove_number,
            },
        ),
        Endpoint("/phone_numbers", {"GET": find_numbers}),
        Endpoint("/websockets", {"GET": websocket_bindings}, public=True),
    ]

    # The families' own routes first: literal segments (``/cdrs/summary``) before ``{doc_id}``.
    table.extend(family_endpoints())
    for collection, kind in {**KINDS, **family_kinds()}.items():
        listing, single = _collection_handlers(kind)
        table.append(Endpoint(f"/accounts/{{account_id}}/{collection}", listing))
        table.append(Endpoint(f"/accounts/{{account_id}}/{collection}/{{doc_id}}", single))
    return table


# -- the pipeline -----------------------------------------------------------------------------


def _token(request: Request) -> str | None:
    token = request.headers.get("x-auth-token")
    if token:
        return token.strip()
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _read_form(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    try:
        return parse_form(request.headers.get("content-type", ""), await request.body())
    except ValueError as exc:
        raise validation_error(
            {"multipart": {"invalid": {"message": str(exc), "target": "body"}}}
        ) from None


async def _read_body(request: Request, flat: bool) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {} if not flat else None
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        if flat:
            raise FlatError(
                400, "INVALID_REQUEST", "Request body is not valid JSON", {"field": "body"}
            ) from None
        detail = (
            f"{exc.msg} around {exc.pos}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        )
        raise validation_error(
            {"json": {"invalid": {"message": detail, "target": "body"}}}
        ) from None
    if flat:
        return parsed
    if not isinstance(parsed, dict):
        raise validation_error(
            {
                "json": {
                    "invalid": {"message": "request body must be a JSON object", "target": "body"}
                }
            }
        )
    request.state.accept_charges = parsed.get("accept_charges") is True
    data = parsed.get("data", {})
    if not isinstance(data, dict):
        raise validation_error(
            {
                "data": {
                    "type": {"message": "Value did not match type(s): object", "target": "object"}
                }
            }
        )
    return data


def _check_account(core: Core, claims: Claims, account_id: str) -> None:
    store = core.store
    if account_id not in store.accounts:
        raise ApiError(404, "bad_identifier", {"message": f"invalid account_id '{account_id}'"})
    if not store.is_within(account_id, claims.account_id):
        raise ApiError(
            403, "forbidden", {"message": "forbidden", "cause": "account is not a descendant"}
        )


async def _serve(core: Core, endpoint: Endpoint, request: Request) -> Response:
    method = "GET" if request.method == "HEAD" else request.method
    handler = endpoint.handlers[method]
    meta = core.meta(request.headers.get("x-request-id"))
    token = _token(request)
    claims = core.tokens.verify(token) if token else None
    meta.auth_token = token
    cost = core.config.auth_token_cost if endpoint.public else core.config.request_cost
    # Kazoo keys a bucket by the account named in the URL (client ip / account id): a
    # reseller's token acting on its sub-accounts spends each sub-account's bucket.
    account = request.path_params.get("account_id") or (claims.account_id if claims else "")
    taken = core.buckets.consume((str(account), _client_ip(request)), cost, until=endpoint.public)
    meta.consumed, meta.remaining = cost, taken.remaining
    try:
        if not taken.allowed:
            headers = {}
            if core.config.send_retry_after and math.isfinite(taken.retry_after):
                headers["Retry-After"] = str(max(1, math.ceil(taken.retry_after)))
            raise ApiError(429, "too_many_requests", {"message": "too many requests"}, headers)
        if not endpoint.public:
            if token is None:
                raise ApiError(401, "invalid_credentials", {"message": "invalid credentials"})
            if claims is None:
                raise ApiError(401, "invalid credentials", {})
        files: dict[str, Upload] = {}
        if method not in BODY_METHODS:
            body = None
        elif request.headers.get("content-type", "").startswith("multipart/form-data"):
            body, files = await _read_form(request)
        else:
            body = await _read_body(request, endpoint.flat)
        call = Call(
            core=core,
            method=method,
            params={k: str(v) for k, v in request.path_params.items()},
            query=list(request.query_params.multi_items()),
            claims=claims,
            body=body,
            meta=meta,
            files=files,
            accept_charges=getattr(request.state, "accept_charges", False),
        )
        with core.store.lock:
            if "account_id" in call.params and claims is not None:
                _check_account(core, claims, call.params["account_id"])
            result = handler(call)
    except ApiError as err:
        if endpoint.flat:
            return json_response(err.status, flat_error(err).body(), meta.request_id, err.headers)
        body_out = error_body(meta, err.status, err.message, err.data)
        return json_response(err.status, body_out, meta.request_id, err.headers)
    except FlatError as err:
        return json_response(err.status, err.body(), meta.request_id)
    except Exception as exc:
        logger.exception("simulator handler failed")
        if endpoint.flat:
            failure = FlatError(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
            return json_response(500, failure.body(), meta.request_id)
        body_out = error_body(
            meta, 500, "internal_server_error", {"message": f"{type(exc).__name__}: {exc}"}
        )
        return json_response(500, body_out, meta.request_id)
    if result.empty:
        return json_response(result.status, None, meta.request_id)
    if result.raw is not None:
        return Response(
            result.raw,
            status_code=result.status,
            headers={"X-Request-ID": meta.request_id},
            media_type=result.media_type,
        )
    if result.flat:
        return json_response(result.status, result.data, meta.request_id)
    body_out = success_body(meta, result.data, result.revision, result.paging)
    return json_response(result.status, body_out, meta.request_id)


def _route_endpoint(core: Core, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        return await _serve(core, endpoint, request)

    return run


def _http_error_handler(core: Core) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        meta = core.meta(request.headers.get("x-request-id"))
        meta.auth_token = _token(request)
        meta.remaining = core.buckets.peek(("", _client_ip(request)))
        if status == 405:
            message, data = "invalid_method", {"message": "invalid method"}
        elif status == 404:
            message, data = "faulty_request", {"message": "unknown path"}
        else:
            message, data = "error", {"message": str(exc)}
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
        return json_response(
            status, error_body(meta, status, message, data), meta.request_id, headers
        )

    return handle


def build_app(core: Core) -> ASGIApp:
    """The ``/v2`` ASGI application."""
    routes = [
        Route(ep.path, _route_endpoint(core, ep), methods=list(ep.handlers)) for ep in endpoints()
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error_handler(core)})
    app.router.redirect_slashes = False
    return app
