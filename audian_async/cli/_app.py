"""The ``audian-async`` command: click groups and options only.

Everything heavier (the clients, the bulk runner, the simulator) is imported inside the
commands, so ``audian-async --help`` loads click and little else.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import click

from ._exit import ExitCode

__all__ = ["cli", "main"]

RESOURCE_NAMES = (
    "users",
    "devices",
    "callflows",
    "phone_numbers",
    "accounts",
    "vmboxes",
    "astradial-users",
    "astradial-queues",
    "astradial-dids",
)

EPILOG = """\b
Exit codes:
  0    done, or nothing to do (plan: no changes)
  1    finished, but some rows are invalid, failed or in conflict
       (apply: see the failed-rows file; plan: see the invalid rows)
  2    usage error: a bad option, or an input file that cannot be read
  3    plan only: there are changes to apply
  4    set-up failure: no credentials, server unreachable, credentials refused,
       the server's state unreadable, a plan/journal/failed file unwritable
  130  interrupted (Ctrl-C): rerun the same command to resume

\b
Credentials come from the clients' environment variables:
  Audian:    AUDIAN_API_KEY, AUDIAN_BASE_URL
  Astradial: ASTRADIAL_BASE_URL and ASTRADIAL_API_KEY (ASTRADIAL_API_SECRET),
             or ASTRADIAL_EMAIL and ASTRADIAL_PASSWORD
They are never printed. --simulator rehearses against an empty embedded simulator.
"""


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _run(make: Callable[[], Coroutine[Any, Any, int]], on_interrupt: Callable[[], None]) -> None:
    """Run a command's coroutine; map our errors and Ctrl-C to exit codes."""
    import asyncio

    from ._errors import CliError

    try:
        code = asyncio.run(make())
    except KeyboardInterrupt:
        on_interrupt()
        sys.exit(ExitCode.INTERRUPTED)
    except CliError as exc:
        _fail(exc.message, exc.exit_code)
    except OSError as exc:  # a plan, journal or failed-rows file that cannot be written
        _fail(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}", ExitCode.SETUP)
    except Exception as exc:
        from .._errors import APIError

        if not isinstance(exc, APIError):
            raise  # a defect: its traceback is the report
        # Row errors end as failed rows; what gets here stopped the job while it read the
        # server's state (after the client's own retries).
        message = f"cannot read what exists on the server: {type(exc).__name__}: {exc}"
        _fail(message, ExitCode.SETUP)
    else:
        sys.exit(code)


