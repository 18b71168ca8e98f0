"""The route table and the ``/api/v1`` ASGI application."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from .._core import Core
from .._envelope import dumps
from ._auth import authenticate, org_login, user_login
from ._calls import (
    call_history,
    call_stats,
    count_calls,
    journey,
    list_calls,
    live_calls,
    recording,
)
from ._control import click_to_call, hangup_channel, originate_to_ai, transfer
from ._dids import (
    create_did,
    delete_did,
    get_did,
    list_dids,
    release_did,
    request_did,
    set_did_routing,
    update_did,
)
from ._ivrs import (
    create_ivr,
    delete_ivr,
    generate_greeting,
    get_ivr,
    greeting_audio,
    list_ivrs,
    publish_ivr,
    replace_menu,
    update_ivr,
)
from ._queues import (
    add_member,
    create_queue,
    delete_queue,
    get_queue,
    list_members,
    list_queues,
    remove_member,
    remove_member_by_user,
    update_queue,
)
from ._state import AstradialState, Ctx, NoRoute, Reject, Reply, astradial_state, logger
from ._users import create_user, delete_user, get_user, list_users, sip_credentials, update_user

# -- routing ----------------------------------------------------------------------------------

Handler = Callable[[Ctx], Reply]

#: Every protected route: (path relative to ``/api/v1``, {method: handler}).
ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/calls/click-to-call", {"POST": click_to_call}),
    ("/calls/originate-to-ai", {"POST": originate_to_ai}),
    ("/calls", {"GET": list_calls}),
    ("/calls/live", {"GET": live_calls}),
    ("/calls/history", {"GET": call_history}),
    ("/calls/count", {"GET": count_calls}),
    ("/calls/stats", {"GET": call_stats}),
    ("/calls/transfer", {"POST": transfer}),
    ("/calls/hangup-channel", {"POST": hangup_channel}),
    ("/calls/{call_id}/recording", {"GET": recording}),
    ("/calls/{linked_id:path}/journey", {"GET": journey}),
    ("/users", {"GET": list_users, "POST": create_user}),
    ("/users/{user_id}", {"GET": get_user, "PUT": update_user, "DELETE": delete_user}),
    ("/users/{user_id}/sip-credentials", {"GET": sip_credentials}),
    ("/dids", {"GET": list_dids, "POST": create_did}),
    ("/dids/{did_id}", {"GET": get_did, "PUT": update_did, "DELETE": delete_did}),
    ("/dids/{did_id}/routing", {"PUT": set_did_routing}),
    ("/did-pool/{did_id}/request", {"POST": request_did}),
    ("/did-pool/{did_id}/release", {"POST": release_did}),
    ("/queues", {"GET": list_queues, "POST": create_queue}),
    ("/queues/{queue_id}", {"GET": get_queue, "PUT": update_queue, "DELETE": delete_queue}),
    (
        "/queues/{queue_id}/members",
        {"GET": list_members, "POST": add_member, "DELETE": remove_member_by_user},
    ),
    ("/queues/{queue_id}/members/{extension}", {"DELETE": remove_member}),
    ("/ivrs", {"GET": list_ivrs, "POST": create_ivr}),
    ("/ivrs/{ivr_id}", {"GET": get_ivr, "PUT": update_ivr, "DELETE": delete_ivr}),
    ("/ivrs/{ivr_id}/menu", {"PUT": replace_menu}),
    ("/ivrs/{ivr_id}/generate-greeting", {"POST": generate_greeting}),
    ("/ivrs/{ivr_id}/greeting-audio", {"GET": greeting_audio}),
    ("/ivrs/{ivr_id}/publish", {"POST": publish_ivr}),
]


def _json(status: int, body: Any) -> Response:
    if body is None:
        return Response(status_code=status)
    return Response(dumps(body), status_code=status, media_type="application/json")


def _not_found(request: Request) -> Response:
    path = request.url.path
    return _json(
        404,
        {
            "error": "Not Found",
            "message": f"Endpoint {request.method} {path} not found",
            "documentation": "/api",
        },
    )


async def _parse(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.method not in ("POST", "PUT") or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Reject(400, {"error": "Invalid JSON in request body"}) from None
    if not isinstance(parsed, dict):
        raise Reject(400, {"error": "Request body must be a JSON object"})
    return parsed


def _endpoint(
    core: Core, handlers: Mapping[str, Handler]
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = astradial_state(core)
        handler = handlers.get(request.method)
        if handler is None:
            return _not_found(request)
        try:
            body = await _parse(request)
            with state.lock:
                who = authenticate(state, request, query_token=handler is recording and state.oss)
                ctx = Ctx(
                    state=state,
                    method=request.method,
                    path=request.url.path,
                    params={k: str(v) for k, v in request.path_params.items()},
                    query=dict(request.query_params),
                    body=body,
                    who=who,
                )
                reply = handler(ctx)
        except Reject as err:
            return _json(err.status, err.body)
        except NoRoute:
            return _not_found(request)
        except Exception as exc:  # a simulator bug: say so like Express would
            logger.exception("astradial simulator handler failed")
            return _json(
                500, {"error": "Internal server error", "details": f"{type(exc).__name__}: {exc}"}
            )
        if reply.content is not None:
            return Response(reply.content, status_code=reply.status, media_type=reply.content_type)
        return _json(reply.status, reply.body)

    return run


def _login_endpoint(
    core: Core, login: Callable[[AstradialState, Mapping[str, Any]], Reply]
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = astradial_state(core)
        try:
            body = await _parse(request)
            with state.lock:
                reply = login(state, body)
        except Reject as err:
            return _json(err.status, err.body)
        return _json(reply.status, reply.body)

    return run


def build_app(core: Core) -> ASGIApp:
    """The ``/api/v1`` ASGI application."""
    routes = [
        Route("/auth/user-login", _login_endpoint(core, user_login), methods=["POST"]),
        Route("/auth/login", _login_endpoint(core, org_login), methods=["POST"]),
    ]
    for path, handlers in ROUTES:
        methods = sorted({*handlers, "GET", "POST", "PUT", "DELETE", "PATCH"})
        routes.append(Route(path, _endpoint(core, handlers), methods=methods))

    def unknown(request: Request, exc: Exception) -> Response:
        return _not_found(request)

    app = Starlette(routes=routes, exception_handlers={HTTPException: unknown})
    app.router.redirect_slashes = False
    return app
