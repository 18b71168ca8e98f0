"""``GET /v2/websockets`` through the SDK over loopback HTTP."""

from __future__ import annotations

from audian_async import AsyncAudian
from audian_async.audian import WebsocketBindings
from audian_async.testing import Simulator

from .coverage_registry import covers


@covers("audian", "websockets.available")
async def test_the_bindings_the_event_socket_offers(audian: AsyncAudian, sim: Simulator) -> None:
    before = len(sim.requests)
    bindings = await audian.websockets.available()
    assert isinstance(bindings, WebsocketBindings)
    assert bindings.call is not None and "call.CHANNEL_CREATE.{CALL_ID}" in bindings.call
    assert bindings.object_ is not None and "object.doc_edited.user" in bindings.object_
    assert bindings.fax == ["fax.status.{FAX_ID}", "fax.object.{ACTION}"]
    assert bindings.conference == [
        "conference.event.{CONFERENCE_ID}.{CALL_ID}",
        "conference.command.{CONFERENCE_ID}",
    ]
    served = [r for r in list(sim.requests)[before:] if r.path == "/v2/websockets"]
    assert [(r.method, r.status) for r in served] == [("GET", 200)]