def _input_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--resource",
            "-r",
            type=click.Choice(RESOURCE_NAMES),
            help="What the rows are (see `audian-async resources`).",
        ),
        click.option(
            "--account",
            metavar="ID_OR_NAME",
            help="Audian account for rows without an `account` column (an id, or a "
            "sub-account's name). Default: the credentials' account.",
        ),
        click.option(
            "--key",
            metavar="FIELD",
            help="The field that finds an existing item (default: the resource's key).",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["csv", "jsonl"]),
            help="Input format (default: from the file name, or its first character).",
        ),
        click.option(
            "--delimiter",
            default=",",
            show_default=True,
            help="CSV delimiter (a single character; `\\t` for tab).",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="Summary format on stdout (json: one machine-readable object).",
        ),
        click.option(
            "--simulator",
            is_flag=True,
            help="Rehearse against an empty embedded simulator (the `simulator` extra).",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 512),
            default=32,
            show_default=True,
            help="Requests in flight at most (the client's limiter follows the server's pace).",
        ),
        click.option(
            "--transport",
            type=click.Choice(["httpx", "aiohttp"]),
            default="httpx",
            show_default=True,
            help="HTTP transport (aiohttp: the `aiohttp` extra, less CPU for big jobs).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="audian-async", prog_name="audian-async")
def cli() -> None:
    """Provision Audian and Astradial from CSV or JSON-lines files.

    `plan` shows what a file would change (nothing is sent); `apply` does it, resumably,
    writing the rows that failed to a file you can fix and apply again.

    \b
      audian-async plan users.csv --resource users
      audian-async apply --plan users.plan.json
      audian-async apply users.failed.csv --resource users
    """


@cli.command()
def resources() -> None:
    """List the resources, their default key and the other keys accepted."""
    from ._resources import RESOURCES

    for r in RESOURCES.values():
        others = ", ".join(r.keys[1:]) or "-"
        click.echo(
            f"{r.name:<18} {r.api:<10} key: {r.default_key:<10} also: {others:<24} {r.summary}"
        )


def _prepare(
    file: str, resource_name: str | None, key: str | None, fmt: str | None, delimiter: str
) -> tuple[Any, Any, str]:
    from ._resources import get_resource
    from ._rows import read_input

    if resource_name is None:
        raise click.UsageError("Missing option '--resource' / '-r'.")
    resource = get_resource(resource_name)
    key = key or resource.default_key
    if key not in resource.keys:
        raise click.BadParameter(
            f"{key!r} cannot find {resource.name}: use one of {', '.join(resource.keys)}",
            param_hint="--key",
        )
    if delimiter == "\\t":
        delimiter = "\t"
    if len(delimiter) != 1:
        raise click.BadParameter("must be one character", param_hint="--delimiter")
    infile = read_input(file, format=fmt, delimiter=delimiter, required_columns=(key,))  # type: ignore[arg-type]
    return resource, infile, key


def _note_unknown_columns(infile: Any, resource: Any) -> None:
    """Say which columns the spec does not know: they are sent as custom fields."""
    from ._diff import flatten
    from ._rows import ACCOUNT_COLUMN

    schema = resource.schemas()[0]
    if infile.format == "csv":
        columns = list(infile.header)
    else:
        seen: dict[str, None] = {}
        for row in infile.rows[:1000]:
            seen.update(dict.fromkeys(flatten(row.fields)))
        columns = list(seen)
    own = {ACCOUNT_COLUMN, *resource.extra_columns, resource.path_column}
    for column in columns:
        if column.startswith("_") or column in own or schema.at(column) is not None:
            continue
        click.echo(
            f"note: {column!r} is not a field of {resource.name} in the spec: it is sent as a "
            "custom field",
            err=True,
        )


def _progress_line(text: str) -> None:
    click.echo(text, err=True)


def _report_invalid(plan_entries: list[Any], limit: int | None = None) -> None:
    shown = 0
    for entry in plan_entries:
        if entry.action != "invalid":
            continue
        if limit is not None and shown >= limit:
            click.echo("  ... (all invalid rows are in the plan / failed-rows file)", err=True)
            return
        for issue in entry.issues:
            click.echo(f"line {entry.line}: {issue}", err=True)
        shown += 1


def _guard_setup(exc: BaseException) -> None:
    from ._connect import setup_failure

    failure = setup_failure(exc)
    if failure is not None:
        raise failure from None


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_input_options
@click.option(
    "--out",
    "plan_path",
    type=click.Path(dir_okay=False),
    help="Where to write the plan (default: FILE's name with .plan.json).",
)
def plan(
    file: str,
    resource: str | None,
    account: str | None,
    key: str | None,
    fmt: str | None,
    delimiter: str,
    output: str,
    simulator: bool,
    concurrency: int,
    transport: str,
    plan_path: str | None,
) -> None:
    """Show what FILE would change, and write the plan; change nothing.

    Every row is checked against the API's spec first (each bad row is reported with its
    line, field and rule), then compared with what exists (found by the key): create,
    update (with the fields that differ), unchanged, or invalid. The plan file masks
    secret values; `apply --plan` reads them from FILE again.

    Exit code 0: no changes; 3: changes to apply; 1: invalid rows (the rest is planned).
    """
    from ._errors import CliError

    try:
        res, infile, key_field = _prepare(file, resource, key, fmt, delimiter)
    except CliError as exc:
        _fail(exc.message, exc.exit_code)
    _note_unknown_columns(infile, res)
    out_path = plan_path or os.path.splitext(file)[0] + ".plan.json"

    async def run() -> int:
        from ._connect import connect
        from ._plan import build_plan, save_plan

        async with connect(res.api, simulator=simulator, transport=transport) as client:
            try:
                the_plan = await build_plan(
                    client, infile, res, key_field, account, concurrency, report=_progress_line
                )
            except Exception as exc:
                _guard_setup(exc)
                raise
        save_plan(the_plan, out_path)
        counts = the_plan.counts()
        if output == "json":
            click.echo(json.dumps(_plan_summary(the_plan, out_path)))
        else:
            _report_invalid(the_plan.entries)
            _print_changes(the_plan.entries)
            click.echo(
                f"{res.name}: {counts['create']} to create, {counts['update']} to update, "
                f"{counts['unchanged']} unchanged, {counts['invalid']} invalid; plan: {out_path}"
            )
        if counts["invalid"]:
            return ExitCode.ROWS_FAILED
        return ExitCode.CHANGES if counts["create"] or counts["update"] else ExitCode.OK

    _run(run, lambda: click.echo("plan interrupted: nothing was changed", err=True))


def _print_changes(entries: list[Any], limit: int = 20) -> None:
    updates = [e for e in entries if e.action == "update"]
    for entry in updates[:limit]:
        click.echo(f"line {entry.line}: update {entry.key}")
        for path, (old, new) in entry.changes.items():
            click.echo(f"    {path}: {_short(old)} -> {_short(new)}")
    if len(updates) > limit:
        click.echo(f"... and {len(updates) - limit} more updates (see the plan file)")


def _short(value: Any) -> str:
    from ._resources import to_plain

    text = json.dumps(to_plain(value), default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _plan_summary(the_plan: Any, path: str) -> dict[str, Any]:
    return {
        "command": "plan",
        "resource": the_plan.resource,
        "key": the_plan.key,
        "plan": path,
        "summary": the_plan.counts(),
        "invalid": [
            {
                "line": e.line,
                "key": e.key,
                "errors": [
                    {"field": i.field, "rule": i.rule, "message": i.message} for i in e.issues
                ],
            }
            for e in the_plan.invalid
        ],
    }


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@_input_options
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Run exactly this plan (made by `plan`); FILE defaults to the plan's input file.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False),
    help="Journal of finished rows, for resuming (default: FILE's name with .journal.jsonl).",
)
@click.option("--no-journal", is_flag=True, help="Keep no journal (a rerun cannot skip work).")
@click.option(
    "--failed",
    "failed_path",
    type=click.Path(dir_okay=False),
    help="Where to write failed rows (default: FILE's name with .failed.csv / .failed.jsonl).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress display (default: a bar on a terminal, a line every 10 s otherwise).",
)
def apply(
    file: str | None,
    resource: str | None,
    account: str | None,
    key: str | None,
    fmt: str | None,
    delimiter: str,
    output: str,
    simulator: bool,
    concurrency: int,
    transport: str,
    plan_path: str | None,
    journal: str | None,
    no_journal: bool,
    failed_path: str | None,
    progress: bool | None,
) -> None:
    """Create and update what FILE (or a plan) says, on the bulk runner.

    Without --plan, FILE is planned first and applied at once. With --plan, exactly that
    plan is run: a row that changed on the server since the plan was made is reported as a
    conflict (never overwritten), and FILE must be unchanged since.

    Resumable: a journal records finished rows; rerun the same command after a Ctrl-C or a
    crash and only what is left is done (a create that may have reached the server is looked
    up before it is sent again, never duplicated). Rate limits and transient errors are
    retried. Rows that fail (and invalid rows) go to the failed-rows file: the original row
    plus `_error`, `_status`, `_request_id`, `_fields`; fix it and apply it as an input.

    Exit code 0: done (or nothing to do); 1: some rows failed; 130: interrupted.
    """
    from ._apply import ApplyReport
    from ._errors import CliError, InputFileError

    plan_data: dict[str, Any] | None = None
    try:
        if plan_path is not None:
            from ._plan import file_sha256, load_plan

            plan_data = load_plan(plan_path)
            file = file or str(plan_data["input"]["path"])
            resource = resource or str(plan_data["resource"])
            key = key or str(plan_data["key"])
            if resource != plan_data["resource"] or key != plan_data["key"]:
                raise click.UsageError("--resource and --key must match the plan's")
            if not os.path.exists(file) or file_sha256(file) != plan_data["input"]["sha256"]:
                raise InputFileError(
                    file,
                    "the input file changed (or is missing) since the plan was made: plan again",
                )
        if file is None:
            raise click.UsageError("Give FILE, or --plan.")
        res, infile, key_field = _prepare(file, resource, key, fmt, delimiter)
    except CliError as exc:
        _fail(exc.message, exc.exit_code)
    assert file is not None
    from ._failed import FailedRows, default_path
    from ._files import ensure_private

    stem = os.path.splitext(file)[0]
    journal_path = None if no_journal else (journal or f"{stem}.journal.jsonl")
    report = ApplyReport(journal_path=journal_path)
    failed = FailedRows(failed_path or default_path(file, infile.format), infile)
    try:
        if os.path.exists(failed.path) and os.path.abspath(failed.path) != os.path.abspath(file):
            os.remove(failed.path)  # our own file from an earlier run
        if journal_path is not None:
            ensure_private(journal_path)
    except OSError as exc:
        _fail(f"cannot write {exc.filename}: {exc.strerror or exc}", ExitCode.SETUP)

    async def run() -> int:
        from ._apply import apply_entries
        from ._connect import connect
        from ._plan import build_plan, entries_from_plan

        async with connect(res.api, simulator=simulator, transport=transport) as client:
            try:
                if plan_data is not None:
                    if plan_data.get("target") != client.base_url:
                        raise CliError(
                            f"the plan was made against {plan_data.get('target')}, not "
                            f"{client.base_url}: plan again against this server"
                        )
                    entries = entries_from_plan(plan_data, infile, str(plan_path))
                else:
                    made = await build_plan(
                        client,
                        infile,
                        res,
                        key_field,
                        account,
                        concurrency,
                        report=None if progress is False else _progress_line,
                    )
                    entries = made.entries
                await apply_entries(
                    client,
                    res,
                    entries,
                    key_field,
                    report,
                    failed,
                    from_plan=plan_data is not None,
                    journal=journal_path,
                    concurrency=concurrency,
                    progress=progress,
                )
            except Exception as exc:
                _guard_setup(exc)
                raise
        if output == "json":
            click.echo(json.dumps({"command": "apply", "resource": res.name, **report.as_json()}))
        else:
            if plan_data is None:
                _report_invalid(entries, limit=50)
            click.echo(_apply_line(res.name, report))
        return ExitCode.OK if report.ok else ExitCode.ROWS_FAILED

    def interrupted() -> None:
        report.interrupted = True
        if output == "json":
            click.echo(json.dumps({"command": "apply", "resource": res.name, **report.as_json()}))
        else:
            click.echo(_apply_line(res.name, report))

    _run(run, interrupted)


def _apply_line(name: str, report: Any) -> str:
    parts = [
        f"{report.created} created",
        f"{report.updated} updated",
        f"{report.unchanged} unchanged",
    ]
    if report.already_done:
        parts.append(f"{report.already_done} already done (journal)")
    parts += [f"{report.invalid} invalid", f"{report.failed} failed"]
    if report.conflicts:
        parts.append(f"{report.conflicts} in conflict")
    text = f"{name}: " + ", ".join(parts) + f" in {report.seconds:.1f}s"
    if report.failed_path:
        text += f"; failed rows: {report.failed_path}"
    if report.interrupted and not report.started:
        text = f"{name}: interrupted while planning: nothing was changed"
    elif report.interrupted:
        text += (
            f"; INTERRUPTED with {report.not_done} rows not done: rerun the same command to resume"
        )
    return text


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="audian-async")
