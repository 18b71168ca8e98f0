"""Downloads: a request sent like any other, its body handed out to read incrementally."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from . import _classify
from ._clock import run_until
from ._errors import APIError, APITimeoutError
from ._transport import StreamingResponse, TransportError

if TYPE_CHECKING:
    from ._engine import Call, Engine
    from ._operation import Operation

__all__ = ["open_stream"]


@asynccontextmanager
async def open_stream(
    engine: Engine, op: Operation[Any], call: Call
) -> AsyncIterator[StreamingResponse]:
    """Send a download's ``call`` through ``engine``; the body is read inside the context.

    The request goes through the same engine as every call (deadline, credentials, rate
    limiting, retries, logging) until the response starts; once the body is handed out a
    failure is not retried.
    """
    try:
        answer = await engine.open_stream(call)
    except APIError as exc:
        _classify.name_request(engine, call, exc)
        raise
    if answer.status >= 400:  # its body was read and its connection closed
        _classify.result(engine, op, answer, raw=False, structure=False, call=call)  # raises
    assert answer.stream is not None and answer.stream_cm is not None
    try:
        if answer.status >= 300:  # a redirect: its connection is closed below
            _classify.result(engine, op, answer, raw=False, structure=False, call=call)  # raises
        yield _bounded(engine, answer.stream, call, answer.started)
    except TransportError as exc:  # the body broke off: not retried once handed out
        raise _classify.broken_body(engine, op, call, exc) from exc
    finally:
        import anyio

        with anyio.CancelScope(shield=True):  # a cancelled caller still closes it
            await answer.stream_cm.__aexit__(None, None, None)


def _bounded(
    engine: Engine, stream: StreamingResponse, call: Call, started: float
) -> StreamingResponse:
    """``stream`` with its body reads bounded by the call's deadline (on the client's
    clock, counted from when the call started, as the rest of the call)."""
    if call.deadline is None:
        return stream
    clock = engine.clock
    deadline = started + call.deadline
    chunks = stream.chunks

    async def bounded() -> AsyncIterator[bytes]:
        while True:
            try:
                done, chunk = await run_until(clock, deadline, anext, chunks)
            except StopAsyncIteration:
                return
            if not done:
                raise APITimeoutError(
                    f"{call.method} {call.path}: deadline of {call.deadline}s exceeded "
                    "while reading the body",
                    method=call.method,
                    url=call.path,
                    request=_classify.request_info(engine, call),
                )
            yield chunk  # type: ignore[misc]

    return StreamingResponse(stream.status, stream.headers, bounded(), stream.raw)
