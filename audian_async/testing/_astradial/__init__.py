"""The Astradial router, mounted at ``/api/v1``: a stateful, in-memory AstraPBX.

Two flavours, switched by ``SimulatorConfig.astradial_oss_shapes`` (``--astradial-flavour``
on the command line):

* documented (default): the shapes of docs.astradial.com (``created_at``, ``{data, total,
  page, pages}`` call history, 422 for an invalid role, SIP credentials as ``{username,
  password, domain, port, transport}``, IVRs ...);
* open-source (``oss``): the open-source server as observed on the wire (reference sections
  5d and 5e): ``createdAt``, ``{data, pagination}`` with derived call fields, raw SQL text in
  500s, ``sip_password`` on create, ``strategy``/``music_on_hold`` (documented names are
  ignored with a normal 201), ``user_id`` members with ``added_at``, the extra routes
  (``GET /users/{id}``, ``/dids`` create/get/delete/routing, ``/calls/history``,
  ``POST /auth/login``), and the unknown-route 404 for what it lacks (IVRs, member listing,
  removal by extension, pool release).

Authentication: ``X-API-Key`` (the keys in ``astradial_api_keys`` belong to the main
organisation, :attr:`AstradialState.other_api_key` to a second one), a Bearer JWT from
``POST /auth/user-login`` (HS256, ``astradial_token_lifetime`` seconds on the simulator clock,
then 401), or one from ``POST /auth/login`` with the organisation key and secret
(``astradial_org_api_key`` / ``astradial_org_api_secret``). Every resource belongs to one
organisation; another organisation's ids answer 404.

Tests reach the state with :func:`astradial_state` (``astradial_state(sim).pbx_up = False``
makes the live-call endpoints fail like an unreachable PBX).

Both flavours also serve the open-source server's own operations (trunks, outbound routes,
webhooks, API keys, the DID pool's requests, music on hold and greetings, recording control,
organisation users and roles, server info, and ``/health`` beside ``/api/v1``), in its shapes:
the hosted service does not document them, and they are the only shapes known.

Call control talks to a fake phone system, up by default (``astradial_pbx_up``); set it
False, or ``astradial_state(sim).pbx_up = False``, to answer as a server without Asterisk
(500 on live calls and call control, ``disconnected`` links in ``/health``).

Modules, by resource: ``_state`` (rows, tokens, request context), ``_auth``, ``_users``,
``_dids``, ``_queues``, ``_ivrs``, ``_calls``, ``_control``, ``_trunks`` (trunks, outbound
routes), ``_org`` (webhooks, API keys, organisation users, roles), ``_media`` (music on hold,
greetings, recording control, server info, health) and ``_routes`` (the app).
"""

from __future__ import annotations

from ._routes import build_app, root_routes
from ._state import AstradialState, astradial_state

__all__ = ["AstradialState", "astradial_state", "build_app", "root_routes"]
