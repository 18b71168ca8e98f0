"""``GET /v2/websockets``: the bindings the event socket offers (respx)."""

from __future__ import annotations

import respx

from audian_async import AsyncAudian
from audian_async.audian import WebsocketBindings
from tests.helpers import envelope

KAZOO_ANSWER = {
    "call": ["call.CHANNEL_CREATE.{CALL_ID}", "call.CHANNEL_DESTROY.{CALL_ID}"],
    "conference": ["conference.event.{CONFERENCE_ID}.{CALL_ID}"],
    "fax": ["fax.status.{FAX_ID}", "fax.object.{ACTION}"],
    "object": ["object.doc_created.user"],
    "presence": ["dialog.{CALL_ID}"],
    "qubicle": ["qubicle.queue.{QUEUE_ID}"],
}


async def test_available_bindings_by_module_without_logging_in(
    audian: AsyncAudian, mock: respx.MockRouter, auth_route: respx.Route
) -> None:
    route = mock.get("/websockets").respond(200, json=envelope(KAZOO_ANSWER))
    bindings = await audian.websockets.available()
    assert isinstance(bindings, WebsocketBindings)
    assert bindings.call == KAZOO_ANSWER["call"] and bindings.fax == KAZOO_ANSWER["fax"]
    assert bindings.object_ == ["object.doc_created.user"]
    assert bindings.presence == ["dialog.{CALL_ID}"]
    assert bindings.extra == {"qubicle": ["qubicle.queue.{QUEUE_ID}"]}  # a module unknown to us
    assert route.calls.last.request.url.path.endswith("/v2/websockets")
    assert "x-auth-token" not in route.calls.last.request.headers
    assert not auth_route.called  # Kazoo asks no token for this listing


async def test_a_server_without_some_modules(audian: AsyncAudian, mock: respx.MockRouter) -> None:
    mock.get("/websockets").respond(200, json=envelope({"call": ["call.*.{CALL_ID}"]}))
    bindings = await audian.websockets.available()
    assert bindings.call == ["call.*.{CALL_ID}"]
    assert bindings.object_ is None and bindings.conference is None
