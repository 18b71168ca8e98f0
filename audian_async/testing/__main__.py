"""``python -m audian_async.testing``: run the simulator (Audian and Astradial) in the foreground.

One server answers both APIs. Audian (Kazoo crossbar v2) lives under ``/v2``: exchange the
printed 64-character API key at ``PUT /v2/api_auth``, or pass it as
``AsyncAudian(api_key=..., base_url="http://HOST:PORT/v2")``. Astradial lives under
``/api/v1``, with its own credentials (the Audian key gives 401 there): the ``ak_...`` key as
``X-API-Key`` (``AsyncAstradial(api_key=..., base_url="http://HOST:PORT")``), the login email
and password (``POST /api/v1/auth/user-login``), or the organisation key and secret
(``POST /api/v1/auth/login``). The banner prints both base URLs and all these credentials.
``--astradial-flavour oss`` answers Astradial like the open-source server instead of the
documented API; ``--astradial-no-pbx`` answers its call control as a server without its phone
system does (500; a fake phone system answers by default).

Rate limiting is off by default: a development simulator should not slow a bulk job down.
``--rate-limit kazoo`` (Kazoo's own bucket: 100 tokens, refilled at 10 a second) or
``--rate-limit N/R`` turns the token bucket on, to see 429 handling at work.

Realtime events: a websocket on any path (``ws://HOST:PORT/v2/websocket``) is Kazoo's event
socket. REST writes publish document events (``object.doc_edited.user`` ...); call events come
from ``POST /_simulator/events/calls`` and, for demos, ``--emit-calls RATE`` (RATE simulated
calls a second: create, answer, hang up). ``POST /_simulator/events/drop`` drops every socket.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from ._app import Simulator
from ._config import DEFAULT_API_KEY, SimulatorConfig
from ._events import CONTROL_PREFIX, CallTraffic
from ._server import RunningServer, bind_socket, uvicorn_config

#: Kazoo's own token bucket: 100 tokens, refilled at 10 a second.
KAZOO_RATE_LIMIT = "100/10"


def _rate_limit(text: str) -> tuple[int | None, float]:
    if text.lower() in ("off", "none", "0"):
        return None, 0.0
    if text.lower() == "kazoo":
        text = KAZOO_RATE_LIMIT
    size, _, refill = text.partition("/")
    try:
        return int(size), float(refill) if refill else 10.0
    except ValueError:
        raise argparse.ArgumentTypeError("expected N/R (e.g. 100/10), 'kazoo' or 'off'") from None


def _calls_per_second(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise argparse.ArgumentTypeError("expected a positive number of calls a second (e.g. 2)")
    return rate


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m audian_async.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="default 8080; 0 picks a free port")
    parser.add_argument(
        "--api-key", action="append", dest="api_keys", help="64-character key; repeatable"
    )
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds")
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=(None, 0.0),
        metavar="off|kazoo|N/R",
        help="the token bucket: 'off' (default: no rate limit), 'kazoo' (100/10, Kazoo's "
        "default), or N/R: N tokens, refilled at R a second (N alone: R=10)",
    )
    parser.add_argument(
        "--bucket-refill",
        choices=("block", "token", "continuous"),
        default="block",
        help="how the bucket refills: 'block' (Kazoo's default: a second's tokens at once), "
        "'token' (one every 1/R s) or 'continuous'",
    )
    parser.add_argument(
        "--empty-on-refusal",
        action="store_true",
        help="empty the bucket on every refused request (as some gateways do; Kazoo only "
        "for logins)",
    )
    parser.add_argument(
        "--auth-cost", type=int, default=1, help="bucket tokens a login costs (Kazoo's: 35)"
    )
    parser.add_argument(
        "--delete-204", action="store_true", help="answer DELETE with 204 and no body"
    )
    parser.add_argument(
        "--nested-numbers", action="store_true", help="Kazoo-shaped phone number listings"
    )
    parser.add_argument(
        "--no-contract", action="store_true", help="do not check responses against the spec"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--astradial-flavour",
        choices=("docs", "oss"),
        default="docs",
        help="how the Astradial API (under /api/v1) answers: the documented API (docs, "
        "default) or the open-source server (oss)",
    )
    parser.add_argument(
        "--emit-calls",
        type=_calls_per_second,
        default=None,
        metavar="RATE",
        help="demo call traffic on the event socket: RATE calls a second (CHANNEL_CREATE, "
        "CHANNEL_ANSWER, CHANNEL_DESTROY), in the master account",
    )
    parser.add_argument(
        "--astradial-no-pbx",
        action="store_true",
        help="answer Astradial call control as a server without its phone system does (500); "
        "by default a fake phone system answers",
    )
    return parser.parse_args(argv)


def banner(sim: Simulator, base_url: str) -> str:
    """What a person needs to point a client at the running simulator (both APIs)."""
    config = sim.config
    flavour = "open-source server" if config.astradial_oss_shapes else "documented API"
    if config.bucket_size is None:
        limit = "off (--rate-limit kazoo for Kazoo's 100 tokens, 10/s)"
    else:
        limit = (
            f"{config.bucket_size} tokens, {config.bucket_refill_per_sec:g}/s "
            f"({config.bucket_refill} refill"
            + (", emptied on refusal)" if config.bucket_empty_on_refusal else ")")
        )
    lines = [
        f"Simulator listening on {base_url}",
        f"Rate limit: {limit}",
        f"Audian API base: {base_url}/v2",
        f"  master account: {sim.master_account_id}",
        *(f"  api key: {key}" for key in config.api_keys),
        f"Astradial API base: {base_url}/api/v1  ({flavour}; base_url={base_url})",
        *(f"  api key (X-API-Key): {key}" for key in config.astradial_api_keys),
        f"  login (email / password): {config.astradial_email} / {config.astradial_password}",
        f"  org key / secret (POST /auth/login): {config.astradial_org_api_key} / "
        f"{config.astradial_org_api_secret}",
        "  phone system: "
        + ("fake, up" if config.astradial_pbx_up else "none (call control answers 500)"),
        f"Event socket: {base_url.replace('http', 'ws', 1)}/v2/websocket  "
        f"(control: {base_url}{CONTROL_PREFIX})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Build a simulator from the options and serve it until interrupted."""
    args = parse_args(argv)
    size, refill = args.rate_limit
    config = SimulatorConfig(
        api_keys=tuple(args.api_keys or (DEFAULT_API_KEY,)),
        token_lifetime=args.token_lifetime,
        bucket_size=size,
        bucket_refill_per_sec=refill,
        bucket_refill=args.bucket_refill,
        bucket_empty_on_refusal=args.empty_on_refusal,
        auth_token_cost=args.auth_cost,
        delete_returns_204=args.delete_204,
        phone_numbers_nested=args.nested_numbers,
        check_contract=not args.no_contract,
        seed=args.seed,
        astradial_oss_shapes=args.astradial_flavour == "oss",
        astradial_pbx_up=not args.astradial_no_pbx,
    )
    try:
        sim = Simulator(config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sock = bind_socket(args.host, args.port)
    port = int(sock.getsockname()[1])
    running = RunningServer(app=sim, host=args.host, port=port)
    print(banner(sim, running.base_url))
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn_config(sim, args.host, port, log_level="info"))
    traffic = None
    if args.emit_calls is not None:
        traffic = CallTraffic(sim.events, args.emit_calls, seed=args.seed)
        print(f"Emitting {args.emit_calls:g} simulated calls a second on the event socket")
        sys.stdout.flush()
        traffic.start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if traffic is not None:
            traffic.stop()
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
