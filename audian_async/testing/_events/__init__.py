"""Kazoo's realtime event socket ("blackhole") in the simulator: ``sim.events``.

* `Events` (``_hub``): the socket server (any path upgrades) and the event sources;
* ``_session``: one socket's message pipeline, outbound queue and timeouts;
* ``_bindings``: the binding grammar, subscription keys and topic matching;
* ``_payloads``: Kazoo-shaped event data (call and document events, key normalisation);
* ``_control``: the HTTP control endpoint ``/_simulator/events``;
* ``_traffic``: demo call traffic (``--emit-calls RATE``).
"""

from __future__ import annotations

from ._bindings import CALL_EVENTS, DOC_ACTIONS, DOC_TYPES, available
from ._control import CONTROL_PREFIX, build_control_app
from ._hub import Events
from ._session import SocketInfo
from ._traffic import CallTraffic

__all__ = [
    "CALL_EVENTS",
    "CONTROL_PREFIX",
    "DOC_ACTIONS",
    "DOC_TYPES",
    "CallTraffic",
    "Events",
    "SocketInfo",
    "available",
    "build_control_app",
]
