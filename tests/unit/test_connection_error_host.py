"""A connection error names the host it tried (never a secret)."""

from __future__ import annotations

import httpx
import pytest
import respx

from audian_async import APIConnectionError, AsyncAudian

KEY = "k" * 64


async def test_default_base_url_connection_error_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AUDIAN_BASE_URL", raising=False)
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=httpx.ConnectError("connection refused"))
        async with AsyncAudian(api_key=KEY, max_retries=0) as audian:
            with pytest.raises(APIConnectionError) as caught:
                await audian.authenticate()
    message = str(caught.value)
    assert "https://api.audian.com:8443" in message
    assert KEY not in message and KEY not in repr(caught.value)


async def test_origin_gets_an_explicit_port_and_drops_user_info() -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=httpx.ConnectError("connection refused"))
        async with AsyncAudian(
            api_key=KEY, base_url="http://user:hunter2@sim.example/v2", max_retries=0
        ) as audian:
            with pytest.raises(APIConnectionError) as caught:
                await audian.authenticate()
    message = str(caught.value)
    assert "http://sim.example:80" in message
    assert "hunter2" not in message
