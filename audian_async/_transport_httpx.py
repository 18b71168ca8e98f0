"""The default transport, on httpx (respx can mock it in tests)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx

from ._httpx_common import headers_dict, to_httpx_timeout, translate
from ._transport import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE,
    RawResponse,
    StreamingResponse,
    WebSocketConnection,
    default_ssl_context,
)
from ._types import AsyncCloseable, Timeout

__all__ = ["ConnectionDropped", "HttpxTransport", "is_httpx_client", "is_httpx_transport"]


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by an in-process server (the simulator) where a real one would close the
    connection; httpx, and so the SDK, treat it as a connection dropped after sending."""


class HttpxTransport(AsyncCloseable):
    """The default transport, on an ``httpx.AsyncClient`` (respx can mock it in tests).

    Pass ``client`` to use your own ``httpx.AsyncClient`` (the SDK will not close it), or
    ``transport`` to put an ``httpx.AsyncBaseTransport`` under a client the SDK owns.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE,
        verify: ssl.SSLContext | bool | str = True,
    ) -> None:
        self._owns_client = client is None
        if client is None:
            if verify is True:
                verify = default_ssl_context()
            client = httpx.AsyncClient(
                transport=transport,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_keepalive_connections,
                ),
                verify=verify,
                follow_redirects=False,
            )
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        """The underlying ``httpx.AsyncClient``."""
        return self._client

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> RawResponse:
        """Send one request through httpx and read the body."""
        try:
            response = await self._client.request(
                method,
                url,
                headers=list(headers),
                content=content,
                timeout=to_httpx_timeout(timeout),
            )
        except httpx.HTTPError as exc:
            raise translate(exc) from exc
        return RawResponse(
            response.status_code, headers_dict(response.headers), response.content, response
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        content: bytes | None,
        timeout: Timeout,
    ) -> AsyncIterator[StreamingResponse]:
        """Send one request through httpx; the body is streamed."""
        request = self._client.build_request(
            method, url, headers=list(headers), content=content, timeout=to_httpx_timeout(timeout)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise translate(exc) from exc
        try:

            async def chunks() -> AsyncIterator[bytes]:
                try:
                    async for chunk in response.aiter_bytes():
                        yield chunk
                except httpx.HTTPError as exc:
                    raise translate(exc) from exc

            yield StreamingResponse(
                response.status_code, headers_dict(response.headers), chunks(), response
            )
        finally:
            await response.aclose()

    def websocket(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        *,
        timeout: Timeout,
        max_message_size: int,
    ) -> AbstractAsyncContextManager[WebSocketConnection]:
        """A websocket over this transport's httpx client (httpx-ws, the ``events`` extra,
        imported only now): asyncio and trio."""
        from ._websocket_httpx import connect

        return connect(
            self._client,
            url,
            headers,
            timeout=to_httpx_timeout(timeout),
            max_message_size=max_message_size,
        )

    async def aclose(self) -> None:
        """Close the httpx client if the SDK created it."""
        if self._owns_client:
            await self._client.aclose()


def is_httpx_client(obj: object) -> bool:
    """True if ``obj`` is an ``httpx.AsyncClient`` (lets other modules avoid importing httpx)."""
    return isinstance(obj, httpx.AsyncClient)


def is_httpx_transport(obj: object) -> bool:
    """True if ``obj`` is an ``httpx.AsyncBaseTransport``."""
    return isinstance(obj, httpx.AsyncBaseTransport)
