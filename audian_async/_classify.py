"""Turning an answer into a result or an error: the one place that decides.

Every answer the engine returns ends here: a JSON call's (:func:`result`), a listing page's
rows (:func:`listing_items`), a write checked for ignored fields (:func:`read_result`), a
download's status and broken body (:func:`broken_body`), a credential exchange's
(:func:`exchange_body`), and the error statuses of all of them (:func:`build_status_error`,
also used by the credential strategies and the event stream). A typed call never returns
``None`` for a missing document and never lets a foreign exception out: an answer that
cannot be the promised result raises :class:`~audian_async.APIResponseValidationError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from . import _json
from ._errors import (
    STATUS_CLASSES,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ChargesRequiredError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RouteNotFoundError,
)
from ._redact import credential_values, redact, request_body_secrets, scrub
from ._request_info import RequestInfo, ResponseInfo, shown_path

if TYPE_CHECKING:
    from ._engine import Answer, Call, Engine
    from ._operation import Operation
    from ._response import APIResponse
    from ._transport import TransportError

__all__ = [
    "Undecodable",
    "add_hint",
    "broken_body",
    "build_status_error",
    "decode_body",
    "describe_error_body",
    "exchange_body",
    "is_unknown_route",
    "listing_items",
    "read_result",
    "reports_failure",
    "request_info",
    "result",
    "secrets_of",
    "status_error_class",
]


# -- decoding ------------------------------------------------------------------------------


class Undecodable:
    """Marks a body that claimed to be JSON but could not be decoded."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<undecodable: {self.reason}>"


def decode_body(content: bytes, headers: Mapping[str, str]) -> Any:
    """The decoded body: JSON, text, ``None`` when empty, or an :class:`Undecodable`."""
    if not content:
        return None
    if content[0] in _JSON_STARTS:  # a JSON object or array: no need to read the headers
        ctype = None
    else:
        ctype = headers.get("content-type", "")
        if "json" not in ctype:
            return content.decode("utf-8", "replace")
    try:
        return _json.loads(content)
    except RecursionError:
        return Undecodable("JSON nested too deeply")
    except ValueError as exc:
        if ctype is None:
            ctype = headers.get("content-type", "")
        if "json" in ctype:
            if "recursion" in str(exc).lower() or "depth" in str(exc).lower():
                return Undecodable("JSON nested too deeply")
            return Undecodable(f"invalid JSON: {str(exc)[:80]}")
    return content.decode("utf-8", "replace")


_JSON_STARTS = frozenset(b"{[")


# -- error statuses ------------------------------------------------------------------------


def status_error_class(status: int) -> type[APIStatusError]:
    """Return the exception class for an HTTP error status (any integer status is accepted)."""
    if status >= 500:
        return InternalServerError
    return STATUS_CLASSES.get(status, APIStatusError)


def _first_str(*candidates: Any) -> str | None:
    for c in candidates:
        if isinstance(c, str) and c:
            return c
    return None


def describe_error_body(body: Any) -> tuple[str | None, str | None, Any]:
    """Pull ``(error code, human message, details)`` out of any error body shape we know.

    Shapes handled: Kazoo (``{"error": "400", "message": "validation error", "data": {...}}``),
    nested (``{"error": {"code", "message", "details"|"param"}}``), Astradial / Express
    (``{"error": "...", "message"|"details": "...", "required_fields"|"skipped": [...]}``),
    ``{"status": "error", "message": ...}`` and plain text.
    """
    if isinstance(body, str):
        text = body.strip()
        return None, (text[:500] or None), None
    if not isinstance(body, Mapping):
        return None, None, None
    err = body.get("error")
    if isinstance(err, Mapping):
        nested = err.get("details", err.get("param"))
        return _first_str(err.get("code"), err.get("type")), _first_str(err.get("message")), nested
    details: Any
    data = body.get("data")
    if body.get("status") == "error" and isinstance(err, str) and err.isdigit():
        # Kazoo envelope: `error` is the HTTP status, `message` the short code.
        code = _first_str(body.get("message"))
        human: str | None = None
        details = None
        if isinstance(data, Mapping):
            human = _first_str(data.get("message"))
            if human is None and data:
                details = data
        elif isinstance(data, str):
            human = data
        elif isinstance(data, list) and data:
            details = data
        return code, human or code, details
    extra = {
        k: body[k]
        for k in (
            "details",
            "required_fields",
            "required",
            "skipped",
            "valid_types",
            "current",
            "limit",
        )
        if k in body
    }
    code = _first_str(err) if isinstance(err, str) else None
    human = _first_str(
        body.get("message"), body.get("details") if isinstance(body.get("details"), str) else None
    )
    return code, human or code, (extra or None)


