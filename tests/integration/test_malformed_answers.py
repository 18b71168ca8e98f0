"""Answers that cannot be the promised result raise APIResponseValidationError, on both
transports: never ``None``, never an empty listing, never a foreign exception."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from audian_async import APIResponseValidationError, AsyncAudian

ACCOUNT = "a" * 32
DEEP = b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"

# name -> (status, content type, body)
ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "empty body": (200, "application/json", b""),
    "null": (200, "application/json", b"null"),
    "data null": (200, "application/json", b'{"data": null, "status": "success"}'),
    "204": (204, "", b""),
    "302": (302, "text/html", b"moved"),
    "items not objects": (200, "application/json", b'{"data": [1, "x", null]}'),
    "data is a string": (200, "application/json", b'{"data": "oops"}'),
    "too deeply nested": (200, "application/json", DEEP),
    "not json": (200, "application/json", b'{"data": {"id": '),
    "html page": (200, "text/html", b"<html><body>maintenance</body></html>"),
}


class AnswerServer:
    """Answers every request with one fixed (status, content type, body)."""

    def __init__(self, answer: tuple[int, str, bytes]) -> None:
        self.answer = answer
        self.server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v2"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                status, ctype, body = self.answer
                lines = [f"HTTP/1.1 {status} X", "X-Request-ID: rid-42"]
                if ctype:
                    lines.append(f"Content-Type: {ctype}")
                if status == 302:
                    lines.append("Location: http://127.0.0.1:1/elsewhere")
                if status != 204:
                    lines.append(f"Content-Length: {len(body)}")
                writer.write(
                    ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if status == 204 else body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture(params=["httpx", "aiohttp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _client(base_url: str, transport: str) -> AsyncAudian:
    return AsyncAudian(
        auth_token="opaque",
        account_id=ACCOUNT,
        base_url=base_url,
        transport=transport,
        max_retries=0,
    )


async def _call(audian: AsyncAudian, operation: str) -> Any:
    if operation == "get":
        return await audian.users.get("u1")
    if operation == "list":
        return [u async for u in audian.users.list()]
    return await audian.users.create(first_name="Ada", last_name="Lovelace")


# A list where one object is promised is covered by "data is a string" for get and create.
CASES = [
    (answer, operation)
    for answer in sorted(ANSWERS)
    for operation in ("get", "list", "create")
    if answer != "items not objects" or operation == "list"
]


@pytest.mark.parametrize(("answer", "operation"), CASES)
async def test_an_answer_that_cannot_be_the_result_raises(
    answer: str, operation: str, transport: str
) -> None:
    async with AnswerServer(ANSWERS[answer]) as base_url, _client(base_url, transport) as audian:
        with pytest.raises(APIResponseValidationError) as info:
            await _call(audian, operation)
    error = info.value
    assert error.status_code == ANSWERS[answer][0]
    assert error.request_id == "rid-42"
    assert "rid-42" in str(error)


async def test_a_delete_answered_204_is_a_documented_none(transport: str) -> None:
    async with AnswerServer(ANSWERS["204"]) as base_url, _client(base_url, transport) as audian:
        assert await audian.users.delete("u1") is None


async def test_a_well_formed_answer_still_parses(transport: str) -> None:
    body = json.dumps({"data": {"id": "u1", "first_name": "Ada"}, "request_id": "r"}).encode()
    server = AnswerServer((200, "application/json", body))
    async with server as base_url, _client(base_url, transport) as audian:
        user = await audian.users.get("u1")
    assert user.id == "u1" and user.first_name == "Ada"
