"""The benchmark suite: ``python -m bench`` (or ``nox -s bench``) writes ``bench/RESULTS.md``.

Everything runs on this machine over loopback (127.0.0.1) against ``bench.server``, a
canned-response HTTP/1.1 server in its own process (uvloop when installed) that stops by
itself. Each client measurement runs in a fresh process; configurations are interleaved
over ``--rounds`` rounds and the best round is kept (noise on a shared machine only ever
slows a run down). Only ratios taken within one run are meaningful: absolute numbers move
with the machine's load.

Exit status: 1 when a target fails (``--report-only`` always exits 0), 2 on a broken run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._serverproc import BenchServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONCURRENCIES = (1, 64, 256)

# (configuration, operation): raw clients, the SDK on each transport, and the aiohttp
# transport alone (no SDK core) to split the SDK's cost into adapter and core.
MATRIX = [
    ("aiohttp", "get"),
    ("sdk-aiohttp", "get"),
    ("transport-aiohttp", "get"),
    ("aiohttp", "create"),
    ("sdk-aiohttp", "create"),
    ("httpx", "get"),
    ("sdk-httpx", "get"),
    ("httpx", "create"),
    ("sdk-httpx", "create"),
]

LABELS = {
    ("aiohttp", "get"): "raw aiohttp, GET user",
    ("sdk-aiohttp", "get"): '**SDK `users.get`, `transport="aiohttp"`**',
    ("transport-aiohttp", "get"): "SDK's aiohttp transport alone, GET user",
    ("aiohttp", "create"): "raw aiohttp, PUT user (JSON body)",
    ("sdk-aiohttp", "create"): '**SDK `users.create`, `transport="aiohttp"`**',
    ("httpx", "get"): "raw httpx (default pool), GET user",
    ("sdk-httpx", "get"): "SDK `users.get`, default httpx transport",
    ("httpx", "create"): "raw httpx (default pool), PUT user (JSON body)",
    ("sdk-httpx", "create"): "SDK `users.create`, default httpx transport",
}

IMPORTS = [
    ("python -c pass", "pass"),
    ("import httpx", "import httpx"),
    ("import aiohttp", "import aiohttp"),
    ("import audian_async", "import audian_async"),
    ("from audian_async import AsyncAudian", "from audian_async import AsyncAudian"),
]


@dataclass
class Target:
    name: str
    value: float
    limit: float
    higher_is_better: bool
    detail: str

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit


def _python(*args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- measurements ------------------------------------------------------------------------------


def throughput(
    port: int, rounds: int, n_fast: int, n_slow: int
) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Best-of-rounds rps and CPU per request for every (configuration, operation, C)."""
    best: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in range(rounds):
        for config, op in MATRIX:
            n = n_slow if "httpx" in config else n_fast
            started = time.perf_counter()
            out = _python(
                "-m",
                "bench.clients",
                config,
                op,
                "--port",
                str(port),
                "--concurrency",
                ",".join(map(str, CONCURRENCIES)),
                "--n",
                str(n),
            )
            for line in out.splitlines():
                row = json.loads(line)
                key = (config, op, row["concurrency"])
                if key not in best:
                    best[key] = {**row, "rounds": [row]}
                    continue
                kept = best[key]
                kept["rounds"].append(row)
                kept["rps"] = max(kept["rps"], row["rps"])
                kept["cpu_us"] = min(kept["cpu_us"], row["cpu_us"])
                kept["server_cpu_us"] = min(kept["server_cpu_us"], row["server_cpu_us"])
            _log(f"  round {r + 1}/{rounds}: {config} {op} ({time.perf_counter() - started:.1f}s)")
    return best


# httpx imports its command-line tool's dependencies (click, rich, pygments) when they are
# installed, as they are here through other packages; a minimal install has none of them.
_WITHOUT_CLI_DEPS = "import sys; sys.modules.update(click=None, rich=None, pygments=None); "


