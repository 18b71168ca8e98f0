"""Ways for tests to put server-side state into the simulator that no API call creates:
voicemail messages, call records, registrations, live channels, inbound faxes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._core import Core

__all__ = ["Seeding"]

#: A few bytes that look like the start of an MP3 file.
SAMPLE_AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 64


class Seeding:
    """Mixed into :class:`~audian_async.testing.Simulator`."""

    _core: Core

    @property
    def master_account_id(self) -> str:  # pragma: no cover - defined by the simulator
        raise NotImplementedError

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
        from ._voicemail import leave_message

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
