"""The HTTP control endpoint of the event socket, under ``/_simulator/events``.

For tools outside the Python process (a demo, another language's tests) that drive a standalone
simulator (``python -m audian_async.testing``). Plain JSON in and out (no Kazoo envelope):

* ``GET /_simulator/events``: ``{"open_sockets", "dropped_events", "published", "sockets": [...]}``;
* ``POST /_simulator/events/calls`` ``{"event_name": "CHANNEL_CREATE", "account_id"?, "call_id"?,
  "count"?, ...fields}``: publish a call event (``count`` of them, each with a fresh call id
  unless ``call_id`` is given: a burst for benchmarks), 201 ``{"call_id", "published"}`` (the
  first call id);
* ``POST /_simulator/events/objects`` ``{"action": "doc_edited", "type": "user", "account_id"?,
  "id"?}``: publish a document change, 201 ``{"id"}``;
* ``POST /_simulator/events/publish`` ``{"routing_key", "data", "name"?, "count"?}``: any
  event (``count`` times: the fastest source, for benchmarks), 200 ``{"matched"}``;
* ``POST /_simulator/events/drop``: abort every socket without a close frame, 200 ``{"dropped"}``.

Bad input answers 400 ``{"error": "..."}``, an unknown account 404.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.lowlevel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from ._hub import Events

__all__ = ["CONTROL_PREFIX", "build_control_app"]

#: Where the control endpoint lives on the simulator.
CONTROL_PREFIX = "/_simulator/events"
#: Most call events one ``POST /calls`` publishes (its ``count``).
MAX_COUNT = 100_000


class _BadRequest(Exception):
    pass


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.pop(name, None)
    if value is None:
        if required:
            raise _BadRequest(f"{name} is required")
        return None
    if not isinstance(value, str) or not value:
        raise _BadRequest(f"{name} must be a non-empty string")
    return value


def _count(body: dict[str, Any]) -> int:
    count = body.pop("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        raise _BadRequest(f"count must be an integer from 1 to {MAX_COUNT}")
    return count


def build_control_app(events: Events) -> ASGIApp:
    """The control endpoint's ASGI app (its routes carry the full `CONTROL_PREFIX` paths)."""

    def guarded(
        handler: Callable[[Request], Awaitable[JSONResponse]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def run(request: Request) -> JSONResponse:
            try:
                return await handler(request)
            except (_BadRequest, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except KeyError as exc:
                return JSONResponse({"error": f"unknown account {exc.args[0]}"}, status_code=404)

        return run

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "open_sockets": events.open_sockets,
                "dropped_events": events.dropped_events,
                "published": events.published,
                "sockets": [dataclasses.asdict(info) for info in events.sockets],
            }
        )

    async def calls(request: Request) -> JSONResponse:
        body = await _body(request)
        event_name = _text(body, "event_name", required=True)
        assert event_name is not None
        count = _count(body)
        account_id = _text(body, "account_id", required=False)
        call_id = _text(body, "call_id", required=False)
        first = events.publish_call(event_name, account_id=account_id, call_id=call_id, **body)
        slice_size = events.burst_slice()
        for sent in range(1, count):
            if sent % slice_size == 0:
                # Let the sockets' writers run between slices, as Kazoo's socket processes
                # drain while events arrive: only a reader that does not keep up loses events.
                await anyio.lowlevel.checkpoint()
            events.publish_call(event_name, account_id=account_id, call_id=call_id, **body)
        return JSONResponse({"call_id": first, "published": count}, status_code=201)

    async def objects(request: Request) -> JSONResponse:
        body = await _body(request)
        action = _text(body, "action", required=True)
        doc_type = _text(body, "type", required=True)
        assert action is not None and doc_type is not None
        doc_id = events.publish_object(
            action,
            doc_type,
            account_id=_text(body, "account_id", required=False),
            doc_id=_text(body, "id", required=False),
        )
        return JSONResponse({"id": doc_id}, status_code=201)

    async def publish(request: Request) -> JSONResponse:
        body = await _body(request)
        routing_key = _text(body, "routing_key", required=True)
        assert routing_key is not None
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise _BadRequest("data must be a JSON object")
        name = _text(body, "name", required=False)
        count = _count(body)
        if count == 1:
            return JSONResponse({"matched": events.publish(routing_key, data, name=name)})
        matched = await events.publish_burst(routing_key, data, count, name=name)
        return JSONResponse({"matched": matched})

    async def drop(request: Request) -> JSONResponse:
        return JSONResponse({"dropped": events.drop_sockets()})

    base = CONTROL_PREFIX
    routes = [
        Route(base, guarded(stats), methods=["GET"]),
        Route(f"{base}/", guarded(stats), methods=["GET"]),
        Route(f"{base}/calls", guarded(calls), methods=["POST"]),
        Route(f"{base}/objects", guarded(objects), methods=["POST"]),
        Route(f"{base}/publish", guarded(publish), methods=["POST"]),
        Route(f"{base}/drop", guarded(drop), methods=["POST"]),
    ]
    return Starlette(routes=routes)
