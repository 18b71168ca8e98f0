"""File downloads of the Astradial audio endpoints, added to the generated resources.

``calls.download_recording`` and ``ivrs.download_greeting_audio`` stream a WAV body to a file
in constant memory; the generated ``calls.recording`` / ``ivrs.greeting_audio`` give the same
body as an async byte iterator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import anyio

from ._generated.astradial.resources.calls import CallsResource
from ._generated.astradial.resources.ivrs import IvrsResource
from ._resource import BaseResource
from ._transport import StreamingResponse
from ._types import NOT_GIVEN, NotGiven, Timeout

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


R = TypeVar("R", bound=BaseResource)


def _with_deadline(resource: R, deadline: float | NotGiven | None) -> R:
    """``resource``, or a view of it with another deadline (connections shared)."""
    if isinstance(deadline, NotGiven):
        return resource
    return type(resource)(resource._core.derive(deadline=deadline))


class AstradialCallsResource(CallsResource):
    """Call history, live calls, statistics, recordings, call journeys, and call control.

    The generated operations, plus [`download_recording`][audian_async._astradial_downloads.AstradialCallsResource.download_recording].
    """

    async def download_recording(
        self,
        call_id: str,
        path: str | os.PathLike[str],
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: float | Timeout | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Path:
        """Save a call's recording (audio/wav) to ``path``, streaming it (constant memory).

        `GET /calls/{call_id}/recording`. The file appears only once complete (it is written
        to ``<path>.part`` and renamed). 404 ([`NotFoundError`][audian_async._errors.NotFoundError]) when the
        call has no recording. The OSS server accepts only a Bearer JWT on this route: use
        an email + password client there.

        Args:
            call_id: The call-history id of the call.
            path: Where to write the audio.
            extra_headers: more headers for this call.
            extra_query: more query parameters for this call.
            timeout: per-attempt timeout override for this call.
            deadline: overall budget of this download in seconds, the body included
                (default: the client's ``deadline``; ``None``: no limit).

        Returns:
            The path written.
        """
        download = _with_deadline(self, deadline).recording(
            call_id, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout
        )
        return await save_stream(download, path)


class AstradialIvrsResource(IvrsResource):
    """IVR menus: greeting, digit options and publishing.

    The generated operations, plus [`download_greeting_audio`][audian_async._astradial_downloads.AstradialIvrsResource.download_greeting_audio].
    """

    async def download_greeting_audio(
        self,
        ivr_id: str,
        path: str | os.PathLike[str],
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: float | Timeout | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Path:
        """Save an IVR's greeting audio (audio/wav) to ``path``, streaming it.

        `GET /ivrs/{ivr_id}/greeting-audio`. The file appears only once complete.

        Args:
            ivr_id: The IVR's id (a UUID).
            path: Where to write the audio.
            extra_headers: more headers for this call.
            extra_query: more query parameters for this call.
            timeout: per-attempt timeout override for this call.
            deadline: overall budget of this download in seconds, the body included
                (default: the client's ``deadline``; ``None``: no limit).

        Returns:
            The path written.
        """
        download = _with_deadline(self, deadline).greeting_audio(
            ivr_id, extra_headers=extra_headers, extra_query=extra_query, timeout=timeout
        )
        return await save_stream(download, path)
