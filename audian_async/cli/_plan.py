"""Planning: what each row would do (create, update with a field diff, unchanged, invalid).

A plan is built from the input file and what exists on the server (filtered lookups for a few
rows of an account, one listing of the account for many; then the full document of every row
that matches an existing item). Nothing is changed.
Saved as JSON (mode 0600) with secret values masked: ``apply --plan`` reads the values from
the input file again, and refuses a file that changed since the plan was made.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from .._errors import NotFoundError, ValidationError
from .._validate import validate_body
from ._diff import diff, fingerprint, flatten, mask, nest
from ._errors import InputFileError
from ._files import open_private
from ._resources import Resource, get_path, get_resource
from ._rows import InputFile, InputRow
from ._schema import InputSchema

__all__ = ["Entry", "Issue", "Plan", "build_plan", "load_plan", "save_plan"]

Action = Literal["create", "update", "unchanged", "invalid"]
PLAN_VERSION = 1
_ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Issue:
    """Why a row is invalid: the field, the rule it breaks, and a message (never the value)."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (rule: {self.rule})"


@dataclass
class Entry:
    """One row of the plan."""

    row: InputRow
    action: Action
    key: str | None = None
    account: str | None = None  # the account id the row acts on (Audian), None: the default
    body: dict[str, Any] = field(default_factory=dict)  # fields sent on create (secrets too)
    extras: dict[str, Any] = field(default_factory=dict)  # columns the resource handles
    item_id: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # path: (server, row)
    issues: list[Issue] = field(default_factory=list)
    fingerprint: str | None = None
    create_issue: Issue | None = None  # why the row is not a whole create, if it is not

    @property
    def line(self) -> int:
        """The row's line in the input file."""
        return self.row.line

    def change_body(self) -> dict[str, Any]:
        """What an update sends: the changed fields with the row's values, nested."""
        flat = flatten(self.body)
        return nest({path: flat[path] for path in self.changes if path in flat})


@dataclass
class Plan:
    """A whole plan."""

    resource: str
    key: str
    input_path: str
    input_sha256: str
    entries: list[Entry]
    target: str = ""  # the server's base URL the plan was made against
    created: float = field(default_factory=time.time)

    def counts(self) -> dict[str, int]:
        """Rows per action."""
        out = {"create": 0, "update": 0, "unchanged": 0, "invalid": 0}
        for entry in self.entries:
            out[entry.action] += 1
        return out

    @property
    def invalid(self) -> list[Entry]:
        """The invalid rows, in file order."""
        return [e for e in self.entries if e.action == "invalid"]


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _issue(exc: ValidationError) -> Issue:
    return Issue(exc.field, exc.rule, exc.detail)


def _check(body: Any, schema: InputSchema, partial: bool) -> Issue | None:
    try:
        validate_body(body, schema.root, schema.registry, partial=partial)
    except ValidationError as exc:
        return _issue(exc)
    return None


def prepare(
    infile: InputFile, resource: Resource, key: str, default_account: str | None
) -> list[Entry]:
    """Read, convert and check every row on its own (nothing is sent): entries that are
    either invalid or waiting for the server's state (action ``create`` for now)."""
    create_schema, _ = resource.schemas()
    entries: list[Entry] = []
    seen: dict[tuple[str | None, str], int] = {}
    for row in infile.rows:
        if row.problem is not None:
            entries.append(Entry(row, "invalid", issues=[Issue("row", "format", row.problem)]))
            continue
        fields = create_schema.coerce(row.fields) if infile.format == "csv" else row.fields
        body, extras = resource.split(fields)
        account = row.account or default_account
        entry = Entry(row, "create", account=account, body=body, extras=extras)
        entries.append(entry)
        if account is not None and resource.api == "astradial":
            entry.issues.append(
                Issue("account", "unsupported", "Astradial has no sub-accounts: remove the column")
            )
        entry.key = resource.normalise_key(key, get_path(fields, key))
        if entry.key is None:
            entry.issues.append(Issue(key, "required", "is required (the key of this resource)"))
        else:
            other = seen.setdefault((account, entry.key), row.line)
            if other != row.line:
                entry.issues.append(
                    Issue(key, "unique", f"the same {key} as line {other} (one row per item)")
                )
        # One check for a row that is a whole create; a row that is not may still be an update.
        entry.create_issue = _check(body, create_schema, partial=False)
        problem = entry.create_issue and _check(body, create_schema, partial=True)
        if problem is not None:
            entry.issues.append(problem)
        if entry.issues:
            entry.action = "invalid"
    return entries


