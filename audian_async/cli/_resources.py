"""The resources the command line provisions, and how each is listed, read, created and updated.

Every resource works on plain dicts (a row's fields, a fetched document's JSON) through the
SDK's public methods, so validation, retries, rate limiting and errors are the SDK's own.

Default keys (the field that finds an existing item; ``--key`` picks another listed one):

==========================  ============  ==============================================
resource                    default key   other keys
==========================  ============  ==============================================
users (Audian)              username      email
devices                     name          mac_address (``owner``: a username)
callflows                   numbers       name (a callflow is found by its first number)
phone_numbers               number        (the number itself, E.164)
accounts (sub-accounts)     name          realm
vmboxes                     mailbox       name (``owner``: a username)
astradial-users             extension     email, username
astradial-queues            number        name (``members``: extensions, ``;``-separated)
astradial-dids              number
==========================  ============  ==============================================

``username``, ``email`` and ``realm`` keys match whatever their case (Kazoo lower-cases
usernames).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any, Literal

from ._schema import InputSchema

__all__ = ["RESOURCES", "Resource", "get_resource"]

Api = Literal["audian", "astradial"]

_CASELESS_KEYS = frozenset({"username", "email", "realm"})


def to_plain(value: Any) -> Any:
    """A model (or list of models) as JSON-ready data."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


