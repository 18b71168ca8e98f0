"""What a user's type checker sees: ``mypy --strict`` checks this module (``nox -s lint``).

Each ``assert_type`` pins the type a user gets from a public call. A change that degrades one
(a result becoming ``Any``, a paginator losing its item type, an error attribute widening)
fails the lint session. The ``_uses_*`` functions are never called: pytest only imports the
module, and the one test below checks the runtime side of the same names.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, assert_type

import httpx

import audian_async
from audian_async import (
    AiohttpTransport,
    APIConnectionError,
    APIResponse,
    APIStatusError,
    AsyncAstradial,
    AsyncAudian,
    AsyncPaginator,
    AuthenticationError,
    AuthInfo,
    CallEvent,
    ChargesRequiredError,
    Event,
    EventStream,
    EventStreamError,
    EventStreamStats,
    Gap,
    NotFoundError,
    ObjectEvent,
    Page,
    RateLimitError,
    RequestInfo,
    ResponseInfo,
    SubscriptionError,
    ValidationError,
)
from audian_async import astradial as astra_models
from audian_async import audian as audian_models
from audian_async._astradial_downloads import AstradialCallsResource
from audian_async._generated.astradial.resources.queues import QueuesResource, RawQueuesResource
from audian_async._generated.audian.resources.users import (
    RawUsersResource,
    StreamingUsersResource,
    UsersResource,
)
from audian_async._transport import (
    StreamingResponse,
    SupportsWebSocket,
    WebSocketConnection,
)
from audian_async.events import Events


async def _uses_audian_client() -> None:
    async with AsyncAudian(api_key="key") as audian:
        assert_type(audian, AsyncAudian)
        assert_type(await audian.authenticate(), AuthInfo)
        assert_type(audian.account_id, str | None)
        assert_type(audian.for_account("a"), AsyncAudian)
        assert_type(audian.with_options(timeout=5, max_retries=0), AsyncAudian)

        # resources, plain and raw (client level and resource level)
        assert_type(audian.users, UsersResource)
        assert_type(audian.users.with_raw_response, RawUsersResource)
        assert_type(audian.with_raw_response.users, RawUsersResource)

        # typed results and models
        user = await audian.users.get("u1")
        assert_type(user, audian_models.User)
        assert_type(user.id, str)
        assert_type(user.first_name, str | None)
        assert_type(user.to_dict(), dict[str, Any])
        created = await audian.users.create(first_name="Jane", last_name="Smith")
        assert_type(created, audian_models.User)
        assert_type(await audian.devices.get("d1"), audian_models.Device)
        messages = await audian.vmboxes.list_messages("b1")
        assert_type(messages, list[audian_models.VoicemailMessage])
        download = audian.vmboxes.download_message("b1", "m1")
        assert_type(download, AbstractAsyncContextManager[StreamingResponse])

        # raw responses
        raw = await audian.users.with_raw_response.get("u1")
        assert_type(raw, APIResponse[audian_models.User])
        assert_type(raw.parsed, audian_models.User)
        assert_type(raw.request_id, str | None)
        assert_type(raw.status_code, int)
        assert_type(await audian.with_raw_response.users.get("u1"), APIResponse[audian_models.User])

        # paginators: iterate, await the first page, step through pages
        paginator = audian.users.list(filters={"first_name": "Jane"}, page_size=10)
        assert_type(paginator, AsyncPaginator[audian_models.User])
        async for item in paginator:
            assert_type(item, audian_models.User)
        page = await audian.users.list()
        assert_type(page, Page[audian_models.User])
        assert_type(page.items, list[audian_models.User])
        assert_type(page.has_next_page(), bool)
        assert_type(await page.get_next_page(), Page[audian_models.User])
        assert_type(await paginator.first_page(), Page[audian_models.User])
        for row in page:
            assert_type(row, audian_models.User)
        async for each in paginator.pages():
            assert_type(each, Page[audian_models.User])
        assert_type(await paginator.collect(), list[audian_models.User])
        assert_type(await paginator.first(), audian_models.User | None)
        assert_type(audian.users.with_raw_response.list(), AsyncPaginator[audian_models.User])
        numbers = audian.phone_numbers.list()
        assert_type(numbers, AsyncPaginator[audian_models.PhoneNumberSummary])

        # per-call options, on every kind of operation (a misspelt one is refused)
        got = await audian.users.get(
            "u1",
            deadline=10,
            timeout=2.5,
            max_retries=0,
            extra_headers={"X-Trace": "t"},
            extra_query={"q": 1},
            extra_body={"note": "x"},
            validate=False,
        )
        assert_type(got, audian_models.User)
        await audian.users.get("u1", timout=5)  # type: ignore[call-arg]
        await audian.users.get("u1", max_retries="2")  # type: ignore[arg-type]
        assert_type(audian.users.list(deadline=None, timeout=5), AsyncPaginator[audian_models.User])
        assert_type(
            audian.vmboxes.download_message("b1", "m1", max_retries=1, extra_headers={}),
            AbstractAsyncContextManager[StreamingResponse],
        )
        fax = await audian.faxes.with_raw_response.send_upload(
            document=b"%PDF", to_number="+1", from_number="+1", deadline=30
        )
        assert_type(fax, APIResponse[audian_models.Fax])
        raw_timed = await audian.users.with_raw_response.get("u1", timeout=1, max_retries=0)
        assert_type(raw_timed, APIResponse[audian_models.User])
        await audian.users.with_raw_response.get("u1", timout=1)  # type: ignore[call-arg]

        # streamed responses: listings (their first page's body) and downloads
        assert_type(audian.users.with_streaming_response, StreamingUsersResource)
        assert_type(audian.with_streaming_response.users, StreamingUsersResource)
        assert_type(
            audian.users.with_streaming_response.list(page_size=5, timeout=3),
            AbstractAsyncContextManager[StreamingResponse],
        )
        assert_type(
            audian.vmboxes.with_streaming_response.download_message("b1", "m1"),
            AbstractAsyncContextManager[StreamingResponse],
        )


async def _uses_astradial_client() -> None:
    async with AsyncAstradial(base_url="https://pbx.example.com", api_key="ak_x") as astra:
        assert_type(astra, AsyncAstradial)
        assert_type(astra.queues, QueuesResource)
        assert_type(astra.queues.with_raw_response, RawQueuesResource)
        assert_type(astra.calls, AstradialCallsResource)
        assert_type(await astra.queues.get("q1"), astra_models.Queue)
        assert_type(await astra.queues.with_raw_response.get("q1"), APIResponse[astra_models.Queue])
        users = astra.users.list()
        assert_type(users, AsyncPaginator[astra_models.User])
        assert_type(await users, Page[astra_models.User])
        calls = await astra.calls.list(page_size=50)
        assert_type(calls, Page[astra_models.Call])
        assert_type(calls.total, int | None)
        assert_type(await astra.calls.download_recording("c1", "out.wav"), Path)
        assert_type(await astra.users.sip_credentials("u1"), astra_models.SipCredentials)
        assert_type(
            await astra.calls.download_recording("c1", "out.wav", timeout=60, max_retries=0),
            Path,
        )
        assert_type(
            await astra.ivrs.create(name="M", extension="6000", menu_retries=2), astra_models.Ivr
        )


def _builds_clients_on_every_transport(custom: AiohttpTransport, name: str) -> None:
    """``transport=`` and ``http_client=`` are typed, and take all they took before."""
    AsyncAudian(api_key="k", transport="httpx")
    AsyncAudian(api_key="k", transport="aiohttp")
    AsyncAudian(api_key="k", transport=name)  # a name read from configuration
    AsyncAudian(api_key="k", transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    AsyncAudian(api_key="k", transport=custom)
    AsyncAudian(api_key="k", http_client=httpx.AsyncClient())
    AsyncAstradial(base_url="https://pbx.example.com", api_key="ak", transport=custom)
    AsyncAstradial(
        base_url="https://pbx.example.com", api_key="ak", http_client=httpx.AsyncClient()
    )
    AsyncAudian(api_key="k", transport=42)  # type: ignore[arg-type]
    AsyncAudian(api_key="k", http_client=httpx.MockTransport(print))  # type: ignore[arg-type]


async def _uses_events(audian: AsyncAudian) -> None:
    assert_type(audian.events, Events)
    assert_type(audian.for_account("a").events, Events)
    stream = audian.events.subscribe("call.CHANNEL_CREATE.*", "object.doc_edited.user")
    assert_type(stream, EventStream)
    try:
        async with stream as events:
            assert_type(events, EventStream)
            assert_type(events.stats, EventStreamStats)
            assert_type(events.stats.dropped, int)
            assert_type(events.account_id, str | None)
            assert_type(events.buffered, int)
            async for item in events:
                assert_type(item, Event | Gap)
                if isinstance(item, Gap):
                    assert_type(item.reconnected, bool)
                    assert_type(item.dropped, int)
                    assert_type(item.ended_at - item.started_at, float)
                elif isinstance(item, CallEvent):
                    assert_type(item.call_id, str | None)
                    assert_type(item.caller_id_number, str | None)
                elif isinstance(item, ObjectEvent):
                    assert_type(item.action, str | None)
                    assert_type(item.type, str | None)
                else:
                    assert_type(item.name, str)
                    assert_type(item.data["anything"], Any)
    except AuthenticationError as exc:
        assert_type(exc.status_code, int)
    except SubscriptionError as exc:
        assert_type(exc.binding, str)
        assert_type(exc.errors, tuple[str, ...])
    except EventStreamError as exc:
        assert_type(str(exc), str)


def _a_websocket_transport(transport: SupportsWebSocket) -> None:
    opened = transport.websocket(
        "wss://h/v2/websocket", [], timeout=audian_async.Timeout(), max_message_size=1 << 24
    )
    assert_type(opened, AbstractAsyncContextManager[WebSocketConnection])


async def _uses_errors(audian: AsyncAudian) -> None:
    try:
        await audian.users.get("u1")
    except NotFoundError as exc:
        assert_type(exc.status_code, int)
        assert_type(exc.request_id, str | None)
        assert_type(exc.request, RequestInfo)
        assert_type(exc.response, ResponseInfo)
        assert_type(exc.response.status_code, int)
        assert_type(exc.request.url, str)
        assert_type(exc.field_errors, dict[str, dict[str, str]])
    except RateLimitError as exc:
        assert_type(exc.retry_after, float | None)
    except ChargesRequiredError as exc:
        assert_type(exc.charges, dict[str, Any])
    except APIStatusError as exc:
        assert_type(exc.error, str | None)
        assert_type(exc.retries_taken, int)
    except APIConnectionError as exc:
        assert_type(exc.request, RequestInfo | None)
    except ValidationError as exc:
        assert_type(exc.field, str)
        assert_type(exc.rule, str)


def test_the_checked_names_exist_at_runtime() -> None:
    """The module imports under pytest; the names it checks are the package's public ones."""
    for name in (
        "AsyncAudian",
        "AsyncAstradial",
        "Page",
        "RequestInfo",
        "ResponseInfo",
        "CallEvent",
        "ObjectEvent",
        "Event",
        "Gap",
        "EventStream",
        "EventStreamStats",
        "EventStreamError",
        "SubscriptionError",
    ):
        assert name in audian_async.__all__
        assert getattr(audian_async, name) is globals()[name]
    assert hasattr(UsersResource, "with_raw_response")
    assert audian_models.User.__name__ == "User" and astra_models.Queue.__name__ == "Queue"