def paired(
    port: int, raw: str, sdk: str, concurrency: int, batches: int, batch_n: int
) -> dict[str, Any]:
    """``bench.paired``: the raw client and the SDK in alternating batches in one process."""
    line = _python(
        "-m", "bench.paired", raw, sdk, "get", "--port", str(port),
        "--concurrency", str(concurrency), "--batches", str(batches), "--batch-n", str(batch_n),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(line)
    _log(
        f"  {sdk} vs {raw} at C={concurrency}: rps x{result['rps_ratio']:.2f}, "
        f"cpu x{result['cpu_ratio']:.2f}"
    )
    return result


# httpx imports its command-line tool's dependencies (click, rich, pygments) when they are
# installed, as they are here through other packages; a minimal install has none of them.
_WITHOUT_CLI_DEPS = "import sys; sys.modules.update(click=None, rich=None, pygments=None); "


def pairs(
    port: int, raw: str, sdk: str, op: str, concurrency: int, n: int, count: int
) -> list[dict[str, Any]]:
    """A raw client and the SDK run back to back ``count`` times (alternating which goes first).

    Targets use the median of the per-pair ratios: the two runs of a pair share the machine's
    load of their moment, which the best-of-rounds figures of the table cannot guarantee.
    """
    out = []
    for i in range(count):
        rows = {}
        for config in (raw, sdk) if i % 2 == 0 else (sdk, raw):
            line = _python(
                "-m", "bench.clients", config, op, "--port", str(port),
                "--concurrency", str(concurrency), "--n", str(n),
            )  # fmt: skip
            rows[config] = json.loads(line.splitlines()[0])
        a, b = rows[raw], rows[sdk]
        out.append(
            {
                "raw": raw,
                "sdk": sdk,
                "concurrency": concurrency,
                "raw_rps": a["rps"],
                "sdk_rps": b["rps"],
                "raw_cpu_us": a["cpu_us"],
                "sdk_cpu_us": b["cpu_us"],
                "rps_ratio": b["rps"] / a["rps"],
                "cpu_ratio": b["cpu_us"] / a["cpu_us"],
            }
        )
        _log(
            f"  pair {i + 1}/{count} {sdk} vs {raw} at C={concurrency}: "
            f"rps x{out[-1]['rps_ratio']:.2f}, cpu x{out[-1]['cpu_ratio']:.2f}"
        )
    return out


def fastapi_service(port: int, concurrency: int, batches: int, batch_n: int) -> dict[str, Any]:
    """``bench.fastapi_service``: the README's FastAPI example vs the same app on raw aiohttp."""
    line = _python(
        "-m", "bench.fastapi_service", "--port", str(port), "--concurrency", str(concurrency),
        "--batches", str(batches), "--batch-n", str(batch_n),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(line)
    _log(
        f"  FastAPI README example vs raw aiohttp at {concurrency} clients: "
        f"{result['sdk_rps']:.0f} vs {result['raw_rps']:.0f} req/s, x{result['rps_ratio']:.2f}"
    )
    return result


def import_times(repeat: int) -> dict[str, dict[str, float]]:
    """Best-of-``repeat`` whole-process and in-process import times, as installed and minimal.

    Everything is byte-compiled first, as an installed package is (pip compiles on install;
    this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise make every process
    compile every module, the SDK's and httpx's alike, from source).
    """
    import sysconfig

    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(ROOT / "audian_async"),
            sysconfig.get_paths()["purelib"],
        ],
        capture_output=True,
        check=False,
    )
    variants = (("", ""), ("minimal_", _WITHOUT_CLI_DEPS))
    samples: dict[tuple[str, str], tuple[list[float], list[float]]] = {
        (label, variant): ([], []) for label, _ in IMPORTS for variant, _ in variants
    }
    # Interleaved (every statement once per round), so that a busy spell of this shared
    # machine weighs on all statements alike instead of on whichever ran during it.
    for _ in range(repeat):
        for label, stmt in IMPORTS:
            timed = (
                f"import time; t0 = time.perf_counter(); {stmt}; print(time.perf_counter() - t0)"
            )
            for variant, prefix in variants:
                whole, inner = samples[label, variant]
                started = time.perf_counter()
                out = _python("-c", prefix + timed)
                whole.append(time.perf_counter() - started)
                inner.append(float(out.strip()))
    results: dict[str, dict[str, float]] = {label: {} for label, _ in IMPORTS}
    for (label, variant), (whole, inner) in samples.items():
        results[label][f"{variant}process_s"] = min(whole)
        results[label][f"{variant}import_s"] = min(inner)
    return results


def memory(port: int, users: int) -> dict[str, dict[str, Any]]:
    out = {}
    for mode in ("tracemalloc", "rss"):
        line = _python(
            "-m", "bench.memory", "--port", str(port), "--users", str(users), "--mode", mode
        )
        out[mode] = json.loads(line)
    return out


def bulk(port: int, n: int, n_httpx: int) -> list[dict[str, Any]]:
    rows = [
        json.loads(
            _python(
                "-m", "bench.bulk", "--port", str(port), "--n", str(n), "--transport", "aiohttp"
            )
        )
    ]
    if n_httpx:
        rows.append(
            json.loads(
                _python(
                    "-m",
                    "bench.bulk",
                    "--port",
                    str(port),
                    "--n",
                    str(n_httpx),
                    "--transport",
                    "httpx",
                    "--concurrency",
                    "256",
                )
            )
        )
    return rows


def events(batches: int, batch_n: int, burst: int, stall_s: float) -> dict[str, Any]:
    """``bench.events`` against ``bench.events_server``: stream throughput and a stalled consumer."""
    from .events import EventSource

    with EventSource() as port:
        _log(f"event source on 127.0.0.1:{port}")
        line = _python(
            "-m", "bench.events", "throughput", "--port", str(port),
            "--batches", str(batches), "--batch-n", str(batch_n),
        )  # fmt: skip
        flow = json.loads(line)
        _log(
            f"  events/s: raw aiohttp {flow['raw-aiohttp']['events_per_s']:,.0f}, SDK aiohttp "
            f"{flow['sdk-aiohttp']['events_per_s']:,.0f} (x{flow['sdk-aiohttp']['rps_ratio']:.2f}), "
            f"SDK httpx {flow['sdk-httpx']['events_per_s']:,.0f} "
            f"(x{flow['sdk-httpx']['rps_ratio']:.2f})"
        )
        line = _python(
            "-m", "bench.events", "stall", "--port", str(port),
            "--count", str(burst), "--stall", str(stall_s),
        )  # fmt: skip
        stall = json.loads(line)
        _log(
            f"  stalled consumer: peak {stall['peak_mb']:.1f} MB (bound "
            f"{stall['stated_bound_mb']:.1f} MB + 20), {stall['dropped']:,} dropped"
        )
    return {"throughput": flow, "stall": stall}


