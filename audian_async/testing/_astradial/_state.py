"""State of the simulated Astradial server: organisations, rows, tokens, and the request context."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import re
import struct
import threading
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._config import SimulatorConfig
from .._sim_core import Core
from .._unique import UniqueIndex

logger = logging.getLogger("audian_async.testing")

#: Seeded data is dated from here (deterministic, independent of the wall clock).
ANCHOR = datetime(2026, 3, 1, tzinfo=UTC)

DOC_ROLES = ("owner", "admin", "supervisor", "agent")
OSS_ROLES = ("admin", "supervisor", "agent", "user")
DOC_RING_TARGETS = ("sip", "phone")
OSS_RING_TARGETS = ("ext", "phone")
USER_STATUSES = ("active", "inactive", "suspended")
DOC_STRATEGIES = ("ringall", "linear", "rrmemory", "leastrecent", "fewestcalls")
OSS_STRATEGIES = (*DOC_STRATEGIES, "random")
TIMEOUT_DESTINATIONS = ("extension", "queue", "ivr", "voicemail", "external", "phone", "hangup")
DID_ROUTING_TYPES = ("extension", "queue", "ivr", "ai_agent", "external", "intercom")
TO_TYPES = ("extension", "queue", "ivr", "ai_agent", "external")
MENU_ACTIONS = ("extension", "queue", "ivr", "voicemail", "hangup", "callback", "ai_agent")
DIRECTIONS = ("inbound", "outbound", "internal")
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "FAILED", "BUSY")

_DIGITS = re.compile(r"^[0-9]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE_RANK = {"agent": 0, "user": 0, "supervisor": 1, "manager": 1, "admin": 2, "owner": 3}


# -- errors and replies -----------------------------------------------------------------------


def _user_keys(row: Mapping[str, Any]) -> list[Hashable]:
    """``("extension", org, ext)``, ``("email", lower-cased)``, ``("username", name)``."""
    return [
        ("extension", row["org_id"], str(row["extension"])),
        ("email", str(row["email"]).lower()),
        ("username", row["username"]),
    ]


class Reject(Exception):
    """Raised by handlers: answer ``status`` with the JSON ``body``."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)


class NoRoute(Exception):
    """The route does not exist (in this answer style): Express's 404."""


@dataclass
class Reply:
    """A handler's answer: JSON ``body`` (None: no content) or raw ``content``."""

    status: int = 200
    body: Any = None
    content: bytes | None = None
    content_type: str = "application/json"


#: The MariaDB driver's ``debugLen``: the SQL text quoted in an error stops after this much.
DEBUG_LEN = 256


