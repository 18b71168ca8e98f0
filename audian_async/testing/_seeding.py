"""Ways for tests to put server-side state into the simulator that no API call creates:
voicemail messages, call records, registrations, live channels, inbound faxes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._sim_core import Core

__all__ = ["Seeding"]

#: A few bytes that look like the start of an MP3 file.
SAMPLE_AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 64


class Seeding:
    """Mixed into :class:`~audian_async.testing.Simulator`."""

    _core: Core

    @property
    def master_account_id(self) -> str:  # pragma: no cover - defined by the simulator
        raise NotImplementedError

    def require_charges(self, collection: str, charges: dict[str, Any] | None = None) -> None:
        """Make creates in ``collection`` (``"devices"``, ``"phone_numbers"`` ...) billable:
        they are answered 402 ``accept charges`` with ``charges`` as the breakdown until the
        request sends ``"accept_charges": true``. ``charges=None`` uses a sample breakdown."""
        breakdown = charges if charges is not None else _sample_charges(collection)
        with self._core.store.lock:
            self._core.store.charges[collection] = breakdown

    def leave_voicemail(
        self,
        vmbox_id: str,
        *,
        account_id: str | None = None,
        audio: bytes = SAMPLE_AUDIO,
        caller_id_number: str = "+14155550199",
        caller_id_name: str = "Caller",
        **fields: Any,
    ) -> dict[str, Any]:
        """Leave a new (unheard) message in a voicemail box; returns its metadata.

        Raises ``KeyError`` when the box does not exist in the account (the master by default).
        """
        from ._audian._voicemail import leave_message

        core = self._core
        store = core.store
        with store.lock:
            box = store.get("vmbox", account_id or self.master_account_id, vmbox_id)
            if box is None:
                raise KeyError(vmbox_id)
            return leave_message(
                store,
                box,
                core.clock.gregorian(),
                audio,
                caller_id_number=caller_id_number,
                caller_id_name=caller_id_name,
                **fields,
            )

    def add_cdr(
        self,
        *,
        account_id: str | None = None,
        timestamp: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Record a finished call leg (a CDR) ending at ``timestamp`` (Gregorian seconds,
        default now); ``fields`` are CDR fields (``call_direction``, ``caller_id_number``,
        ``interaction_id`` ...). Returns the stored record with its ``id``."""
        from ._audian._cdrs import add_cdr

        core = self._core
        with core.store.lock:
            doc = add_cdr(
                core.store,
                account_id or self.master_account_id,
                core.clock.gregorian() if timestamp is None else timestamp,
                fields,
            )
            return doc.render()

    def register_device(
        self, username: str, *, account_id: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Make a SIP registration appear in ``GET /registrations``; returns it."""
        return self._live("registration", account_id, _registration(username, fields))

    def start_call(self, *, account_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Make a call in progress appear in ``GET /channels``; returns the channel."""
        return self._live("channel", account_id, _channel(self._core, fields))

    def _live(self, kind: str, account_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
        store = self._core.store
        with store.lock:
            doc = store.make_doc(kind, account_id or self.master_account_id, data)
            store.add(doc)
            return dict(doc.data)


def _registration(username: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "username": username,
        "realm": "sip.audian.com",
        "contact": f"sip:{username}@192.0.2.10:5060",
        "user_agent": "Yealink SIP-T46S",
        "expires": 300,
        "network_ip": "192.0.2.10",
        "network_port": "5060",
        **fields,
    }


def _channel(core: Core, fields: dict[str, Any]) -> dict[str, Any]:
    uuid = core.store.new_hex(32)
    return {
        "uuid": uuid,
        "call_id": uuid,
        "direction": "inbound",
        "caller_id_number": "+14155550111",
        "callee_id_number": "100",
        "state": "active",
        "answered": True,
        "timestamp": int(core.clock.gregorian() - 62_167_219_200),
        **fields,
    }


def _sample_charges(collection: str) -> dict[str, Any]:
    item = collection.rstrip("s")
    return {
        collection: {
            item: {
                "category": collection,
                "item": item,
                "quantity": 1,
                "rate": 5.0,
                "single_discount": False,
                "cumulative_discount": 0,
                "activation_charges": 1.0,
            }
        },
        "activation_charges": 1.0,
    }
