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

from .._envelope import dumps
from .._sim_core import Core
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
    cancel_pool_request,
    create_did,
    delete_did,
    get_did,
    list_available,
    list_dids,
    my_pool_numbers,
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
from ._media import (
    create_greeting,
    delete_recording,
    health,
    list_greetings,
    list_music_classes,
    server_info,
    set_recording,
)
from ._org import (
    change_org_user_role,
    create_api_key,
    create_webhook,
    delete_org_user,
    delete_webhook,
    get_org_user,
    get_webhook,
    invite_org_user,
    list_api_keys,
    list_org_users,
    list_roles,
    list_webhooks,
    my_profile,
    revoke_api_key,
    update_api_key,
    update_org_user,
    update_webhook,
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
    set_music,
    update_queue,
)
from ._state import AstradialState, Ctx, NoRoute, Reject, Reply, astradial_state, logger
from ._trunks import (
    create_route,
    create_trunk,
    delete_route,
    delete_trunk,
    get_route,
    get_trunk,
    list_routes,
    list_trunks,
    update_route,
    update_trunk,
)
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
    (
        "/calls/{call_id}/recording",
        {"GET": recording, "POST": set_recording, "DELETE": delete_recording},
    ),
    ("/calls/{linked_id:path}/journey", {"GET": journey}),
    ("/users", {"GET": list_users, "POST": create_user}),
    ("/users/{user_id}", {"GET": get_user, "PUT": update_user, "DELETE": delete_user}),
    ("/users/{user_id}/sip-credentials", {"GET": sip_credentials}),
    ("/dids", {"GET": list_dids, "POST": create_did}),
    ("/dids/{did_id}", {"GET": get_did, "PUT": update_did, "DELETE": delete_did}),
    ("/dids/{did_id}/routing", {"PUT": set_did_routing}),
    ("/did-pool/available", {"GET": list_available}),
    ("/did-pool/my", {"GET": my_pool_numbers}),
    ("/did-pool/{did_id}/request", {"POST": request_did}),
    ("/did-pool/{did_id}/cancel-request", {"POST": cancel_pool_request}),
    ("/did-pool/{did_id}/release", {"POST": release_did}),
    ("/queues", {"GET": list_queues, "POST": create_queue}),
    ("/queues/{queue_id}", {"GET": get_queue, "PUT": update_queue, "DELETE": delete_queue}),
    (
        "/queues/{queue_id}/members",
        {"GET": list_members, "POST": add_member, "DELETE": remove_member_by_user},
    ),
    ("/queues/{queue_id}/members/{extension}", {"DELETE": remove_member}),
    ("/queues/{queue_id}/music", {"PUT": set_music}),
    ("/trunks", {"GET": list_trunks, "POST": create_trunk}),
    ("/trunks/{trunk_id}", {"GET": get_trunk, "PUT": update_trunk, "DELETE": delete_trunk}),
    ("/outbound-routes", {"GET": list_routes, "POST": create_route}),
    (
        "/outbound-routes/{route_id}",
        {"GET": get_route, "PUT": update_route, "DELETE": delete_route},
    ),
    ("/webhooks", {"GET": list_webhooks, "POST": create_webhook}),
    (
        "/webhooks/{webhook_id}",
        {"GET": get_webhook, "PUT": update_webhook, "DELETE": delete_webhook},
    ),
    ("/api-keys", {"GET": list_api_keys, "POST": create_api_key}),
    ("/api-keys/{key_id}", {"PUT": update_api_key, "DELETE": revoke_api_key}),
    ("/moh", {"GET": list_music_classes}),
    ("/greetings", {"GET": list_greetings, "POST": create_greeting}),
    ("/org-users", {"GET": list_org_users}),
    ("/org-users/invite", {"POST": invite_org_user}),
    ("/org-users/me/profile", {"GET": my_profile}),
    (
        "/org-users/{org_user_id}",
        {"GET": get_org_user, "PUT": update_org_user, "DELETE": delete_org_user},
    ),
    ("/org-users/{org_user_id}/role", {"PUT": change_org_user_role}),
    ("/roles", {"GET": list_roles}),
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
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _json(
        404,
        {
            "error": "Not Found",
            "message": f"Endpoint {url} not found",  # Express's req.originalUrl
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


def _open_endpoint(
    core: Core, answer: Callable[[AstradialState], Reply]
) -> Callable[[Request], Awaitable[Response]]:
    """A route that needs no credentials."""

    async def run(request: Request) -> Response:
        state = astradial_state(core)
        with state.lock:
            reply = answer(state)
        return _json(reply.status, reply.body)

    return run


def root_routes(core: Core) -> list[Route]:
    """Routes beside ``/api/v1``: the open-source server's ``GET /health``."""
    return [Route("/health", _open_endpoint(core, health), methods=["GET"])]


def build_app(core: Core) -> ASGIApp:
    """The ``/api/v1`` ASGI application."""
    routes = [
        Route("/auth/user-login", _login_endpoint(core, user_login), methods=["POST"]),
        Route("/auth/login", _login_endpoint(core, org_login), methods=["POST"]),
        Route("/server-info", _open_endpoint(core, server_info), methods=["GET"]),
    ]
    for path, handlers in ROUTES:
        methods = sorted({*handlers, "GET", "POST", "PUT", "DELETE", "PATCH"})
        routes.append(Route(path, _endpoint(core, handlers), methods=methods))

    def unknown(request: Request, exc: Exception) -> Response:
        return _not_found(request)

    app = Starlette(routes=routes, exception_handlers={HTTPException: unknown})
    app.router.redirect_slashes = False
    return app