def _sql_param(value: Any) -> str:
    """A parameter as the MariaDB driver quotes it (``Parser.logParam``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def sql_text(sql: str, params: list[Any]) -> str:
    """The statement and its parameters as the driver quotes them in an error (``displaySql``).

    The parameters are stored values (a user's SIP password among them): that is what the
    open-source server puts in a 500's ``error``. Long statements are cut at ``DEBUG_LEN``.
    """
    if len(sql) > DEBUG_LEN:
        return sql[:DEBUG_LEN] + "..."
    text = sql + " - parameters:["
    for n, value in enumerate(params):
        text += ("," if n else "") + _sql_param(value)
        if len(text) > DEBUG_LEN:
            return text[:DEBUG_LEN] + "..."
    return text + "]"


def mariadb_error(
    message: str, sql: str, params: list[Any], *, errno: int = 1265, sqlstate: str = "01000"
) -> Reject:
    """The open-source server's 500: the driver's message, the SQL and its parameters."""
    head = f"(conn:{_CONN}, no: {errno}, SQLState: {sqlstate}) {message}"
    return Reject(500, {"error": f"{head}\nsql: {sql_text(sql, params)}"})


_CONN = 12


def insert_sql(table: str, columns: list[str]) -> str:
    """Sequelize's INSERT for ``columns``."""
    cols = ",".join(f"`{c}`" for c in columns)
    marks = ",".join("?" for _ in columns)
    return f"INSERT INTO `{table}` ({cols}) VALUES ({marks});"


def update_sql(table: str, columns: list[str]) -> str:
    """Sequelize's UPDATE of ``columns`` (``updated_at`` last) by id."""
    sets = ",".join(f"`{c}`=?" for c in [*columns, "updated_at"])
    return f"UPDATE `{table}` SET {sets} WHERE `id` = ?"


def sql_error(
    message: str,
    table: str,
    columns: list[str],
    params: list[Any] | None = None,
    *,
    errno: int = 1265,
    sqlstate: str = "01000",
) -> Reject:
    """The open-source server's 500 for a refused INSERT into ``table``."""
    return mariadb_error(
        message,
        insert_sql(table, columns),
        params or [None] * len(columns),
        errno=errno,
        sqlstate=sqlstate,
    )


#: MariaDB's "Data too long" (a value over a column's length): error number and SQL state.
TOO_LONG_ERRNO, TOO_LONG_STATE = 1406, "22001"


def sql_update_error(
    state: AstradialState,
    message: str,
    table: str,
    changes: Mapping[str, Any],
    row_id: str,
    *,
    errno: int = 1265,
    sqlstate: str = "01000",
) -> Reject:
    """The open-source server's 500 for a refused UPDATE: the changed values are quoted."""
    params = [*changes.values(), state.sql_time(), row_id]
    return mariadb_error(
        message, update_sql(table, list(changes)), params, errno=errno, sqlstate=sqlstate
    )


# -- tokens -----------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class JwtIssuer:
    """HS256 JWTs with the OSS server's claims, checked against the simulator clock."""

    def __init__(self, secret: bytes, now: Callable[[], float]) -> None:
        self._secret = secret
        self._now = now

    def mint(self, claims: Mapping[str, Any], lifetime: int) -> str:
        """A signed token valid for ``lifetime`` seconds."""
        iat = int(self._now())
        payload = {**claims, "iat": iat, "exp": iat + lifetime}
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{head}.{body}.{self._sign(head, body)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a well-signed, unexpired token, else None."""
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(parts[2], self._sign(parts[0], parts[1])):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not isinstance(claims, dict) or self._now() >= float(claims.get("exp", 0)):
            return None
        return claims

    def _sign(self, head: str, body: str) -> str:
        return _b64(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())


# -- state ------------------------------------------------------------------------------------


@dataclass
class Principal:
    """Who a request acts as."""

    org_id: str
    via: str  # "key" or "jwt"
    role: str = "owner"
    user_id: str | None = None


def wav_bytes(size: int, seed: int) -> bytes:
    """A valid PCM WAV file of exactly ``size`` bytes (at least the 44-byte header)."""
    size = max(size, 44)
    data_len = size - 44
    header = b"RIFF" + struct.pack("<I", size - 8) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    header += b"data" + struct.pack("<I", data_len)
    pattern = bytes((seed * 31 + i * 7) % 256 for i in range(256))
    body = (pattern * (data_len // 256 + 1))[:data_len]
    return header + body


class AstradialState:
    """Everything the simulated Astradial server stores (one per simulator, reset with it)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.config: SimulatorConfig = core.config
        self.store_marker = core.store  # a new Store (Simulator.reset) means a new state
        self.lock = threading.RLock()
        seed = self.config.seed if self.config.seed is not None else 0
        self._rng = random.Random(f"astradial-{seed}")
        self._ids = 0
        self.tokens = JwtIssuer(self._rng.randbytes(32), core.clock.time)
        #: The fake phone system: set False to answer as a server without Asterisk does (500
        #: on live calls and call control; ``/health`` reports its links disconnected).
        self.pbx_up = self.config.astradial_pbx_up
        self.started = core.clock.time()
        #: Set False to make greeting generation fail like an exhausted TTS quota (500).
        self.tts_available = True
        self.orgs: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.logins: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        #: Extension (per org), email and username of every user: uniqueness without scans.
        self.user_index: UniqueIndex[dict[str, Any]] = UniqueIndex(_user_keys)
        self.dids: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.ivrs: dict[str, dict[str, Any]] = {}
        self.menus: dict[str, list[dict[str, Any]]] = {}
        self.greetings: dict[str, bytes] = {}
        self.published: dict[str, int] = {}
        self.calls: list[dict[str, Any]] = []
        #: Rows of the server's own ``call_records`` table, which ``calls.count`` reads (the
        #: call listings read the phone system's ``asterisk_cdr``); empty unless a test adds.
        self.call_records: list[dict[str, Any]] = []
        self.live: list[dict[str, Any]] = []
        self.trunks: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.greeting_rows: dict[str, dict[str, Any]] = {}
        #: Recording switched on or off per live call (``POST /calls/{id}/recording``).
        self.live_recording: dict[str, bool] = {}
        self._channels = 0
        self._member_ids = 0
        self._seed()

    # -- ids and time ----------------------------------------------------------------------------

    def new_id(self) -> str:
        """A deterministic UUID."""
        self._ids += 1
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def now(self) -> float:
        """Unix time on the simulator clock."""
        return self.core.clock.time()

    @property
    def oss(self) -> bool:
        """Answer in the open-source server's shapes."""
        return self.config.astradial_oss_shapes

    def iso(self, unix: float) -> str:
        """A timestamp as the server writes it (Sequelize adds milliseconds)."""
        moment = datetime.fromtimestamp(unix, tz=UTC)
        if self.oss:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def sql_time(self) -> str:
        """Now as Sequelize binds a date (the server's +05:30 zone, milliseconds)."""
        moment = datetime.fromtimestamp(self.now() + 5.5 * 3600, tz=UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"

    def context_prefix(self, org_id: str) -> str:
        """The organisation's phone-system prefix, such as ``org_mxdjvwyd_``."""
        return f"org_{org_id.replace('-', '')[:8]}_"

    def add_api_key(
        self,
        org_id: str,
        key: str,
        *,
        name: str,
        permissions: list[str],
        created_by: str | None,
    ) -> dict[str, Any]:
        """A row of ``org_api_keys``; the key authenticates from now on."""
        now = self.now()
        row: dict[str, Any] = {
            "id": self.new_id(),
            "org_id": org_id,
            "name": name,
            "api_key": key,
            "permissions": list(permissions),
            "created_by": created_by,
            "secret_hash": None,
            "created": now,
            "updated": now,
        }
        self.api_keys[row["id"]] = row
        self.keys[key] = org_id
        return row

    def add_login(
        self, email: str, *, name: str, org_id: str | None, role: str, status: str
    ) -> dict[str, Any]:
        """A row of ``org_users`` (an email login; no password until one is set)."""
        row = {
            "id": self.new_id(),
            "email": email,
            "name": name,
            "password": None,
            "org_id": org_id,
            "role": role,
            "status": status,
            "extension": None,
            "last_login": None,
            "created": self.now(),
        }
        self.logins[email] = row
        return row

    def next_channel(self, prefix: str) -> str:
        """A new Asterisk channel name such as ``PJSIP/1001-0000000a``."""
        self._channels += 1
        return f"PJSIP/{prefix}-{self._channels:08x}"

    # -- seeding ----------------------------------------------------------------------------------

    @property
    def main_org_id(self) -> str:
        """The organisation of ``astradial_api_keys`` and the default login."""
        return next(iter(self.orgs))

    @property
    def other_org_id(self) -> str:
        """A second organisation, for 404-outside-the-org checks."""
        return list(self.orgs)[1]

    @property
    def other_api_key(self) -> str:
        """An API key of the second organisation."""
        return next(k for k, org in self.keys.items() if org == self.other_org_id)

    def _seed(self) -> None:
        t0 = ANCHOR.timestamp()
        main = self.new_id()
        other = self.new_id()
        self.orgs[main] = {"id": main, "name": "Simulated Org", "status": "active"}
        self.orgs[other] = {"id": other, "name": "Other Org", "status": "active"}
        for key in self.config.astradial_api_keys:
            self.keys[key] = main
        self.keys["ak_" + hashlib.md5(b"astradial other org").hexdigest()] = other
        # The organisation's own key: valid in X-API-Key, and with its secret at /auth/login.
        self.keys[self.config.astradial_org_api_key] = main
        self.org_secrets: dict[str, str] = {
            self.config.astradial_org_api_key: self.config.astradial_org_api_secret
        }
        password = self.config.astradial_password
        for email, org, role, status in (
            (self.config.astradial_email, main, "owner", "active"),
            ("agent@astradial.test", main, "agent", "active"),
            ("pending@astradial.test", main, "owner", "pending"),
            ("noorg@astradial.test", None, "owner", "no_org"),
            ("other@astradial.test", other, "owner", "active"),
        ):
            self.logins[email] = {
                "id": self.new_id(),
                "email": email,
                "name": email.split("@")[0].title(),
                "password": password,
                "org_id": org,
                "role": role,
                "status": status,
            }
        for ext, name, role, org in (
            ("1001", "Hari Surya", "admin", main),
            ("1002", "Priya Agent", "agent", main),
            ("2001", "Other User", "agent", other),
        ):
            self._insert_user(
                org,
                {
                    "extension": ext,
                    "full_name": name,
                    "email": f"{name.split()[0].lower()}.{ext}@example.com",
                    "role": role,
                },
                t0,
            )
        for number, org, routing in (
            ("+918065978015", main, ("extension", "1001")),
            ("+918065978016", main, (None, None)),
            ("+918065978099", other, ("extension", "2001")),
            ("+918065970001", None, (None, None)),
            ("+918065970002", None, (None, None)),
        ):
            did_id = self.new_id()
            self.dids[did_id] = {
                "id": did_id,
                "org_id": org,
                "number": number,
                "routing_type": routing[0],
                "routing_destination": routing[1],
                "description": None,
                # the open-source server lists only active pool numbers as available
                "status": "active" if org or self.oss else "inactive",
                "trunk_id": None,
                "recording_enabled": False,
                "pool_status": "assigned" if org else "available",
                "monthly_price": 499 if self.oss else "499.00",
                "region": "IN-KA",
                "provider": "simulated",
                "created": t0,
                "updated": t0,
            }
        support = self._insert_queue(main, {"number": "5001", "name": "Support"}, t0)
        priya = next(u for u in self.users.values() if u["extension"] == "1002")
        self._add_member(support["id"], priya["id"], 0, t0)
        self._insert_queue(other, {"number": "5901", "name": "Other Queue"}, t0)
        self._seed_calls(main, self.config.astradial_calls)
        self._seed_calls(other, 3)
        for n, (src, dst) in enumerate((("1001", "+919944421125"), ("+919900000001", "1002"))):
            self.live.append(
                {
                    "org_id": main,
                    "channel_id": self.next_channel(src if src.isdigit() else "trunk"),
                    "uniqueid": f"1772323200.{900 + n}",
                    "linkedid": f"1772323200.{900 + n}",
                    "from": src,
                    "to": dst,
                    "direction": "outbound" if n == 0 else "inbound",
                    "started": self.now() - 30 - 60 * n,
                }
            )
        # The configured ``ak_`` keys are rows of org_api_keys, as on the server.
        for n, key in enumerate(self.config.astradial_api_keys, 1):
            default = ["calls.read", "calls.write", "calls.click_to_call"]  # the model's
            self.add_api_key(
                main, key, name=f"Simulator key {n}", permissions=default, created_by=None
            )

    def _seed_calls(self, org_id: str, count: int) -> None:
        base = len(self.calls)
        users = [u["extension"] for u in self.users.values() if u["org_id"] == org_id]
        for i in range(count):
            n = base + i
            direction = DIRECTIONS[i % 3]
            disposition = ("ANSWERED", "ANSWERED", "NO ANSWER", "BUSY", "FAILED")[(i * 7) % 5]
            # The open-source flavour dates them up to now, so date filters find them (its
            # statistics read the last 7 days); the documented flavour from ANCHOR.
            start = ANCHOR.timestamp() + i * 5 * 3600 + (i * 13 % 60) * 60
            if self.oss:
                start = self.now() - (count - i) * 5 * 3600 + (i * 13 % 60) * 60
            ext = users[i % len(users)] if users else "1001"
            external = f"+9199444{21100 + i:05d}"
            src, dst = {
                "inbound": (external, ext),
                "outbound": (ext, external),
                "internal": (ext, users[(i + 1) % len(users)] if users else "1002"),
            }[direction]
            duration = 10 + (i * 17) % 200
            talk = duration - 5 if disposition == "ANSWERED" else 0
            linked = f"{int(start)}.{n}"
            self.calls.append(
                {
                    "id": n + 1,
                    "org_id": org_id,
                    "from": src,
                    "to": dst,
                    "direction": direction,
                    "disposition": disposition,
                    "duration": duration,
                    "talk_time": talk,
                    "start": start,
                    "end": start + duration,
                    "linkedid": linked,
                    "uniqueid": linked,
                    "channel": f"PJSIP/{ext}-{n:08x}",
                    "has_recording": disposition == "ANSWERED",
                    "queue": "5001" if direction == "inbound" else None,
                }
            )

    # -- rows -------------------------------------------------------------------------------------

    def _insert_user(self, org_id: str, data: Mapping[str, Any], when: float) -> dict[str, Any]:
        user_id = self.new_id()
        ext = str(data["extension"])
        org_slug = re.sub(r"\W", "_", self.orgs[org_id]["name"].lower())
        ring = data.get("ring_target") or "sip"
        row = {
            "id": user_id,
            "org_id": org_id,
            "username": data.get("username") or f"{org_slug}_{ext}",
            "extension": ext,
            "full_name": data.get("full_name"),
            "email": data.get("email"),
            "role": data.get("role") or "agent",
            "status": data.get("status") or "active",
            "recording": data.get("call_recording", data.get("recording_enabled")),
            "ring_target": "sip" if ring == "ext" else ring,
            "phone_number": data.get("phone_number"),
            "outbound_did": data.get("outbound_did"),
            "sip_password": "".join(
                self._rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                for _ in range(12)
            ),
            "login_password": data.get("password"),
            "created": when,
            "updated": when,
        }
        self.users[user_id] = row
        self.user_index.put(user_id, row)
        return row

    def users_holding(self, key: Hashable) -> list[dict[str, Any]]:
        """Users holding a uniqueness key (see :func:`_user_keys`), without a scan."""
        return self.user_index.holders(key, self.users.get)

    def _insert_queue(self, org_id: str, data: Mapping[str, Any], when: float) -> dict[str, Any]:
        queue_id = self.new_id()
        row = {
            "id": queue_id,
            "org_id": org_id,
            "number": str(data["number"]),
            "name": data["name"],
            "strategy": "ringall",
            "timeout": 15,
            "timeout_destination_type": None,
            "timeout_destination": None,
            "moh": "default",
            "status": "active",
            "max_wait_time": 45,
            "wrap_up_time": 0,
            "created": when,
            "updated": when,
        }
        self.queues[queue_id] = row
        self.members[queue_id] = []
        return row

    def _add_member(self, queue_id: str, user_id: str, penalty: int, when: float) -> dict[str, Any]:
        self._member_ids += 1
        member = {
            "id": self.new_id() if self.oss else self._member_ids,
            "queue_id": queue_id,
            "user_id": user_id,
            "penalty": penalty,
            "paused": False,
            "ring_inuse": False,
            "created": when,
            "updated": when,
        }
        self.members[queue_id].append(member)
        return member

    def recording(self, call_id: int) -> bytes:
        """The audio of a seeded call (generated on demand, deterministic)."""
        return wav_bytes(self.config.astradial_recording_size, call_id)


def astradial_state(owner: Any) -> AstradialState:
    """The Astradial state of a simulator (or of its shared core); created on first use."""
    core: Core = getattr(owner, "core", owner)
    with _STATE_LOCK:  # the server thread and the test thread may both ask first
        state: AstradialState | None = getattr(core, "_astradial_state", None)
        if state is None or state.store_marker is not core.store:
            state = AstradialState(core)
            core._astradial_state = state  # type: ignore[attr-defined]
        return state


_STATE_LOCK = threading.Lock()


# -- request context --------------------------------------------------------------------------


@dataclass
class Ctx:
    """One request as handlers see it."""

    state: AstradialState
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]
    who: Principal

    @property
    def oss(self) -> bool:
        """Answer in the OSS server's shapes."""
        return self.state.oss

    @property
    def org(self) -> str:
        """The caller's organisation."""
        return self.who.org_id


def _present(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    return value is not None and value != ""


def _int(
    body: Mapping[str, Any], name: str, *, low: int | None = None, high: int | None = None
) -> int | None:
    if name not in body or body[name] is None:
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise Reject(400, {"error": f"{name} must be a whole number"})
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise Reject(400, {"error": f"{name} is out of range"})
    return number


def _find(rows: Mapping[str, dict[str, Any]], key: str, org: str, message: str) -> dict[str, Any]:
    row = rows.get(key)
    if row is None or row.get("org_id") != org:
        raise Reject(404, {"error": message})
    return row
