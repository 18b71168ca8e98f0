"""Applying a plan on the bulk runner: journal, reconcile-before-retry, progress, failed rows.

Every create and update of the plan is one input of :func:`audian_async.bulk.run_bulk`. Its
journal key is the row's account, key and a digest of its fields (secrets left out), so a
rerun of the same command skips what was done and a row edited since is done again. A create
whose outcome is unknown (a dropped connection, a gateway error, an interrupted run) is looked
up by its key before it is sent again: never a duplicate.

With a plan (``apply --plan``), a row changed on the server since the plan was made is a
conflict: it is reported (and written to the failed rows), never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from ..bulk import Failure, Success, run_bulk
from ..bulk._journal import load_state
from ._diff import diff, fingerprint, flatten, mask
from ._failed import FailedRows, RowError, describe
from ._plan import Entry, index_existing, view_for
from ._resources import Resource, get_path

__all__ = ["ApplyReport", "RowConflict", "apply_entries", "bucket_of", "runner_options"]


class RowConflict(Exception):
    """The item changed on the server (or appeared there) since the plan was made."""

    status = "conflict"


@dataclass
class ApplyReport:
    """What an apply did (counts are rows)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    failed: int = 0
    conflicts: int = 0
    already_done: int = 0  # skipped: the journal says an earlier run did them
    not_done: int = 0  # left when the run was interrupted
    reconciled: int = 0
    interrupted: bool = False
    started: bool = False  # the rows' changes began (planning and checks are over)
    seconds: float = 0.0
    failed_path: str | None = None
    journal_path: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every row is done."""
        return not (self.invalid or self.failed or self.conflicts or self.interrupted)

    def as_json(self) -> dict[str, Any]:
        """The machine-readable summary."""
        return {k: v for k, v in self.__dict__.items()}


def journal_key(entry: Entry, is_secret: Callable[[str], bool]) -> str:
    """Stable across runs for the same row content; secrets never enter the digest."""
    flat = {p: mask(p, v, is_secret) for p, v in flatten(entry.body).items()}
    flat.update({f"+{k}": v for k, v in entry.extras.items()})
    text = json.dumps(flat, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{entry.account or '-'}|{entry.key}|{digest}"


def bucket_of(entry: Entry, own_account: str | None) -> str | None:
    """The rate-limit bucket of a row: its account (Kazoo keeps one bucket per account)."""
    return entry.account or own_account


def runner_options(key: Callable[[Entry], str], client: Any) -> dict[str, Any]:
    """How each row is handed to the bulk runner, scheduled by its account's bucket.

    Rows of one file may act on many accounts (the ``account`` column): with ``bucket=``, rows
    of an account whose bucket is believed empty do not hold workers that rows of other
    accounts could use, and the progress shows the job's rate-limit waits. Astradial has no
    accounts: its rows share the client's one limiter.
    """
    options: dict[str, Any] = {"key": key, "client": client}
    own_account = getattr(client, "account_id", None)
    if hasattr(client, "for_account") and own_account is not None:
        options["bucket"] = lambda entry: bucket_of(entry, own_account)
    return options


async def apply_entries(
    client: Any,
    resource: Resource,
    entries: list[Entry],
    key_field: str,
    report: ApplyReport,
    failed: FailedRows,
    *,
    from_plan: bool,
    journal: str | None,
    concurrency: int,
    progress: bool | None,
) -> None:
    """Run the plan's creates and updates; count into ``report``, write failures to ``failed``."""
    is_secret = resource.schemas()[0].is_secret
    started = anyio.current_time()
    for entry in entries:
        if entry.action == "invalid":
            report.invalid += 1
            failed.add(
                entry.row,
                RowError(
                    "invalid: " + "; ".join(str(i) for i in entry.issues),
                    "invalid",
                    None,
                    {i.field: {i.rule: i.message} for i in entry.issues},
                ),
            )
        elif entry.action == "unchanged":
            report.unchanged += 1
    work = [e for e in entries if e.action in ("create", "update")]
    taken: set[tuple[str | None, str]] = set()
    if from_plan:
        creates = [e for e in work if e.action == "create"]
        taken = set(await index_existing(client, resource, key_field, creates, concurrency))

    async def operation(entry: Entry) -> Any:
        view = view_for(client, entry.account)
        if entry.action == "create":
            if (entry.account, entry.key) in taken:
                raise RowConflict(
                    f"a {resource.name} item with {key_field} {entry.key!r} was created on the "
                    "server since the plan was made (plan again)"
                )
            return await resource.create(view, entry.body, entry.extras)
        assert entry.item_id is not None
        if from_plan and entry.fingerprint is not None:
            doc = await resource.get(view, entry.item_id)
            own_columns = any(path not in flatten(entry.body) for path in entry.changes)
            if not own_columns and not diff(entry.body, doc, is_secret=is_secret):
                return doc  # already as the row wants it (an earlier attempt landed)
            if fingerprint(list(flatten(entry.body)), doc) != entry.fingerprint:
                raise RowConflict(
                    f"changed on the server since the plan was made ({key_field} "
                    f"{entry.key!r}); plan again to see the new differences"
                )
        return await resource.update(view, entry.item_id, entry.change_body(), entry.extras)

    async def reconcile(entry: Entry) -> Any:
        if entry.action != "create":
            return None  # an update (PATCH) is safe to send again
        raw = get_path({**entry.body, **entry.extras}, key_field)  # as written: filters match case
        return await resource.find(view_for(client, entry.account), key_field, raw)

    def on_outcome(outcome: Success[Entry, Any] | Failure[Entry]) -> None:
        entry = outcome.input
        if isinstance(outcome, Success):
            if entry.action == "create":
                report.created += 1
            else:
                report.updated += 1
            if outcome.reconciled:
                report.reconciled += 1
            return
        error = describe(outcome.error)
        if isinstance(outcome.error, RowConflict):
            report.conflicts += 1
            error.status = "conflict"
        else:
            report.failed += 1
        failed.add(entry.row, error)

    keys = {id(e): journal_key(e, is_secret) for e in work}
    if journal is not None:
        done_before = load_state(journal).done
        report.already_done = sum(1 for k in keys.values() if k in done_before)
    options = runner_options(lambda e: keys[id(e)], client)
    report.started = True
    try:
        if work:
            summary = await run_bulk(
                operation,
                work,
                concurrency=concurrency,
                journal=journal,
                reconcile=reconcile,
                progress=progress,
                on_outcome=on_outcome,
                unit=resource.name,
                **options,
            )
            report.already_done = summary.skipped
    except (KeyboardInterrupt, anyio.get_cancelled_exc_class()):
        report.interrupted = True
        done = report.created + report.updated + report.failed + report.conflicts
        report.not_done = max(0, len(work) - done - report.already_done)
        raise
    finally:
        report.seconds = anyio.current_time() - started
        failed.close()
        report.failed_path = failed.path if failed.count else None