def events_targets(result: dict[str, Any]) -> list[Target]:
    flow, stall = result["throughput"], result["stall"]
    sdk = flow["sdk-aiohttp"]
    plain = flow["sdk-aiohttp-no-schema"]
    listed = ", ".join(f"{v:.2f}" for v in sdk["rps_ratios"])
    return [
        Target(
            'events/s through the SDK\'s stream on `transport="aiohttp"` vs raw aiohttp '
            "`ws_connect` reading the same socket",
            sdk["rps_ratio"],
            0.85,
            True,
            f"median of {flow['batches']} batches of {flow['batch_n']:,}: {listed}; the SDK "
            "with the `fast` extra decodes each frame by schema (envelope and typed fields) "
            "where raw aiohttp decodes it whole; with the same decoding work (no msgspec) "
            f"it reads {plain['rps_ratio']:.2f}x",
        ),
        Target(
            f"peak memory, consumer stopped {stall['stall_s']:.0f} s during a burst of "
            f"{stall['count']:,} events, MB (limit: the buffer's bound + 20 MB)",
            stall["peak_mb"],
            round(stall["stated_bound_mb"] + 20.0, 1),
            False,
            f"{stall['dropped']:,} events dropped (overflow), {stall['delivered']:,} delivered, "
            f"{stall['received']:,} received",
        ),
    ]


def events_section(result: dict[str, Any], results: list[Target], partial: str | None) -> str:
    flow, stall = result["throughput"], result["stall"]
    raw, sdk, plain, httpx_sdk, lazy, whole, source = (
        flow["raw-aiohttp"],
        flow["sdk-aiohttp"],
        flow["sdk-aiohttp-no-schema"],
        flow["sdk-httpx"],
        flow["sdk-aiohttp-name-only"],
        flow["sdk-aiohttp-data"],
        flow["source"],
    )

    def row(label: str, m: dict[str, Any], ratio: str) -> str:
        return (
            f"| {label} | {m['events_per_s']:,.0f} | {m['best_events_per_s']:,.0f} | "
            f"{m['cpu_us']:.1f} µs | {ratio} |"
        )

    lines = ["## Realtime events (`bench/events.py` against `bench/events_server.py`)", ""]
    if partial:
        lines += [f"**From a partial run** ({partial}): only this section was measured then.", ""]
    lines += [
        "Four sockets open side by side in one process against an event source in its own "
        "process (pre-framed ~1.3 KB CHANNEL_CREATE events, 256 frames per write, paced only "
        "by TCP flow control): raw aiohttp `ws_connect` (each message decoded with orjson, one "
        'field read), the SDK\'s stream on `transport="aiohttp"` (as installed with the `fast` '
        "extra: frames decoded by schema with msgspec), the same stream without msgspec "
        "(every frame decoded whole with orjson), and the stream on the default transport "
        "(httpx-ws), each typed event's `call_id` read; the first stream is read twice more, "
        "for each event's name only and for its whole payload (`event.data`). "
        f"{flow['batches']} batches of {flow['batch_n']:,} events per reader, in rotating "
        "order; the ratios are the medians of the per-batch ratios.",
        "",
        "| reader | events/s (all batches) | best batch | client CPU per event | vs raw aiohttp |",
        "|---|---|---|---|---|",
        row("raw aiohttp `ws_connect`", raw, "1.00x"),
        row(
            '**SDK stream, `transport="aiohttp"`** (`call_id` read)',
            sdk,
            f"**{sdk['rps_ratio']:.2f}x**",
        ),
        row(
            'SDK stream, `transport="aiohttp"`, `event.name` only',
            lazy,
            f"{lazy['rps_ratio']:.2f}x",
        ),
        row(
            'SDK stream, `transport="aiohttp"`, whole payload read (`event.data`)',
            whole,
            f"{whole['rps_ratio']:.2f}x",
        ),
        row(
            'SDK stream, `transport="aiohttp"`, without msgspec (no `fast` extra)',
            plain,
            f"{plain['rps_ratio']:.2f}x",
        ),
        row(
            "SDK stream, default transport (httpx-ws)", httpx_sdk, f"{httpx_sdk['rps_ratio']:.2f}x"
        ),
        "",
        f"Where the time goes: raw aiohttp spends {raw['cpu_us']:.1f} µs per event, most of it "
        "decoding the whole JSON document. The SDK's reader decodes an event frame by schema "
        "(`audian_async/events/_schema.py`: the envelope and the dozen payload fields the typed "
        "accessors read; the rest is skipped, not built), keeps the frame's text, and decodes "
        "the whole payload only when `event.data` is read; that saving pays for the typed "
        "event, the bounded buffer and its counters, and one `__anext__` per event "
        f"({sdk['cpu_us']:.1f} µs in all). An application that reads every event's whole "
        f"payload pays for both decodes and the key normalisation ({whole['cpu_us']:.1f} µs); "
        "without msgspec every frame is decoded whole and the stream's own cost shows "
        f"({plain['cpu_us']:.1f} µs). The target is measured as the SDK is installed for high "
        'event rates (`pip install "audian-async[aiohttp,fast]"`, as docs/events.md says).',
        "",
        f"The source is not the bottleneck: it spent {source['cpu_us_per_event']:.2f} µs of CPU "
        f"per event (≈{source['max_events_per_s_one_core']:,.0f} events/s on one core), "
        f"{raw['cpu_us'] / source['cpu_us_per_event']:.0f}x less than the raw reader's "
        f"{raw['cpu_us']:.1f} µs. Events lost to the SDK's buffer during the throughput "
        f"batches: {flow['dropped']['sdk-aiohttp']} (aiohttp), "
        f"{flow['dropped']['sdk-aiohttp-no-schema']} (aiohttp, no msgspec), "
        f"{flow['dropped']['sdk-httpx']} (httpx).",
        "",
        f"Stalled consumer: the SDK's stream (aiohttp, default `buffer_size` "
        f"{stall['buffer_size']:,}) receives a burst of {stall['count']:,} events; its consumer "
        f"reads 100, then stops for {stall['stall_s']:.0f} s, then drains. The source finished "
        f"the burst in {stall['source_seconds']:.1f} s, during the stall: the stream read on "
        f"while the application slept. Peak of Python allocations (tracemalloc) over the "
        f"scenario **{stall['peak_mb']:.1f} MB**; the buffer's stated bound is `buffer_size` "
        f"held events of {stall['held_event_bytes']:,.0f} bytes each (the larger of an event "
        f"decoded whole, {stall['held_event_bytes_by_kind']['whole']:,.0f} bytes, and one "
        f"decoded by schema with its frame's text, "
        f"{stall['held_event_bytes_by_kind']['schema']:,.0f}; typed, not yet normalised) = "
        f"{stall['stated_bound_mb']:.1f} MB: the steady-state bound (no reconnect happens "
        "during the burst; while a new socket resubscribes, up to `buffer_size` more events "
        "are held back, as docs/events.md says). The process's peak resident memory grew by "
        f"{stall['rss_growth_mb']:.1f} MB over the scenario (`ru_maxrss`, which counts the "
        "interpreter's own arenas and tracemalloc's bookkeeping too, not only Python "
        "objects). Overflow (drop-oldest, counted): "
        f"**{stall['dropped']:,} events dropped**, {stall['delivered']:,} delivered, "
        f"{stall['received']:,} received (nothing uncounted), reported to the consumer in "
        f"{stall['gaps']} `Gap`; {stall['buffered_after_stall']:,} buffered when the consumer "
        "woke.",
        "",
    ]
    if partial:
        lines += ["| target | measured | limit | result |", "|---|---|---|---|"]
        for t in results:
            op = "≥" if t.higher_is_better else "≤"
            unit = "x" if " vs " in t.name else ""
            lines.append(
                f"| {t.name} | {t.value:.2f}{unit} ({t.detail}) | {op} {t.limit:g}{unit} | "
                f"{'PASS' if t.passed else 'FAIL'} |"
            )
        lines.append("")
    return "\n".join(lines)


