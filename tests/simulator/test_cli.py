"""The standalone simulator's command line: what --help and the banner tell a newcomer."""

from __future__ import annotations

import argparse

import pytest

import audian_async.testing
from audian_async.testing import Simulator, SimulatorConfig
from audian_async.testing.__main__ import _rate_limit, banner, parse_args


def test_rate_limit_is_off_by_default_and_takes_kazoo_or_n_r() -> None:
    assert parse_args([]).rate_limit == (None, 0.0)
    assert parse_args(["--rate-limit", "kazoo"]).rate_limit == (100, 10.0)
    assert parse_args(["--rate-limit", "50/5"]).rate_limit == (50, 5.0)
    assert parse_args(["--rate-limit", "off"]).rate_limit == (None, 0.0)
    with pytest.raises(argparse.ArgumentTypeError, match="kazoo"):
        _rate_limit("fast")


def test_help_explains_astradial_and_the_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "/api/v1" in text and "X-API-Key" in text and "gives 401" in text
    assert "user-login" in text and "auth/login" in text
    assert "'off' (default: no rate limit)" in text and "100/10" in text and "N/R" in text


def test_banner_names_both_apis_and_the_rate_limit() -> None:
    quiet = banner(Simulator(SimulatorConfig(bucket_size=None)), "http://127.0.0.1:8080")
    assert "Rate limit: off" in quiet
    assert "Audian API base: http://127.0.0.1:8080/v2" in quiet
    assert "Astradial API base: http://127.0.0.1:8080/api/v1" in quiet
    assert "X-API-Key" in quiet and "login (email / password)" in quiet
    kazoo = banner(Simulator(SimulatorConfig()), "http://127.0.0.1:8080")
    assert "Rate limit: 100 tokens, 10/s" in kazoo


def test_module_docstring_describes_both_apis() -> None:
    doc = audian_async.testing.__doc__ or ""
    assert "Astradial" in doc and "/api/v1" in doc and "astradial_api_key" in doc


def test_the_phone_system_is_up_unless_asked_otherwise() -> None:
    assert parse_args([]).astradial_no_pbx is False
    assert parse_args(["--astradial-no-pbx"]).astradial_no_pbx is True
    up = banner(Simulator(SimulatorConfig(bucket_size=None)), "http://127.0.0.1:8080")
    assert "phone system: fake, up" in up
    down = banner(
        Simulator(SimulatorConfig(bucket_size=None, astradial_pbx_up=False)),
        "http://127.0.0.1:8080",
    )
    assert "phone system: none (call control answers 500)" in down