def build_status_error(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str],
    method: str,
    url: str,
    retries_taken: int = 0,
    auth_failure: bool = False,
    request: RequestInfo | None = None,
    response: ResponseInfo | None = None,
    now: float | None = None,
    path: str | None = None,
) -> APIStatusError:
    """Build the typed exception for an error response (body already decoded, or raw text).

    ``url`` is the operation's path template (the exception's ``url``); the message shows
    ``path``, the path actually requested with its ids, when given.

    ``request`` and ``response`` describe the exchange (credentials masked); without them
    they are built from ``method``, ``url``, ``status`` and ``headers``. ``now`` (Unix time,
    default the system clock) is what an HTTP-date ``Retry-After`` is measured from.
    """
    safe_body = redact(body)
    code, human, details = describe_error_body(safe_body)
    request_id = None
    if isinstance(body, Mapping):
        rid = body.get("request_id")
        request_id = rid if isinstance(rid, str) else None
    request_id = request_id or headers.get("x-request-id")
    cls = AuthenticationError if auth_failure else status_error_class(status)
    if status == 402 and not auth_failure:
        cls = ChargesRequiredError if code == "accept charges" else PaymentRequiredError
    if cls is NotFoundError and is_unknown_route(body):
        cls = RouteNotFoundError
    parts = [f"{status}"]
    if code and code != human:
        parts.append(code)
    msg = " ".join(parts)
    if human:
        msg += f": {human}"
    if isinstance(details, Mapping):
        fields = []
        for field, rules in details.items():
            if isinstance(rules, Mapping):
                for rule, info in rules.items():
                    text = info.get("message") if isinstance(info, Mapping) else None
                    fields.append(f"{field} ({rule}{': ' + str(text) if text else ''})")
        if fields:
            msg += "; " + "; ".join(fields[:10])
    listed = _listed_values(details)
    if listed:
        msg += f"; valid values: {listed}"
    msg += f" [{method} {path or url}"
    if request_id:
        msg += f", request_id={request_id}"
    msg += "]"
    exc = cls(
        msg,
        status_code=status,
        request_id=request_id,
        error=code,
        server_message=human,
        details=details,
        body=safe_body,
        headers=headers,
        method=method,
        url=url,
        retries_taken=retries_taken,
        request=request,
        response=response,
    )
    if isinstance(exc, RateLimitError):
        from ._policy import parse_retry_after

        exc.retry_after = parse_retry_after(headers, now=now)
    return exc


def _listed_values(details: Any) -> str | None:
    """The valid values an error body lists (Astradial ``valid_types``), joined for a message."""
    if not isinstance(details, Mapping):
        return None
    for key in ("valid_types", "valid_values", "allowed_values"):
        values = details.get(key)
        if isinstance(values, list) and values:
            return ", ".join(str(v) for v in values[:20])
    return None


def add_hint(exc: APIError, hint: str) -> None:
    """Append ``hint`` to ``exc``'s message, before its ``[METHOD /path ...]`` tail."""
    message = exc.message
    tail = message.rfind(" [")
    message = f"{message[:tail]}; {hint}{message[tail:]}" if tail >= 0 else f"{message}; {hint}"
    exc.message = message
    exc.args = (message,)


def is_unknown_route(body: Any) -> bool:
    """Whether a 404 body is an Express-style unknown-route answer (not a missing record).

    The body may still be JSON text (an error answer to a streamed download).
    """
    if isinstance(body, str) and body.lstrip().startswith("{"):
        import json

        try:
            body = json.loads(body)
        except ValueError:
            return False
    if not isinstance(body, Mapping):
        return False
    message = body.get("message")
    return (
        body.get("error") == "Not Found"
        and isinstance(message, str)
        and message.startswith("Endpoint ")
        and message.endswith(" not found")
    )


# -- results -------------------------------------------------------------------------------


