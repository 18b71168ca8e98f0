"""Downloads close what they open on every path, and their body is bounded by the deadline.

A counting transport stands in for the network: it records every response stream opened and
closed, so a leaked connection shows as ``opened > closed`` (issue 24, items 6 and 9).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from audian_async import APIResponseValidationError, APITimeoutError, AsyncAstradial
from audian_async._clock import LoopClock
from audian_async._transport import RawResponse, StreamingResponse
from audian_async._types import Timeout
from tests.manual_clock import ManualClock
from tests.virtual import run_virtual

ROOT = "https://pbx.example.com:8000"
KEY = "ak_" + "0123456789abcdef" * 2
BACKENDS = ["asyncio", "trio"]


class CountingTransport:
    """Answers every stream with ``status``; ``stall`` makes the body hang after one chunk."""

    def __init__(
        self, status: int = 200, headers: dict[str, str] | None = None, stall: bool = False
    ) -> None:
        self.status = status
        self.headers = headers or {"content-type": "audio/wav"}
        self.stall = stall
        self.opened = 0
        self.closed = 0

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> RawResponse:
        raise AssertionError("only downloads are sent in these tests")

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> AsyncIterator[StreamingResponse]:
        self.opened += 1
        try:
            yield StreamingResponse(self.status, self.headers, self._body())
        finally:
            await anyio.lowlevel.checkpoint()  # closing a connection awaits the network
            self.closed += 1

    async def _body(self) -> AsyncIterator[bytes]:
        yield b"RIFF"
        if self.stall:
            await anyio.sleep_forever()
        yield b"WAVE"

    async def aclose(self) -> None:
        pass


def _client(transport: CountingTransport, **kwargs: Any) -> AsyncAstradial:
    return AsyncAstradial(base_url=ROOT, api_key=KEY, transport=transport, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_redirect_answering_a_download_closes_its_connection(backend: str) -> None:
    transport = CountingTransport(302, {"location": "https://elsewhere.example/file.wav"})

    async def main() -> None:
        async with _client(transport) as astra:
            with pytest.raises(APIResponseValidationError, match="redirect"):
                async with astra.calls.recording("c1"):
                    raise AssertionError("a redirect is not a body")

    anyio.run(main, backend=backend)
    assert (transport.opened, transport.closed) == (1, 1)


async def test_a_redirect_answering_download_recording_closes_its_connection(
    tmp_path: Path,
) -> None:
    transport = CountingTransport(307, {"location": "https://elsewhere.example/file.wav"})
    async with _client(transport) as astra:
        with pytest.raises(APIResponseValidationError):
            await astra.calls.download_recording("c1", tmp_path / "call.wav")
    assert (transport.opened, transport.closed) == (1, 1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_download_cancelled_in_its_block_still_closes_its_connection(backend: str) -> None:
    transport = CountingTransport()

    async def main() -> None:
        async with _client(transport) as astra:
            with anyio.CancelScope() as scope:
                async with astra.calls.recording("c1") as stream:
                    assert [c async for c in stream.iter_bytes()] == [b"RIFF", b"WAVE"]
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()  # cancelled here: the exit runs cancelled
            assert scope.cancelled_caught

    anyio.run(main, backend=backend)
    assert (transport.opened, transport.closed) == (1, 1)


def test_a_stalled_body_ends_at_the_call_deadline_on_the_loop_clock() -> None:
    transport = CountingTransport(stall=True)
    chunks: list[bytes] = []

    async def main() -> float:
        async with _client(transport, clock=LoopClock(), deadline=30.0) as astra:
            started = anyio.current_time()
            with anyio.fail_after(3600), pytest.raises(APITimeoutError, match="deadline"):
                async with astra.calls.recording("c1") as stream:
                    async for chunk in stream.iter_bytes():
                        chunks.append(chunk)
            return anyio.current_time() - started

    elapsed = run_virtual(main)  # virtual time: no real waiting
    assert chunks == [b"RIFF"]
    assert elapsed == pytest.approx(30.0)
    assert (transport.opened, transport.closed) == (1, 1)


def test_a_stalled_body_ends_when_the_clients_own_clock_reaches_the_deadline() -> None:
    transport = CountingTransport(stall=True)
    clock = ManualClock()
    outcome: list[BaseException] = []

    async def read_all(astra: AsyncAstradial) -> None:
        try:
            async with astra.calls.recording("c1") as stream:
                async for _ in stream.iter_bytes():
                    pass
        except APITimeoutError as exc:
            outcome.append(exc)

    async def main() -> None:
        async with _client(transport, clock=clock, deadline=30.0) as astra:
            with anyio.fail_after(3600):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(read_all, astra)
                    await anyio.sleep(600)  # the loop's time passes, the client's does not
                    assert outcome == []
                    clock.advance(29.0)
                    await anyio.sleep(600)
                    assert outcome == []
                    clock.advance(1.0)
        assert len(outcome) == 1

    run_virtual(main)
    assert (transport.opened, transport.closed) == (1, 1)


async def _expire(clock: ManualClock, seconds: float) -> None:
    """Once the download waits on ``clock``, move it ``seconds`` forward."""
    while not clock.sleepers:
        await anyio.sleep(0.001)
    clock.advance(seconds - 0.5)
    await anyio.sleep(0.01)
    assert clock.sleepers  # still reading: the deadline is not there yet
    clock.advance(0.5)


@pytest.mark.parametrize("method", ["calls.download_recording", "ivrs.download_greeting_audio"])
async def test_a_download_to_a_file_takes_a_deadline(method: str, tmp_path: Path) -> None:
    transport = CountingTransport(stall=True)
    clock = ManualClock()
    group, name = method.split(".")
    async with _client(transport, clock=clock, deadline=None) as astra:
        download = getattr(getattr(astra, group), name)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_expire, clock, 5.0)
                with pytest.raises(APITimeoutError, match=r"deadline of 5\.0s"):
                    await download("x1", tmp_path / "audio.wav", deadline=5.0)
    assert (transport.opened, transport.closed) == (1, 1)
    assert list(tmp_path.iterdir()) == []  # no partial file left behind
