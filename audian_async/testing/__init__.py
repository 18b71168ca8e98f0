"""An embedded, stateful simulator of both APIs the SDK speaks: Audian and Astradial.

Install with the ``simulator`` extra. One ASGI application serves:

* **Audian** (Kazoo crossbar v2 semantics) under ``/v2``: key ``sim.default_api_key``
  (exchanged at ``PUT /v2/api_auth``), master account ``sim.master_account_id``;
* **Astradial** under ``/api/v1``, with its own credentials (the Audian key gives 401 there):
  ``sim.astradial_api_key`` (sent as ``X-API-Key``), or ``SimulatorConfig.astradial_email`` /
  ``astradial_password`` (``POST /api/v1/auth/user-login``), or ``astradial_org_api_key`` /
  ``astradial_org_api_secret`` (``POST /api/v1/auth/login``).
  ``SimulatorConfig(astradial_oss_shapes=True)`` answers like the open-source server.

Typical use::

    from audian_async import AsyncAstradial, AsyncAudian
    from audian_async.testing import create_app, serve

    sim = create_app()
    with serve(sim) as server:          # real HTTP on 127.0.0.1, background thread
        audian = AsyncAudian(api_key=sim.default_api_key, base_url=f"{server.base_url}/v2")
        astra = AsyncAstradial(api_key=sim.astradial_api_key, base_url=server.base_url)

or in-process with ``httpx.ASGITransport(app=sim)``. Inspect ``sim.state``, ``sim.requests``,
``sim.contract_violations``; inject failures with ``sim.faults.script(...)`` / ``sim.faults.rate(...)``.
The embedded simulator keeps Kazoo's token bucket by default (100 tokens, 10 a second;
``SimulatorConfig(bucket_size=None)`` turns it off); the standalone server
(``python -m audian_async.testing``, see its ``--help``) starts with it off.

Served over loopback, a websocket on any path is Kazoo's realtime event socket (see
`Events`, ``sim.events``): REST writes publish document events, and
``sim.events.publish_call("CHANNEL_CREATE")`` call events; ``sim.events.drop_sockets()`` drops
every socket without a close frame, to test reconnect handling.
"""

from __future__ import annotations

try:
    from ._app import ROUTERS, Simulator
    from ._config import DEFAULT_API_KEY, SimulatorConfig
    from ._events import Events, SocketInfo
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
except ImportError as exc:  # starlette, uvicorn or pyyaml missing: name the extra
    from .._extras import missing_extra

    _error = missing_extra(
        exc, "simulator", "audian_async.testing (the simulator)", ("starlette", "uvicorn", "yaml")
    )
    if _error is exc:
        raise
    raise _error from None

__all__ = [
    "DEFAULT_API_KEY",
    "ROUTERS",
    "ConnectionDropped",
    "Delay",
    "DropAfter",
    "DropBefore",
    "Events",
    "Fault",
    "ProcessServer",
    "RandomFault",
    "RecordedRequest",
    "RequestLog",
    "RunningServer",
    "ScriptedFault",
    "Simulator",
    "SimulatorConfig",
    "SocketInfo",
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