async def _resolve_accounts(client: Any, entries: list[Entry]) -> None:
    """Rows naming their account by name: the sub-account's id (names are matched caselessly)."""
    names = {e.account for e in entries if e.account and not _ACCOUNT_ID.match(e.account)}
    names.discard(None)
    if not names:
        return
    found: dict[str, list[str]] = {}
    async for account in client.accounts.list_descendants():
        name = getattr(account, "name", None)
        if isinstance(name, str):
            found.setdefault(name.strip().lower(), []).append(str(account.id))
    for entry in entries:
        label = entry.account
        if entry.action == "invalid" or not label or _ACCOUNT_ID.match(label):
            continue
        ids = found.get(label.strip().lower(), [])
        if len(ids) == 1:
            entry.account = ids[0]
        else:
            why = "no sub-account has this name" if not ids else "several sub-accounts have it"
            entry.issues.append(Issue("account", "exists", f"{why}: use the account id"))
            entry.action = "invalid"


async def _resolve_owners(client: Any, entries: list[Entry]) -> None:
    """Rows naming their owner by username (an ``owner`` column): the user's id, per account."""
    wanted = [e for e in entries if e.action != "invalid" and e.extras.get("owner")]
    by_account: dict[str | None, dict[str, list[str]]] = {}
    for account in {e.account for e in wanted}:
        names: dict[str, list[str]] = {}
        async for user in view_for(client, account).users.list():
            if isinstance(user.username, str):
                names.setdefault(user.username.lower(), []).append(str(user.id))
        by_account[account] = names
    for entry in wanted:
        ids = by_account[entry.account].get(str(entry.extras["owner"]).strip().lower(), [])
        if len(ids) == 1:
            entry.body["owner_id"] = ids[0]
        else:
            why = "no user has this username" if not ids else "several users have it"
            entry.issues.append(Issue("owner", "exists", f"{why} in the row's account"))
            entry.action = "invalid"


_VIEWS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def view_for(client: Any, account: str | None) -> Any:
    """The client acting on ``account`` (the credentials' own account for ``None``), one
    view per account (a view's resources keep their route caches)."""
    if account is None:
        return client
    views = _VIEWS.setdefault(client, {})
    view = views.get(account)
    if view is None:
        view = views[account] = client.for_account(account)
    return view


#: Up to this many rows of one account, existing items are found one by one with filtered
#: lookups (``filter_username=...``); above it, by one listing of the account.
FILTERED_LOOKUPS = 25


async def index_existing(
    client: Any, resource: Resource, key: str, entries: list[Entry], concurrency: int = 16
) -> dict[tuple[str | None, str], dict[str, Any]]:
    """The existing items the entries' keys name, by (account, key).

    A few rows of an account (an Audian one, whose listings filter) are looked up one by one;
    many rows, by listing the whole account once (cheaper than a lookup per row).
    """
    out: dict[tuple[str | None, str], dict[str, Any]] = {}
    groups: dict[str | None, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.account, []).append(entry)
    limiter = anyio.CapacityLimiter(concurrency)

    async def look_up(account: str | None, entry: Entry) -> None:
        async with limiter:
            raw = get_path({**entry.body, **entry.extras}, key)
            item = await resource.find(view_for(client, account), key, raw)
        if item is not None and entry.key is not None:
            out.setdefault((account, entry.key), item)

    for account, group in groups.items():
        if resource.filterable and len(group) <= FILTERED_LOOKUPS:
            async with anyio.create_task_group() as tg:
                for entry in group:
                    tg.start_soon(look_up, account, entry)
            continue
        for item in await resource.items(view_for(client, account)):
            for value in resource.key_of_item(item, key):
                out.setdefault((account, value), item)
    return out


async def build_plan(
    client: Any,
    infile: InputFile,
    resource: Resource,
    key: str,
    default_account: str | None = None,
    concurrency: int = 16,
    report: Callable[[str], object] | None = None,
    interval: float = 10.0,
) -> Plan:
    """The plan of ``infile`` against the server (reads only).

    ``report`` is called with a progress line every ``interval`` seconds while the rows that
    match existing items are compared (one read each: at a server's rate limit, minutes).
    """
    entries = prepare(infile, resource, key, default_account)
    if resource.api == "audian":
        await _resolve_accounts(client, entries)
    if "owner" in resource.extra_columns:
        await _resolve_owners(client, entries)
    pending = [e for e in entries if e.action != "invalid"]
    existing = await index_existing(client, resource, key, pending, concurrency)
    create_schema, update_schema = resource.schemas()
    matched: list[tuple[Entry, str]] = []
    for entry in pending:
        assert entry.key is not None
        item = existing.get((entry.account, entry.key))
        if item is None:
            if entry.create_issue is not None:
                entry.issues.append(entry.create_issue)
                entry.action = "invalid"
        else:
            matched.append((entry, resource.id_of(item)))
    limiter = anyio.CapacityLimiter(concurrency)
    caseless = frozenset({key}) if key in ("username", "email", "realm") else frozenset()

    async def compare(entry: Entry, item_id: str) -> None:
        async with limiter:
            view = view_for(client, entry.account)
            try:
                doc = await resource.get(view, item_id)
            except NotFoundError:  # deleted since it was listed: the row creates it again
                if entry.create_issue is not None:
                    entry.issues.append(entry.create_issue)
                    entry.action = "invalid"
                return
            extra_changes = await resource.extra_changes(view, item_id, entry.extras)
        entry.item_id = item_id
        entry.changes = diff(entry.body, doc, is_secret=create_schema.is_secret, caseless=caseless)
        entry.fingerprint = fingerprint(list(flatten(entry.body)), doc)
        problem = _check(entry.change_body(), update_schema, partial=True)
        entry.changes.update(extra_changes)
        if problem is not None:
            entry.issues.append(problem)
            entry.action = "invalid"
        else:
            entry.action = "update" if entry.changes else "unchanged"

    compared = 0

    async def counted(entry: Entry, item_id: str) -> None:
        nonlocal compared
        await compare(entry, item_id)
        compared += 1

    async def tell(scope: anyio.CancelScope) -> None:
        with scope:
            while report is not None:
                await anyio.sleep(interval)
                report(
                    f"plan: compared {compared}/{len(matched)} rows with existing {resource.name}"
                )

    async with anyio.create_task_group() as outer:
        reporting = anyio.CancelScope()
        outer.start_soon(tell, reporting)
        async with anyio.create_task_group() as tg:
            for entry, item_id in matched:
                tg.start_soon(counted, entry, item_id)
        reporting.cancel()
    return Plan(
        resource=resource.name,
        key=key,
        input_path=infile.path,
        input_sha256=file_sha256(infile.path),
        entries=entries,
        target=str(getattr(client, "base_url", "")),
    )


