"""An embedded, stateful simulator of the Audian API (Kazoo crossbar v2 semantics).

Install with the ``simulator`` extra. Typical use::

    from audian_async.testing import create_app, serve

    sim = create_app()
    with serve(sim) as server:          # real HTTP on 127.0.0.1, background thread
        ...  # talk to f"{server.base_url}/v2" with sim.default_api_key

or in-process with ``httpx.ASGITransport(app=sim)``. Inspect ``sim.state``, ``sim.requests``,
``sim.contract_violations``; inject failures with ``sim.faults.script(...)`` / ``sim.faults.rate(...)``.
"""

from __future__ import annotations

from ._app import ROUTERS, Simulator
from ._config import DEFAULT_API_KEY, SimulatorConfig
from ._faults import (
    ConnectionDropped,
    Delay,
    DropAfter,
    DropBefore,
    Fault,
    RandomFault,
    ScriptedFault,
    Status,
    delay,
    drop_after,
    drop_before,
    status,
)
from ._inspect import RecordedRequest, RequestLog, StateView, StoredDoc
from ._process import ProcessServer, serve_in_process
from ._server import RunningServer, serve

__all__ = [
    "DEFAULT_API_KEY",
    "ROUTERS",
    "ConnectionDropped",
    "Delay",
    "DropAfter",
    "DropBefore",
    "Fault",
    "ProcessServer",
    "RandomFault",
    "RecordedRequest",
    "RequestLog",
    "RunningServer",
    "ScriptedFault",
    "Simulator",
    "SimulatorConfig",
    "StateView",
    "Status",
    "StoredDoc",
    "create_app",
    "delay",
    "drop_after",
    "drop_before",
    "serve",
    "serve_in_process",
    "status",
]


def create_app(config: SimulatorConfig | None = None) -> Simulator:
    """A new simulator (an ASGI application) with its own state."""
    return Simulator(config)