@lru_cache(maxsize=64)
def _parameters(function: Callable[..., Any]) -> frozenset[str]:
    names = {
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    return frozenset(names - {"extra_body", "extra_headers", "extra_query", "timeout"})


async def call_with_fields(method: Callable[..., Awaitable[Any]], *args: Any, **body: Any) -> Any:
    """Call a generated method: documented fields as arguments, the rest as ``extra_body``."""
    known = _parameters(getattr(method, "__func__", method))
    kwargs = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    return await method(*args, **kwargs, extra_body=extra or None)


def get_path(data: Any, dotted: str) -> Any:
    """The value at ``dotted`` in nested dicts, or ``None``."""
    for part in dotted.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


class Resource:
    """A resource of one API: its input schema, keys and calls (the generic CRUD shape)."""

    def __init__(
        self,
        name: str,
        api: Api,
        attr: str,
        schema: str,
        keys: tuple[str, ...],
        summary: str,
        *,
        update_schema: str | None = None,
        path_column: str | None = None,
        extra_columns: tuple[str, ...] = (),
        filterable: bool = True,
    ) -> None:
        self.name = name
        self.api = api
        self.attr = attr
        self.schema_name = schema
        self.update_schema_name = update_schema or schema
        self.keys = keys
        self.summary = summary
        self.path_column = path_column  # a column that goes to the URL, not the body
        self.extra_columns = extra_columns  # columns handled by the resource, not the body
        # Whether its listing finds an item by a ``filter_<key>`` query (Audian listings do,
        # except on list fields such as a callflow's numbers: a filter compares whole values).
        self.filterable = filterable and api == "audian"
        self._schemas: tuple[InputSchema, InputSchema] | None = None

    @property
    def default_key(self) -> str:
        """The key used without ``--key``."""
        return self.keys[0]

    def schemas(self) -> tuple[InputSchema, InputSchema]:
        """The create and update input schemas (imports the API's schema registry once)."""
        if self._schemas is None:
            if self.api == "audian":
                from .._generated.audian._schemas import SCHEMAS
            else:
                from .._generated.astradial._schemas import SCHEMAS
            create = InputSchema(self.schema_name, SCHEMAS)
            update = (
                create
                if self.update_schema_name == self.schema_name
                else InputSchema(self.update_schema_name, SCHEMAS)
            )
            self._schemas = (create, update)
        return self._schemas

    @staticmethod
    def normalise_key(field: str, value: Any) -> str | None:
        """The comparable form of a key value (the first element of a list)."""
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if value is None or value == "":
            return None
        text = str(value).strip()
        return text.lower() if field in _CASELESS_KEYS else text

    def split(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A row's fields as (body sent to the API, columns the resource handles itself)."""
        own = set(self.extra_columns)
        if self.path_column:
            own.add(self.path_column)
        body = {k: v for k, v in fields.items() if k not in own}
        extras = {k: v for k, v in fields.items() if k in own}
        return body, extras

    def _res(self, view: Any) -> Any:
        return getattr(view, self.attr)

    def key_of_item(self, item: Mapping[str, Any], key: str) -> list[str]:
        """The key values an existing item answers to (a callflow: each of its numbers)."""
        value = get_path(item, key)
        values = value if isinstance(value, list) else [value]
        out = [self.normalise_key(key, v) for v in values]
        return [v for v in out if v is not None]

    def id_of(self, item: Mapping[str, Any]) -> str:
        """The id of an existing item."""
        return str(item.get("id"))

    async def items(self, view: Any) -> list[dict[str, Any]]:
        """Every existing item (listing summaries)."""
        return [to_plain(item) async for item in self._res(view).list()]

    async def find(self, view: Any, key: str, value: Any) -> dict[str, Any] | None:
        """The existing item whose ``key`` is ``value``, or ``None`` (a fresh lookup)."""
        wanted = self.normalise_key(key, value)
        if wanted is None:
            return None
        if isinstance(value, list | tuple):
            value = value[0]
        if self.filterable:
            tries = [str(value)]
            if key in _CASELESS_KEYS and str(value) != wanted:
                tries.append(wanted)
            for text in tries:
                async for item in self._lister(view)(filters={key: text}):
                    plain = to_plain(item)
                    if wanted in self.key_of_item(plain, key):
                        return dict(plain)
            return None
        for plain in await self.items(view):
            if wanted in self.key_of_item(plain, key):
                return plain
        return None

    def _lister(self, view: Any) -> Any:
        return self._res(view).list

    async def get(self, view: Any, item_id: str) -> dict[str, Any]:
        """The whole document of one item."""
        doc: dict[str, Any] = to_plain(await self._res(view).get(item_id))
        return doc

    async def create(self, view: Any, body: dict[str, Any], extras: dict[str, Any]) -> Any:
        """Create one item."""
        return await call_with_fields(self._res(view).create, **body)

    async def update(
        self, view: Any, item_id: str, changes: dict[str, Any], extras: dict[str, Any]
    ) -> Any:
        """Change the given fields of one item (PATCH: the other fields stay as they are)."""
        method = "patch" if self.api == "audian" else "update"
        return await getattr(self._res(view), method)(item_id, body=changes)

    async def extra_changes(
        self, view: Any, item_id: str, extras: dict[str, Any]
    ) -> dict[str, tuple[Any, Any]]:
        """Differences in the columns the resource handles itself (queue members)."""
        return {}


class _SubAccounts(Resource):
    def _lister(self, view: Any) -> Any:
        return view.accounts.list_sub_accounts

    async def items(self, view: Any) -> list[dict[str, Any]]:
        return [to_plain(a) async for a in view.accounts.list_sub_accounts()]

    async def get(self, view: Any, item_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = to_plain(await view.for_account(item_id).accounts.get())
        return doc

    async def create(self, view: Any, body: dict[str, Any], extras: dict[str, Any]) -> Any:
        return await call_with_fields(view.accounts.create_sub_account, **body)

    async def update(
        self, view: Any, item_id: str, changes: dict[str, Any], extras: dict[str, Any]
    ) -> Any:
        return await view.for_account(item_id).accounts.patch(body=changes)


class _PhoneNumbers(Resource):
    def key_of_item(self, item: Mapping[str, Any], key: str) -> list[str]:
        value = self.normalise_key(key, self.id_of(item))
        return [value] if value is not None else []

    def id_of(self, item: Mapping[str, Any]) -> str:
        # Listings name the number ``number``, a fetched document ``id``.
        return str(item.get("id") or item.get("number"))

    async def find(self, view: Any, key: str, value: Any) -> dict[str, Any] | None:
        from .._errors import NotFoundError

        try:
            found: dict[str, Any] = to_plain(await view.phone_numbers.get(str(value)))
        except NotFoundError:
            return None
        return found

    async def create(self, view: Any, body: dict[str, Any], extras: dict[str, Any]) -> Any:
        return await view.phone_numbers.add(str(extras["number"]), body=body)


def _member_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    parts = value if isinstance(value, list) else str(value).split(";")
    return sorted({str(p).strip() for p in parts if str(p).strip()})


class _Queues(Resource):
    async def _members(self, view: Any, queue_id: str) -> list[str]:
        members = await view.queues.list_members(queue_id)
        return sorted({str(m.extension) for m in members if m.extension})

    async def _add_members(self, view: Any, queue_id: str, wanted: list[str]) -> None:
        have = set(await self._members(view, queue_id)) if wanted else set()
        for extension in wanted:
            if extension not in have:
                await view.queues.add_member(queue_id, extension=extension)

    async def create(self, view: Any, body: dict[str, Any], extras: dict[str, Any]) -> Any:
        queue = await call_with_fields(view.queues.create, **body)
        await self._add_members(view, str(queue.id), _member_list(extras.get("members")))
        return queue

    async def update(
        self, view: Any, item_id: str, changes: dict[str, Any], extras: dict[str, Any]
    ) -> Any:
        result = await view.queues.update(item_id, body=changes) if changes else None
        await self._add_members(view, item_id, _member_list(extras.get("members")))
        return result if result is not None else {"id": item_id}

    async def extra_changes(
        self, view: Any, item_id: str, extras: dict[str, Any]
    ) -> dict[str, tuple[Any, Any]]:
        wanted = _member_list(extras.get("members"))
        if not wanted:
            return {}
        have = await self._members(view, item_id)
        if set(wanted) <= set(have):
            return {}
        return {"members": (have, sorted(set(have) | set(wanted)))}


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("users", "audian", "users", "UserInput", ("username", "email"), "Audian users"),
        Resource(
            "devices",
            "audian",
            "devices",
            "DeviceInput",
            ("name", "mac_address"),
            "SIP devices (owner: a username)",
            extra_columns=("owner",),
        ),
        Resource(
            "callflows",
            "audian",
            "callflows",
            "CallflowInput",
            ("numbers", "name"),
            "callflows",
            filterable=False,
        ),
        _PhoneNumbers(
            "phone_numbers",
            "audian",
            "phone_numbers",
            "PhoneNumberInput",
            ("number",),
            "phone numbers (DIDs) of an account",
            path_column="number",
        ),
        _SubAccounts(
            "accounts", "audian", "accounts", "AccountInput", ("name", "realm"), "sub-accounts"
        ),
        Resource(
            "vmboxes",
            "audian",
            "vmboxes",
            "VoicemailBoxInput",
            ("mailbox", "name"),
            "voicemail boxes (owner: a username)",
            extra_columns=("owner",),
        ),
        Resource(
            "astradial-users",
            "astradial",
            "users",
            "UserInput",
            ("extension", "email", "username"),
            "Astradial users (extensions)",
        ),
        _Queues(
            "astradial-queues",
            "astradial",
            "queues",
            "QueueInput",
            ("number", "name"),
            "Astradial call queues, with members",
            extra_columns=("members",),
        ),
        Resource(
            "astradial-dids",
            "astradial",
            "dids",
            "DidCreateInput",
            ("number",),
            "Astradial phone numbers (DIDs)",
            update_schema="DidInput",
        ),
    )
}
#: Accepted spellings: ``sub-accounts`` for ``accounts``, ``phone-numbers`` ...
ALIASES = {"sub-accounts": "accounts", "subaccounts": "accounts", "phone-numbers": "phone_numbers"}


def get_resource(name: str) -> Resource:
    """The resource called ``name`` (KeyError if unknown)."""
    return RESOURCES[ALIASES.get(name, name)]
