"""File downloads of the Astradial audio endpoints, added to the generated resources.

``calls.download_recording`` and ``ivrs.download_greeting_audio`` stream a WAV body to a file
in constant memory; the generated ``calls.recording`` / ``ivrs.greeting_audio`` give the same
body as an async byte iterator.
"""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Unpack

import anyio

from ._generated.astradial.resources.calls import CallsResource
from ._generated.astradial.resources.ivrs import IvrsResource
from ._transport import StreamingResponse
from ._types import CallOptions

__all__ = ["AstradialCallsResource", "AstradialIvrsResource", "save_stream"]


async def save_stream(
    download: AbstractAsyncContextManager[StreamingResponse], path: str | os.PathLike[str]
) -> Path:
    """Write a streamed download to ``path`` chunk by chunk; returns the path.

    The body goes to ``<path>.part`` first and is renamed when complete, so ``path`` never
    holds a truncated file; on any failure the partial file is removed. An error status
    raises before anything is written.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    async with download as response:
        try:
            async with await anyio.open_file(partial, "wb") as file:
                async for chunk in response.iter_bytes():
                    await file.write(chunk)
            await anyio.Path(partial).replace(target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(partial).unlink(missing_ok=True)
            raise
    return target


class AstradialCallsResource(CallsResource):
    """Call history, live calls, statistics, recordings, call journeys, and call control.

    The generated operations, plus [`download_recording`][audian_async._astradial_downloads.AstradialCallsResource.download_recording].
    """

    async def download_recording(
        self,
        call_id: str,
        path: str | os.PathLike[str],
        **call_options: Unpack[CallOptions],
    ) -> Path:
        """Save a call's recording (audio/wav) to ``path``, streaming it (constant memory).

        `GET /calls/{call_id}/recording`. The file appears only once complete (it is written
        to ``<path>.part`` and renamed). 404 ([`NotFoundError`][audian_async._errors.NotFoundError]) when the
        call has no recording. The OSS server accepts only a Bearer JWT on this route: use
        an email + password client there.

        Args:
            call_id: The call-history id of the call.
            path: Where to write the audio.
            **call_options: per-call options (`CallOptions`): `deadline`, `timeout`,
                `max_retries`, `extra_headers`, `extra_query`, `extra_body`, `validate`.

        Returns:
            The path written.
        """
        download = self.recording(call_id, **call_options)
        return await save_stream(download, path)


class AstradialIvrsResource(IvrsResource):
    """IVR menus: greeting, digit options and publishing.

    The generated operations, plus [`download_greeting_audio`][audian_async._astradial_downloads.AstradialIvrsResource.download_greeting_audio].
    """

    async def download_greeting_audio(
        self,
        ivr_id: str,
        path: str | os.PathLike[str],
        **call_options: Unpack[CallOptions],
    ) -> Path:
        """Save an IVR's greeting audio (audio/wav) to ``path``, streaming it.

        `GET /ivrs/{ivr_id}/greeting-audio`. The file appears only once complete.

        Args:
            ivr_id: The IVR's id (a UUID).
            path: Where to write the audio.
            **call_options: per-call options (`CallOptions`): `deadline`, `timeout`,
                `max_retries`, `extra_headers`, `extra_query`, `extra_body`, `validate`.

        Returns:
            The path written.
        """
        download = self.greeting_audio(ivr_id, **call_options)
        return await save_stream(download, path)