def result(
    engine: Engine,
    op: Operation[Any],
    answer: Answer,
    *,
    raw: bool,
    structure: bool,
    call: Call | None = None,
) -> Any:
    """Classify a final answer: the typed result (an :class:`APIResponse` with ``raw``; the
    decoded data unstructured with ``structure=False``), or the error it stands for."""
    status = answer.status
    decoded = answer.body
    if status >= 400:
        raise _status_error(engine, op, answer, call)
    if status >= 300:
        raise _answer_invalid(op, answer, f"a redirect ({status}) where the API answers itself")
    if isinstance(decoded, Undecodable):
        raise _answer_invalid(op, answer, decoded.reason)
    if op.error_in_body and reports_failure(decoded):
        # Documented for Astradial call control: a failure answered with a 2xx status.
        request = request_info(engine, call) if call is not None else None
        response = _response_info(engine, answer, request, call)
        raise build_status_error(
            status,
            scrub(decoded, secrets_of(engine, call)),
            headers=response.headers,
            method=op.method,
            url=op.path,
            retries_taken=answer.retries,
            request=request,
            response=response,
            path=_shown_path(engine, call),
        )
    enveloped = op.envelope == "kazoo" and type(decoded) is dict and "data" in decoded
    data = decoded["data"] if enveloped else decoded
    value = data
    if structure and op.response is None:
        value = None
    elif op.response is not None:
        if data is None and op.empty_ok and (decoded is None or enveloped):
            value = None
        elif data is None:
            what = "an empty body" if decoded is None else "no data"
            raise _answer_invalid(
                op, answer, f"{what} where {_type_name(op.response)} was promised"
            )
        elif structure:
            try:
                value = (_structure or _load_structure())(data, op.response)
            except Exception as exc:  # cattrs / attrs / RecursionError: all one answer
                raise _answer_invalid(
                    op, answer, f"could not read it as {_type_name(op.response)}: {exc}"
                ) from exc
    if raw:
        from ._response import APIResponse

        envelope = (
            {k: v for k, v in decoded.items() if k not in ("data", "auth_token")}
            if enveloped
            else {}
        )
        return APIResponse(
            value,
            status,
            answer.headers,
            envelope,
            answer.raw,
            answer.retries,
            engine.clock.now() - answer.started,
            None if call is None else partial(request_info, engine, call),
        )
    return value


def read_result(op: Operation[Any], response: APIResponse[Any]) -> Any:
    """The typed result of an answer already classified as data (``structure=False``):
    ``None`` for no data, else the data read as ``op.response``."""
    data = response.parsed
    if op.response is None or data is None:
        return None
    try:
        return (_structure or _load_structure())(data, op.response)
    except Exception as exc:  # like result(): a shape we cannot read is the server's
        raise _invalid(
            op,
            response.status_code,
            response.request_id,
            "the answer",
            "be the promised result",
            f"could not read it as {_type_name(op.response)}: {exc}",
            request=response.request,
        ) from exc


def listing_items(
    op: Operation[Any], item_type: Any, data: Any, response: APIResponse[Any]
) -> list[Any]:
    """One listing page's rows read as ``item_type``; an answer that is not a list of items
    raises (a keyed listing, ``{id: {...}}``, gives each item its key under ``op.item_key``)."""
    key = op.item_key
    if key is not None and isinstance(data, Mapping):
        nested = data.get("numbers")
        if isinstance(nested, Mapping):  # Kazoo nests keyed listings under `numbers`
            data = nested
        if not all(isinstance(v, Mapping) for v in data.values()):
            raise listing_invalid(op, response, "an item of the keyed listing is not an object")
        data = [{**v, key: k} for k, v in data.items()]
    if not isinstance(data, list):
        what = "nothing" if data is None else type(data).__name__
        raise listing_invalid(op, response, f"expected a list of items, got {what}")
    structure = _structure or _load_structure()
    try:
        return [structure(row, item_type) for row in data]
    except Exception as exc:  # cattrs / attrs / a row that is not an object
        raise listing_invalid(op, response, f"an item cannot be read: {exc}") from exc


def listing_invalid(
    op: Operation[Any], response: APIResponse[Any], why: str
) -> APIResponseValidationError:
    """The error of a listing page that cannot be a listing (``why`` says how)."""
    return _invalid(
        op,
        response.status_code,
        response.request_id,
        "the page",
        "be a listing",
        why,
        request=response.request,
    )


def exchange_body(answer: Answer, method: str, path: str) -> Any:
    """A credential exchange's decoded body (its status is the strategy's to judge).

    Raises:
        APIResponseValidationError: the body claimed to be JSON and is not.
    """
    if isinstance(answer.body, Undecodable):
        raise APIResponseValidationError(
            f"{method} {path}: {answer.body.reason}",
            status_code=answer.status,
            method=method,
            url=path,
            request_id=answer.headers.get("x-request-id"),
        )
    return answer.body


def broken_body(
    engine: Engine, op: Operation[Any], call: Call, exc: TransportError
) -> APIConnectionError:
    """The error of a download whose body broke off once handed out (never retried)."""
    error = APITimeoutError if exc.timeout else APIConnectionError
    return error(
        f"{op.method} {_shown_path(engine, call)}: {exc}",
        method=op.method,
        url=op.path,
        request=request_info(engine, call),
    )


def request_info(engine: Engine, call: Call) -> RequestInfo:
    """What an exception shows of ``call`` (credentials masked, known secrets scrubbed)."""
    return RequestInfo(call.method, call.url, call.headers, secrets=secrets_of(engine, call))


def name_request(engine: Engine, call: Call, exc: APIError) -> None:
    """Name the request ``exc`` was raised for, unless it already names one."""
    if exc.request is None:
        exc.request = request_info(engine, call)


