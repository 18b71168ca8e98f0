"""The shared state every router gets: config, clock, store, token issuer and buckets."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._bucket import Buckets
from ._config import SimulatorConfig
from ._envelope import Meta
from ._jwt import TokenIssuer
from ._sim_clock import Clock
from ._store import Store

if TYPE_CHECKING:
    from ._events import Events

__all__ = ["Core"]


@dataclass
class Core:
    """What a router needs to serve requests; one per simulator."""

    config: SimulatorConfig
    clock: Clock
    store: Store
    tokens: TokenIssuer
    buckets: Buckets
    node: str
    master_account_id: str
    #: The event socket (``sim.events``); REST writes announce document changes to it.
    events: Events | None = None

    @staticmethod
    def node_name(seed: int | None) -> str:
        """A 22-character base64url node id (base64url of an md5, like Kazoo)."""
        source = f"audian-sim-{seed if seed is not None else uuid.uuid4().hex}".encode()
        return base64.urlsafe_b64encode(hashlib.md5(source).digest()).rstrip(b"=").decode("ascii")

    def meta(self, request_id: str | None) -> Meta:
        """Envelope values for one request (a fresh request id unless the client sent one)."""
        return Meta(
            request_id=request_id or uuid.uuid4().hex,
            node=self.node,
            version=self.config.version,
            timestamp=self.clock.iso(),
        )