# ------------------------------------------------------------------------------ plan files


def _entry_json(entry: Entry, resource: Resource) -> dict[str, Any]:
    is_secret = resource.schemas()[0].is_secret
    out: dict[str, Any] = {"line": entry.line, "action": entry.action, "key": entry.key}
    if entry.account is not None:
        out["account"] = entry.account
    if entry.item_id is not None:
        out["id"] = entry.item_id
    if "owner" in entry.extras and "owner_id" in entry.body:
        out["owner_id"] = entry.body["owner_id"]
    if entry.action == "create":
        out["fields"] = {p: mask(p, v, is_secret) for p, v in flatten(entry.body).items()}
        if entry.extras:
            out["fields"].update(entry.extras)
    if entry.changes:
        out["changes"] = {
            p: {"from": mask(p, old, is_secret), "to": mask(p, new, is_secret)}
            for p, (old, new) in entry.changes.items()
        }
    if entry.fingerprint is not None:
        out["server_fingerprint"] = entry.fingerprint
    if entry.issues:
        out["errors"] = [
            {"field": i.field, "rule": i.rule, "message": i.message} for i in entry.issues
        ]
    return out


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON document (secret values masked)."""
    resource = get_resource(plan.resource)
    return {
        "audian_async_plan": PLAN_VERSION,
        "resource": plan.resource,
        "key": plan.key,
        "input": {"path": plan.input_path, "sha256": plan.input_sha256},
        "target": plan.target,
        "created": plan.created,
        "summary": plan.counts(),
        "rows": [_entry_json(e, resource) for e in plan.entries],
    }


def save_plan(plan: Plan, path: str) -> None:
    """Write the plan file, readable by its owner only."""
    with open_private(path) as f:
        json.dump(plan_json(plan), f, indent=1, ensure_ascii=False, default=str)
        f.write("\n")


def load_plan(path: str) -> dict[str, Any]:
    """Read a plan file (an :class:`InputFileError` if it is not one)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise InputFileError(path, f"cannot read the plan ({exc.strerror or exc})") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise InputFileError(path, f"not a plan file (invalid JSON: {exc})", line) from None
    if not isinstance(data, Mapping) or data.get("audian_async_plan") != PLAN_VERSION:
        raise InputFileError(path, "not a plan file made by `audian-async plan`")
    return dict(data)


def entries_from_plan(data: Mapping[str, Any], infile: InputFile, plan_path: str) -> list[Entry]:
    """The plan's entries with the row values read again from the (unchanged) input file."""
    resource = get_resource(str(data["resource"]))
    create_schema, _ = resource.schemas()
    by_line = {row.line: row for row in infile.rows}
    entries: list[Entry] = []
    for item in data.get("rows", []):
        row = by_line.get(int(item["line"]))
        if row is None:
            raise InputFileError(plan_path, f"the plan names line {item['line']}, not in the input")
        fields = create_schema.coerce(row.fields) if infile.format == "csv" else row.fields
        body, extras = resource.split(fields)
        entry = Entry(
            row,
            item["action"],
            key=item.get("key"),
            account=item.get("account"),
            body=body,
            extras=extras,
            item_id=item.get("id"),
            fingerprint=item.get("server_fingerprint"),
        )
        if item.get("owner_id"):
            entry.body["owner_id"] = item["owner_id"]  # resolved from the owner's username
        entry.changes = {
            p: (c.get("from"), c.get("to")) for p, c in item.get("changes", {}).items()
        }
        entry.issues = [Issue(i["field"], i["rule"], i["message"]) for i in item.get("errors", [])]
        entries.append(entry)
    return entries