def _invalid(
    op: Operation[Any],
    status: int,
    request_id: str | None,
    what: str,
    promised: str,
    why: str,
    request: RequestInfo | None = None,
) -> APIResponseValidationError:
    return APIResponseValidationError(
        f"{op.id}: {what} ({status}) cannot {promised}: {why}"
        + (f" [request_id={request_id}]" if request_id else ""),
        status_code=status,
        method=op.method,
        url=op.path,
        request_id=request_id,
        request=request,
    )


def _answer_invalid(op: Operation[Any], answer: Answer, why: str) -> APIResponseValidationError:
    body = answer.body
    rid = body.get("request_id") if type(body) is dict else None
    request_id = rid if isinstance(rid, str) else answer.headers.get("x-request-id")
    return _invalid(op, answer.status, request_id, "the answer", "be the promised result", why)


def _status_error(
    engine: Engine, op: Operation[Any], answer: Answer, call: Call | None
) -> APIStatusError:
    body = answer.body
    if isinstance(body, Undecodable) or (body is None and answer.content):
        body = answer.content.decode("utf-8", "replace")
    secrets = secrets_of(engine, call)
    if isinstance(body, Mapping | list | str):
        body = scrub(body, secrets)
    request = request_info(engine, call) if call is not None else None
    response = _response_info(engine, answer, request, call)
    exc = build_status_error(
        answer.status,
        body,
        headers=response.headers,
        method=op.method,
        url=op.path,
        retries_taken=answer.retries,
        auth_failure=answer.status == 401 and answer.auth_used,
        request=request,
        response=response,
        now=engine.clock.wall(),
        path=_shown_path(engine, call),
    )
    if answer.status in (400, 422) and op.body_schema is not None:
        _name_spec_values(exc, op)
    return exc


def secrets_of(engine: Engine, call: Call | None = None) -> tuple[str, ...]:
    """Every secret an error about ``call`` must not show (on the error path only).

    The client's own (API key, password), the live credentials (the token or JWT held
    now, the one ``call`` was sent with, those a 401 retired lately), and every secret
    value the request body carried (passwords, SIP secrets, PINs: the spec's ``x-secret``
    fields).
    """
    auth = engine.authenticator
    found: list[str] = []
    if auth is not None:
        found.extend(auth.strategy.secrets())
        if auth.current is not None:
            found.extend(credential_values(auth.current.headers))
        for retired in engine.retired:
            found.extend(credential_values(retired.headers))
    if call is not None:
        found.extend(credential_values(call.headers))
        if call.content:
            found.extend(request_body_secrets(call.content))
    return tuple(found)


def _shown_path(engine: Engine, call: Call | None) -> str | None:
    """The path ``call`` went to, with its ids (secrets scrubbed), for messages."""
    if call is None:
        return None
    path = shown_path(call.url, call.path)
    return scrub(path, secrets_of(engine)) if engine.authenticator is not None else path


def _response_info(
    engine: Engine, answer: Answer, request: RequestInfo | None, call: Call | None = None
) -> ResponseInfo:
    """What an exception shows of ``answer`` (credential headers masked)."""
    return ResponseInfo(
        answer.status, answer.headers, request=request, secrets=secrets_of(engine, call)
    )


_INVALID_FIELD = re.compile(r"\binvalid\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _name_spec_values(exc: APIStatusError, op: Operation[Any]) -> None:
    """``Invalid routing_type`` with no values listed: name those the spec knows (the server
    judged the value; the SDK never refuses an open enum's other values itself)."""
    said = exc.server_message or exc.error or ""
    match = _INVALID_FIELD.search(said)
    if match is None or "valid values" in exc.message or op.body_schema is None:
        return
    from ._validate import spec_values

    values = spec_values(op.body_schema["schema"], op.body_schema["registry"], match.group(1))
    if values:
        add_hint(exc, f"valid values (spec): {', '.join(str(v) for v in values)}")


def _type_name(tp: Any) -> str:
    return str(getattr(tp, "__name__", tp))


#: The keys of a bare error body (``{"error": ..., "message": ...}``).
_ERROR_KEYS = frozenset({"error", "message", "details"})


def reports_failure(body: Any) -> bool:
    """A body that says the call failed: ``{"status": "error"}``, ``{"success": false}``, or a
    bare ``{"error": ...}`` (the open-source Astradial server answers some misses 200)."""
    return isinstance(body, Mapping) and (
        body.get("status") == "error"
        or body.get("success") is False
        or ("error" in body and body.keys() <= _ERROR_KEYS)
    )


# _convert (cattrs) is imported on the first typed result, not with the client.
_structure: Callable[[Any, Any], Any] | None = None


def _load_structure() -> Callable[[Any, Any], Any]:
    global _structure
    from ._convert import structure

    _structure = structure
    return structure
