"""The server-sent events relay as a user's type checker sees it (``mypy --strict``, lint)."""

from __future__ import annotations

from typing import assert_type

from fastapi import FastAPI
from starlette.responses import StreamingResponse

from audian_async import AsyncAudian, Event, Gap
from audian_async.events import EventStream
from audian_async.integrations.fastapi_events import (
    AudianEvents,
    EventHub,
    Listener,
    audian_events_lifespan,
    encode_sse,
    sse_response,
)


async def _uses_the_hub(audian: AsyncAudian) -> None:
    async with EventHub(audian, "call.*.*", queue_size=10, buffer_size=500) as hub:
        assert_type(hub, EventHub)
        assert_type(hub.listeners, int)
        assert_type(hub.stream, EventStream)
        async with hub.listen() as listener:
            assert_type(listener, Listener)
            assert_type(listener.dropped, int)
            async for item in listener:
                assert_type(item, Event | Gap)
                assert_type(encode_sse(item), str)
        assert_type(sse_response(hub), StreamingResponse)


def _builds_an_app() -> FastAPI:
    app = FastAPI(lifespan=audian_events_lifespan("call.CHANNEL_CREATE.*", queue_size=50))

    @app.get("/calls")
    async def calls(hub: AudianEvents) -> StreamingResponse:
        return sse_response(hub, keepalive=5.0)

    return app


def test_the_relay_names_exist_at_runtime() -> None:
    assert callable(sse_response) and callable(audian_events_lifespan)
    assert _builds_an_app().router.routes