def splice_section(text: str, section: str) -> str:
    """``text`` with its realtime events section replaced by ``section`` (or appended)."""
    head = "## Realtime events"
    start = text.find(head)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(head))
    return text[:start] + section + (text[end + 1 :] if end >= 0 else "")


# -- targets and report ------------------------------------------------------------------------


def _paired_target(name: str, pair: dict[str, Any], key: str, limit: float, higher: bool) -> Target:
    listed = ", ".join(f"{v:.2f}" for v in pair[key + "s"])
    return Target(
        name,
        pair[key],
        limit,
        higher,
        f"median of {pair['batches']} batch pairs of {pair['batch_n']:,}: {listed}",
    )


def pushback() -> dict[str, dict[str, Any]]:
    """The pushback scenarios (``bench.pushback``), each against its own Kazoo-like server."""
    out: dict[str, dict[str, Any]] = {}
    for name, argv in (
        ("token-expiry", ["token-expiry"]),
        ("chaos-client", ["chaos-client"]),
        ("chaos-bulk", ["chaos-bulk"]),
        ("chaos-client-no-tokens", ["chaos-client", "--no-tokens"]),
        ("chaos-bulk-no-tokens", ["chaos-bulk", "--no-tokens"]),
    ):
        out[name] = json.loads(_python("-m", "bench.pushback", *argv).strip().splitlines()[-1])
        _log(f"  {name}: {json.dumps({k: v for k, v in out[name].items() if k != 'server'})}")
    return out


RATE_LIMIT_RUNS: tuple[tuple[str, list[str]], ...] = (
    ("bucket-block", ["bucket-model", "--model", "block"]),
    ("bucket-token", ["bucket-model", "--model", "token"]),
    ("bucket-drain", ["bucket-model", "--model", "drain"]),
    ("many-accounts", ["many-accounts"]),
    ("many-accounts-shuffled", ["many-accounts", "--shuffle"]),
    ("ceiling", ["ceiling", "--accounts", "300"]),
)
MODELS = {
    "bucket-block": "block refill (Kazoo's default)",
    "bucket-token": "one token every 100 ms (Kazoo, `fill_as_block` off)",
    "bucket-drain": "continuous refill, emptied on every refusal (gateways)",
}
RATE_LIMITS_BEGIN = "<!-- rate-limits: begin -->"
RATE_LIMITS_END = "<!-- rate-limits: end -->"


def rate_limits() -> dict[str, dict[str, Any]]:
    """The rate-limit scenarios (``bench.pushback``): the three refill models, many accounts,
    and the single-process ceiling; each against its own Kazoo-like server, aiohttp transport."""
    out: dict[str, dict[str, Any]] = {}
    for name, argv in RATE_LIMIT_RUNS:
        line = _python("-m", "bench.pushback", *argv, "--transport", "aiohttp")
        out[name] = json.loads(line.strip().splitlines()[-1])
        _log(f"  {name}: {json.dumps({k: v for k, v in out[name].items() if k != 'server'})}")
    return out


def rate_limit_targets(runs: dict[str, dict[str, Any]]) -> list[Target]:
    out: list[Target] = []

    def wrong(run: dict[str, Any]) -> int:
        return int(run["lost"] + run["reported_twice"] + run["duplicated"] + run["misreported"])

    for name, label in MODELS.items():
        run = runs[name]
        out.append(
            Target(
                f"bucket 100 + 10/s, {label}: 250 creates through `run_bulk` vs the ideal 15 s",
                run["ratio"],
                1.3,
                False,
                f"{run['seconds']:.1f} s, {run['server']['rejected_429']} answers 429; "
                f"{wrong(run)} lost, duplicated or misreported",
            )
        )
    ordered, shuffled = runs["many-accounts"], runs["many-accounts-shuffled"]
    out.append(
        Target(
            "20 accounts x 150 users in account order, one `run_bulk` (`bucket=` the account), "
            "each bucket 100 + 10/s: vs the slowest account's ideal 5 s",
            ordered["ratio"],
            1.5,
            False,
            f"{ordered['seconds']:.1f} s, {ordered['server']['rejected_429']} answers 429",
        )
    )
    out.append(
        Target(
            "the same job with its inputs shuffled: time vs in account order",
            shuffled["seconds"] / ordered["seconds"],
            1.1,
            False,
            f"{shuffled['seconds']:.1f} s vs {ordered['seconds']:.1f} s",
        )
    )
    out.append(
        Target(
            "rate-limit scenarios: inputs lost, duplicated or misreported",
            sum(wrong(run) for run in runs.values()),
            0,
            False,
            f"{sum(run['n'] for run in runs.values()):,} inputs over {len(runs)} runs",
        )
    )
    return out


