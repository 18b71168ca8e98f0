"""Shared fixtures and helpers of the event-socket tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from audian_async.testing import Simulator, create_app, serve

from .ws_client import SAFETY_TIMEOUT, WsClient


@pytest.fixture
def sim() -> Simulator:
    """A simulator on a frozen clock: only ``sim.advance_clock`` moves its time."""
    simulator = create_app()
    simulator.clock.freeze()
    return simulator


@pytest.fixture
def port(sim: Simulator) -> Iterator[int]:
    """The simulator served over real loopback."""
    with serve(sim) as server:
        yield server.port


@pytest.fixture
def token(sim: Simulator) -> str:
    """A valid token of the master account."""
    return sim.mint_token()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Block until ``condition()`` holds (an event gate: the deadline only stops a hang)."""
    deadline = time.monotonic() + SAFETY_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.002)


def subscribed_client(port: int, token: str, account_id: str, *bindings: str) -> WsClient:
    """A connected client subscribed to ``bindings`` (each reply checked)."""
    client = WsClient.connect(port)
    for binding in bindings:
        reply = client.subscribe(token, account_id, binding)
        assert reply["status"] == "success", reply
    return client