def rate_limit_section(
    runs: dict[str, dict[str, Any]], results: list[Target], partial: bool
) -> str:
    """The report's rate-limit section, between markers (``--only rate-limits`` replaces it)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ceiling = runs["ceiling"]
    lines = [
        RATE_LIMITS_BEGIN,
        "## Bulk jobs at Kazoo's rate limits (`bench/pushback.py` against `bench/kazoo.py`)",
        "",
        (
            f"**Partial run** (`python -m bench --only rate-limits`, {when}): these scenarios "
            "only; the other sections are from the full run named at the top."
            if partial
            else f"From the full run above ({when})."
        ),
        "",
        'The README\'s bulk configuration (`transport="aiohttp"`, `run_bulk(..., '
        "concurrency=64, client=audian)`), each run against its own Kazoo-like server that "
        "reports `tokens.remaining`. Every input's reported outcome is checked against the "
        "server's records.",
        "",
        "| target | measured | limit | result |",
        "|---|---|---|---|",
    ]
    for t in results:
        lines.append(
            f"| {t.name} ({t.detail}) | {t.value:.2f} | {t.limit:g} | "
            f"{'met' if t.passed else '**missed**'} |"
        )
    lines += [
        "",
        "| scenario | seconds | ideal | vs ideal | waited on rate limits | 429s | created |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(
            f"| {name} | {run['seconds']:.1f} | {run['ideal_seconds']:.0f} | "
            f"{run['ratio']:.2f}x | {run['rate_limited_seconds']:.1f} s | "
            f"{run['server']['rejected_429']} | {run['succeeded']:,} |"
        )
    lines += [
        "",
        f"Single-process ceiling: {ceiling['accounts']} accounts x 40 users, each bucket "
        f"10 + 10/s (3 s of refill each if the process kept up): {ceiling['seconds']:.1f} s, "
        f"{ceiling['creates_per_s']:,.0f} creates/s, the rate of "
        f"{ceiling['accounts_at_rate']:.0f} accounts at 10/s; the same job against the same "
        f"server without a rate limit: {ceiling['unlimited_creates_per_s']:,.0f} creates/s "
        "(the difference: learning each bucket's timing and probing buckets still empty, "
        "over a job of three refills per account). Past that many accounts at once, shard the "
        "job by account over several processes (docs/bulk.md, Beyond one machine).",
        RATE_LIMITS_END,
    ]
    return "\n".join(lines)


def pushback_targets(scenarios: dict[str, dict[str, Any]]) -> list[Target]:
    expiry = scenarios["token-expiry"]
    out = [
        Target(
            "token expiry (1 s tokens, no `iat`, 100 callers, 600 `users.get`): calls failed",
            expiry["failures"],
            0,
            False,
            f"{expiry['calls']} calls in {expiry['seconds']:.1f} s",
        ),
        Target(
            "token expiry: exchanges beyond one per token lifetime crossed",
            expiry["exchanges"] - expiry["lifetimes_crossed"],
            2,
            False,
            f"{expiry['exchanges']} exchanges, {expiry['lifetimes_crossed']} lifetimes crossed, "
            f"{expiry['rejected_401']} answers 401 (replayed)",
        ),
    ]
    for name, label in (
        ("chaos-client", "the client alone (a semaphore of 64 around `users.create`)"),
        ("chaos-bulk", "`run_bulk` in the README's bulk configuration"),
    ):
        run = scenarios[name]
        wrong = run["lost"] + run["duplicated"] + run["misreported"]
        out.append(
            Target(
                f"chaos bucket, {label}: time vs the bucket's ideal (N - B) / R",
                run["ratio"],
                1.2,
                False,
                f"{run['seconds']:.1f} s vs {run['ideal_seconds']:.0f} s; "
                f"{run['server']['rejected_429']} answers 429, {run['server']['faults_503']} 503s, "
                f"{run['server']['dropped_after_acting']} dropped after acting",
            )
        )
        out.append(
            Target(
                f"chaos bucket, {label}: inputs lost, duplicated or misreported",
                wrong,
                0,
                False,
                f"{run['succeeded']} created, {run['failed']} reported failed (not created)",
            )
        )
    return out


def targets(
    pairs: dict[str, dict[str, Any]],
    imports: dict[str, dict[str, float]],
    mem: dict[str, dict[str, Any]],
) -> list[Target]:
    sdk_aiohttp = 'SDK `users.get` on `transport="aiohttp"` vs raw aiohttp'
    sdk_httpx = "SDK `users.get` on the default httpx transport vs raw httpx"
    out = [
        _paired_target(
            "README's FastAPI example vs the same app on raw aiohttp, requests/s at 128 clients",
            pairs["fastapi@128"],
            "rps_ratio",
            0.85,
            True,
        ),
        _paired_target(
            f"{sdk_aiohttp}, requests/s at 256 in flight",
            pairs["aiohttp@256"],
            "rps_ratio",
            0.85,
            True,
        ),
        _paired_target(
            f"{sdk_aiohttp}, CPU per request at 256 in flight",
            pairs["aiohttp@256"],
            "cpu_ratio",
            1.25,
            False,
        ),
        _paired_target(
            f"{sdk_httpx}, CPU per request at 1 in flight",
            pairs["httpx@1"],
            "cpu_ratio",
            1.15,
            False,
        ),
        _paired_target(
            f"{sdk_httpx}, CPU per request at 256 in flight",
            pairs["httpx@256"],
            "cpu_ratio",
            1.15,
            False,
        ),
    ]
    mine = imports["from audian_async import AsyncAudian"]["minimal_process_s"]
    theirs = imports["import httpx"]["minimal_process_s"]
    out.append(
        Target(
            "`from audian_async import AsyncAudian` vs `import httpx` (fresh processes, "
            "httpx without its CLI deps)",
            mine / theirs,
            1.2,
            False,
            f"{mine * 1000:.1f} / {theirs * 1000:.1f} ms",
        )
    )
    peak = mem["tracemalloc"]["tracemalloc_peak_mb"]
    out.append(
        Target(
            f"peak memory iterating {mem['tracemalloc']['users']:,} users (tracemalloc), MB",
            peak,
            20.0,
            False,
            f"{peak:.1f} MB traced; RSS grew {mem['rss']['rss_growth_mb']:.1f} MB",
        )
    )
    return out


def _fmt_cell(row: dict[str, Any]) -> str:
    return f"{row['rps']:,.0f} rps, {row['cpu_us']:,.0f} µs"


def report(
    tp: dict[tuple[str, str, int], dict[str, Any]],
    core_cost: dict[str, float],
    imports: dict[str, dict[str, float]],
    mem: dict[str, dict[str, Any]],
    bulks: list[dict[str, Any]],
    scenarios: dict[str, dict[str, Any]],
    results: list[Target],
    args: argparse.Namespace,
    seconds: float,
    events_result: dict[str, Any],
) -> str:
    import aiohttp
    import httpx

    try:
        import uvloop

        server_loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        server_loop = "asyncio"
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `python -m bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"in {seconds:.0f} s: Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"httpx {httpx.__version__}, {_cpus()} CPUs (shared, noisy: read the ratios, which are "
        "taken within this one run; absolute numbers move with the machine's load).",
        "",
        "Method: a canned-response HTTP/1.1 keep-alive server (`bench/server.py`, asyncio "
        f"Protocol on {server_loop}, its own process, 127.0.0.1). Each client configuration runs "
        "in a fresh process with plain asyncio: `C` workers share one client and keep `C` "
        f"requests in flight until N are done (N = {args.n_fast:,} for aiohttp-based clients, "
        f"{args.n_slow:,} for httpx-based ones), after a warm-up that opens the connections. "
        "CPU = the client process's `time.process_time()` over the N requests / N. Configurations "
        f"are interleaved over {args.rounds} rounds; the best round is kept. Raw clients parse the "
        "JSON body and read one field, with the SDK's default pool limits (256 connections, httpx "
        "keeping 128 alive); the SDK also sends its headers (User-Agent, X-Request-ID, "
        "token), and builds a typed `User` (a create also validates its body against the spec).",
        "",
        "## Requests per second and client CPU per request",
        "",
        "| client | C=1 | C=64 | C=256 |",
        "|---|---|---|---|",
    ]
    for config, op in MATRIX:
        cells = [_fmt_cell(tp[(config, op, c)]) for c in CONCURRENCIES]
        lines.append(f"| {LABELS[(config, op)]} | {' | '.join(cells)} |")
    raw256 = tp[("aiohttp", "get", 256)]
    slowest_server = max(row["server_cpu_us"] for row in tp.values())
    lines += [
        "",
        f"The server is not the bottleneck: it spent {raw256['server_cpu_us']:.0f} µs of CPU per "
        f"request while raw aiohttp spent {raw256['cpu_us']:.0f} µs at C=256 "
        f"(≈{raw256['cpu_us'] / raw256['server_cpu_us']:.1f}x headroom, i.e. it could serve "
        f"≈{1e6 / raw256['server_cpu_us']:,.0f} rps on one core); its worst per-request CPU "
        f"in any configuration was {slowest_server:.0f} µs.",
        "",
        "SDK cost split at C=256 (GET): the aiohttp transport alone costs "
        f"{tp[('transport-aiohttp', 'get', 256)]['cpu_us']:.0f} µs per request vs raw aiohttp's "
        f"{raw256['cpu_us']:.0f} µs; the full SDK call {tp[('sdk-aiohttp', 'get', 256)]['cpu_us']:.0f} µs. "
        "The SDK's own work without any I/O (`python -m bench.overhead`: URL, headers, "
        "credentials, envelope, typed result; a create also validates and encodes its body) is "
        f"{core_cost['get_us']:.0f} µs per `users.get` and {core_cost['create_us']:.0f} µs per "
        "`users.create`.",
        "",
        "## Targets",
        "",
        "The throughput targets are measured side by side in one process (`bench/paired.py`): "
        "the raw client and the SDK, both warmed up, run in alternating batches (raw, SDK, SDK, "
        "raw ..., as many pairs as each target names); the ratio is the median over the batch "
        "pairs, each of which shares the load of its moment. At 64 and 256 in flight httpx's own "
        "pool dominates and its cost varies with request timing; the SDK's own cost over httpx "
        "shows best at 1 in flight.",
        "",
        "| target | measured | limit | result |",
        "|---|---|---|---|",
    ]
    for t in results:
        op = "≥" if t.higher_is_better else "≤"
        unit = "x" if " vs " in t.name else ""
        lines.append(
            f"| {t.name} | {t.value:.2f}{unit} ({t.detail}) | {op} {t.limit:g}{unit} | "
            f"{'PASS' if t.passed else 'FAIL'} |"
        )
    lines += [
        "",
        f"## Import time (best of {args.import_repeat})",
        "",
        "| statement | whole process | the import itself | whole process, minimal | the import itself, minimal |",
        "|---|---|---|---|---|",
    ]
    for label, _ in IMPORTS:
        row = imports[label]
        lines.append(
            f"| `{label}` | {row['process_s'] * 1000:.0f} ms | {row['import_s'] * 1000:.1f} ms | "
            f"{row['minimal_process_s'] * 1000:.0f} ms | {row['minimal_import_s'] * 1000:.1f} ms |"
        )
    lines += [
        "",
        "Minimal: click, rich and pygments made unimportable, as in an environment with only "
        "audian-async's own dependencies (`import httpx` imports them for its command-line tool "
        "when they are installed, as they are here through uvicorn and the `progress` extra). "
        "`import audian_async` is lazy (public names load on first use); "
        "`from audian_async import AsyncAudian` loads the client, httpx, attrs and anyio, but no "
        "model, no cattrs and no aiohttp (those load on first use).",
        "",
        "## Memory while iterating a listing",
        "",
        f"`async for user in audian.users.list(page_size={mem['tracemalloc']['page_size']})` over "
        f"{mem['tracemalloc']['users']:,} users (default httpx transport): peak of Python "
        f"allocations traced by tracemalloc during the iteration **{mem['tracemalloc']['tracemalloc_peak_mb']:.1f} MB**; "
        f"growth of the process's peak RSS (`ru_maxrss`, separate run without tracemalloc) "
        f"{mem['rss']['rss_growth_mb']:.1f} MB; {mem['rss']['items_per_s']:,.0f} users/s.",
        "",
        "## Bulk runner",
        "",
        "| transport | creates | concurrency | seconds | creates/s | client CPU per create | server saw |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in bulks:
        lines.append(
            f"| {b['transport']} | {b['n']:,} ({b['succeeded']:,} ok, {b['failed']} failed) | "
            f"{b['concurrency']} | {b['seconds']:.1f} | {b['rps']:,.0f} | {b['cpu_us']:,.0f} µs | "
            f"{b['server_creates']:,} creates |"
        )
    lines += [
        "",
        '`run_bulk(users.create, rows, concurrency=256)`; "server saw" counts the creates that '
        "reached the server (equal to the inputs: nothing lost, nothing sent twice).",
        "",
        "## A server that pushes back (`bench/pushback.py` against `bench/kazoo.py`)",
        "",
        "Token expiry: tokens live 1 s with `exp` in whole seconds and no `iat` (Kazoo's shape); "
        "100 callers make 600 `users.get` over about 3 s. Chaos bucket: 2,000 creates at "
        "concurrency 64 against a Kazoo bucket of 200 tokens refilled with 100 once a second, "
        "5% of requests answered 503 before acting, 2% of creates dropped after acting; every "
        "input's reported outcome is checked against the server's own records. The ideal time "
        "is (N - B) / R = 18 s; the retries the faults force cost tokens too, so about 1.1x is "
        "the floor. Without `tokens` in the envelope the limiter learns the bucket from 429s.",
        "",
        "| scenario | seconds | vs ideal | 429s | created | failed | lost | duplicated | misreported |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in scenarios.items():
        if name == "token-expiry":
            continue
        lines.append(
            f"| {name} | {run['seconds']:.1f} | {run['ratio']:.2f}x | "
            f"{run['server']['rejected_429']} | {run['succeeded']} | {run['failed']} | "
            f"{run['lost']} | {run['duplicated']} | {run['misreported']} |"
        )
    expiry = scenarios["token-expiry"]
    lines += [
        "",
        f"Token expiry: {expiry['calls']} calls, {expiry['failures']} failed; "
        f"{expiry['exchanges']} token exchanges for {expiry['lifetimes_crossed']} lifetimes "
        f"crossed; {expiry['rejected_401']} answers 401 (a token that expired in flight), each "
        "replayed with the next token.",
        "",
        events_section(events_result, results, None),
    ]
    return "\n".join(lines)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best kept)")
    parser.add_argument(
        "--n-fast", type=int, default=3000, help="requests per aiohttp-based measurement"
    )
    parser.add_argument(
        "--n-slow", type=int, default=400, help="requests per httpx-based measurement"
    )
    parser.add_argument("--users", type=int, default=100_000, help="users to iterate for memory")
    parser.add_argument("--bulk", type=int, default=10_000, help="creates for the bulk runner")
    parser.add_argument(
        "--bulk-httpx", type=int, default=2_000, help="bulk creates on httpx (0: skip)"
    )
    parser.add_argument("--import-repeat", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="small counts, one round (smoke test)")
    parser.add_argument(
        "--events",
        action="store_true",
        help="only the realtime events benchmark: its section of RESULTS.md is replaced",
    )
    parser.add_argument("--event-batches", type=int, default=16)
    parser.add_argument("--event-batch-n", type=int, default=20_000)
    parser.add_argument("--report-only", action="store_true", help="exit 0 even if a target fails")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--only",
        choices=["rate-limits"],
        help="run only these scenarios and replace their section of the report",
    )
    args = parser.parse_args(argv)
    if args.only == "rate-limits":
        return _only_rate_limits(args)
    if args.quick:
        args.rounds, args.n_fast, args.n_slow = 1, 800, 300
        args.users, args.bulk, args.bulk_httpx, args.import_repeat = 20_000, 1_000, 0, 3
        args.event_batches, args.event_batch_n = 4, 5_000
    started = time.perf_counter()
    if args.events:
        return events_only(args, started)
    try:
        with BenchServer(users=args.users) as server:
            _log(f"bench server on 127.0.0.1:{server.port}")
            _log("throughput ...")
            tp = throughput(server.port, args.rounds, args.n_fast, args.n_slow)
            _log("paired batches for the targets ...")
            pairs = {
                "aiohttp@256": paired(server.port, "aiohttp", "sdk-aiohttp", 256, 32, 1500),
                "httpx@1": paired(server.port, "httpx", "sdk-httpx", 1, 20, 300),
                "httpx@256": paired(server.port, "httpx", "sdk-httpx", 256, 20, 300),
                "fastapi@128": fastapi_service(server.port, 128, 2 if args.quick else 24, 1500),
            }
            _log("memory ...")
            mem = memory(server.port, args.users)
            _log("bulk ...")
            bulks = bulk(server.port, args.bulk, args.bulk_httpx)
        _log("pushback scenarios (about 2 minutes) ...")
        scenarios = pushback()
        _log("rate-limit scenarios (about 1 minute) ...")
        limit_runs = rate_limits()
        _log("simulator create rate, empty vs full ...")
        fill = json.loads(
            _python("-m", "bench.simulator_fill", "--users", str(20_000 if args.quick else 100_000))
        )
        _log(
            f"  {fill['empty_per_s']:.0f} creates/s empty, {fill['full_per_s']:.0f} with "
            f"{fill['users']:,} users (x{fill['ratio']:.2f})"
        )
        _log("imports ...")
        imports = import_times(args.import_repeat)
        _log("SDK core without I/O ...")
        core_cost = json.loads(_python("-m", "bench.overhead"))
        _log("realtime events ...")
        events_result = events(args.event_batches, args.event_batch_n, 50_000, 10.0)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        _log(f"benchmark run failed: {exc}")
        return 2
    results = targets(pairs, imports, mem) + pushback_targets(scenarios)
    limit_results = rate_limit_targets(limit_runs)
    results += limit_results
    results += events_targets(events_result)
    results.append(
        Target(
            f"simulator creates/s with {fill['users']:,} users vs empty (uniqueness indexed)",
            fill["ratio"],
            0.5,
            True,
            f"{fill['empty_per_s']:.0f} vs {fill['full_per_s']:.0f} creates/s (Simulator.create)",
        )
    )
    text = report(
        tp,
        core_cost,
        imports,
        mem,
        bulks,
        scenarios,
        results,
        args,
        time.perf_counter() - started,
        events_result,
    )
    text += "\n" + rate_limit_section(limit_runs, limit_results, partial=False) + "\n"
    args.output.write_text(text)
    (args.output.with_suffix(".json")).write_text(
        json.dumps(
            {
                "throughput": [{k: v for k, v in row.items()} for row in tp.values()],
                "pairs": pairs,
                "sdk_core_without_io": core_cost,
                "imports": imports,
                "memory": mem,
                "bulk": bulks,
                "pushback": scenarios,
                "simulator_fill": fill,
                "rate_limits": limit_runs,
                "events": events_result,
                "targets": [t.__dict__ | {"passed": t.passed} for t in results],
            },
            indent=1,
        )
    )
    print(text)
    failed = [t for t in results if not t.passed]
    for t in results:
        _log(f"{'PASS' if t.passed else 'FAIL'}  {t.name}: {t.value:.2f} (limit {t.limit:g})")
    _log(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    if failed and not args.report_only:
        return 1
    return 0


def _only_rate_limits(args: argparse.Namespace) -> int:
    """``--only rate-limits``: run those scenarios; replace their section of the report."""
    started = time.perf_counter()
    try:
        runs = rate_limits()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        _log(f"benchmark run failed: {exc}")
        return 2
    results = rate_limit_targets(runs)
    section = rate_limit_section(runs, results, partial=True)
    text = args.output.read_text() if args.output.exists() else "# Benchmark results\n"
    if RATE_LIMITS_BEGIN in text and RATE_LIMITS_END in text:
        head, rest = text.split(RATE_LIMITS_BEGIN, 1)
        tail = rest.split(RATE_LIMITS_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    args.output.write_text(text)
    print(section)
    for t in results:
        _log(f"{'PASS' if t.passed else 'FAIL'}  {t.name}: {t.value:.2f} (limit {t.limit:g})")
    _log(f"updated {args.output} in {time.perf_counter() - started:.0f} s")
    if any(not t.passed for t in results) and not args.report_only:
        return 1
    return 0


def events_only(args: argparse.Namespace, started: float) -> int:
    """``python -m bench --events``: measure the realtime events part alone and replace its
    section of ``--output`` (labelled as a partial run) and its key of the JSON results."""
    try:
        result = events(args.event_batches, args.event_batch_n, 50_000, 10.0)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        _log(f"benchmark run failed: {exc}")
        return 2
    results = events_targets(result)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    partial = f"`python -m bench --events` on {when}, Python {platform.python_version()}"
    section = events_section(result, results, partial)
    previous = args.output.read_text() if args.output.exists() else "# Benchmark results\n"
    args.output.write_text(splice_section(previous, section))
    json_path = args.output.with_suffix(".json")
    saved = json.loads(json_path.read_text()) if json_path.exists() else {}
    saved["events"] = result | {"partial_run": partial}
    json_path.write_text(json.dumps(saved, indent=1))
    print(section)
    for t in results:
        _log(f"{'PASS' if t.passed else 'FAIL'}  {t.name}: {t.value:.2f} (limit {t.limit:g})")
    _log(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    failed = [t for t in results if not t.passed]
    return 1 if failed and not args.report_only else 0
