"""The Astradial router, mounted at ``/api/v1``: a stateful, in-memory AstraPBX.

Two answer styles, switched by ``SimulatorConfig.astradial_oss_shapes``:

* documented (default): the shapes of docs.astradial.com (``created_at``, ``{data, total,
  page, pages}`` call history, 422 for an invalid role, SIP credentials as ``{username,
  password, domain, port, transport}``, IVRs ...);
* OSS: the open-source server as observed on the wire (``createdAt``, ``{data, pagination}``,
  raw SQL text in 500s, ``sip_password`` on create, ``strategy``/``music_on_hold`` and
  ``user_id`` members for queues, no IVR API, recordings refused to API keys ...).

Authentication: ``X-API-Key`` (the keys in ``astradial_api_keys`` belong to the main
organisation, :attr:`AstradialState.other_api_key` to a second one) or a Bearer JWT from
``POST /auth/user-login`` (HS256, ``astradial_token_lifetime`` seconds on the simulator clock,
then 401). Every resource belongs to one organisation; another organisation's ids answer 404.

Tests reach the state with :func:`astradial_state` (``astradial_state(sim).pbx_up = False``
makes the live-call endpoints fail like an unreachable PBX).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import random
import re
import struct
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ._config import SimulatorConfig
from ._core import Core
from ._envelope import dumps

__all__ = ["AstradialState", "astradial_state", "build_app"]

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


def sql_error(message: str, table: str, columns: list[str]) -> Reject:
    """The OSS server's 500 whose ``error`` is the database driver's text, SQL included."""
    cols = ",".join(f"`{c}`" for c in columns)
    marks = ",".join("?" for _ in columns)
    return Reject(500, {"error": f"{message}: INSERT INTO `{table}` ({cols}) VALUES ({marks});"})


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
        #: Set False to make live-call control fail like an unreachable PBX (500).
        self.pbx_up = True
        #: Set False to make greeting generation fail like an exhausted TTS quota (500).
        self.tts_available = True
        self.orgs: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.revoked: set[str] = set()
        self.logins: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.dids: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.ivrs: dict[str, dict[str, Any]] = {}
        self.menus: dict[str, list[dict[str, Any]]] = {}
        self.greetings: dict[str, bytes] = {}
        self.published: dict[str, int] = {}
        self.calls: list[dict[str, Any]] = []
        self.live: list[dict[str, Any]] = []
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
                "status": "active" if org else "inactive",
                "trunk_id": None,
                "recording_enabled": False,
                "pool_status": "assigned" if org else "available",
                "monthly_price": "499.00",
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

    def _seed_calls(self, org_id: str, count: int) -> None:
        base = len(self.calls)
        users = [u["extension"] for u in self.users.values() if u["org_id"] == org_id]
        for i in range(count):
            n = base + i
            direction = DIRECTIONS[i % 3]
            disposition = ("ANSWERED", "ANSWERED", "NO ANSWER", "BUSY", "FAILED")[(i * 7) % 5]
            start = ANCHOR.timestamp() + i * 5 * 3600 + (i * 13 % 60) * 60
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
        return row

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
            "id": self._member_ids,
            "queue_id": queue_id,
            "user_id": user_id,
            "penalty": penalty,
            "created": when,
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


# -- auth -------------------------------------------------------------------------------------


def authenticate(state: AstradialState, request: Request, *, query_token: bool) -> Principal:
    """The caller of a protected route, or a 401 in the server's words."""
    key = request.headers.get("x-api-key")
    if key:
        org = state.keys.get(key)
        if org is None or key in state.revoked or state.orgs[org]["status"] != "active":
            raise Reject(401, {"error": "Invalid authentication or organization not active"})
        return Principal(org, "key")
    header = request.headers.get("authorization")
    token = None
    if header:
        token = header[7:] if header.lower().startswith("bearer ") else header
    elif query_token:
        token = request.query_params.get("token")
    if not token:
        raise Reject(401, {"error": "Authentication required"})
    claims = state.tokens.verify(token.strip())
    if claims is None or claims.get("orgId") not in state.orgs:
        raise Reject(401, {"error": "Authentication failed"})
    return Principal(
        str(claims["orgId"]), "jwt", str(claims.get("role", "agent")), claims.get("userId")
    )


def user_login(state: AstradialState, body: Mapping[str, Any]) -> Reply:
    """``POST /auth/user-login``."""
    email, password = body.get("email"), body.get("password")
    if not email or not password:
        raise Reject(400, {"error": "email and password required"})
    login = state.logins.get(str(email).lower())
    if login is None:
        raise Reject(404, {"error": "No account found with this email."})
    if not hmac.compare_digest(str(password), login["password"]):
        raise Reject(401, {"error": "Invalid password."})
    if login["status"] == "no_org":
        raise Reject(
            404, {"error": "no_org", "message": "Your account is not part of any organization."}
        )
    org = state.orgs[login["org_id"]]
    if login["status"] == "pending":
        return Reply(
            202,
            {
                "status": "pending_approval",
                "org_name": org["name"],
                "message": "Your organization is awaiting approval.",
            },
        )
    claims = {
        "orgId": org["id"],
        "orgName": org["name"],
        "userId": login["id"],
        "email": login["email"],
        "name": login["name"],
        "role": login["role"],
        "permissions": [],
    }
    token = state.tokens.mint(claims, state.config.astradial_token_lifetime)
    user: dict[str, Any] = {"id": login["id"], "email": login["email"], "role": login["role"]}
    if state.oss:
        user.update(
            name=login["name"],
            extension=None,
            org_id=org["id"],
            org_name=org["name"],
            permissions=[],
        )
    return Reply(200, {"token": token, "user": user})


# -- users ------------------------------------------------------------------------------------


def render_user(
    state: AstradialState, row: Mapping[str, Any], *, created: bool = False
) -> dict[str, Any]:
    """A user as the server sends it."""
    if state.oss:
        out = {
            "id": row["id"],
            "org_id": row["org_id"],
            "username": row["username"],
            "extension": row["extension"],
            "full_name": row["full_name"],
            "email": row["email"],
            "role": row["role"],
            "status": row["status"],
            "recording_enabled": bool(row["recording"]),
            "routing_type": "sip",
            "routing_destination": None,
            "ring_target": "ext" if row["ring_target"] == "sip" else row["ring_target"],
            "phone_number": row["phone_number"],
            "asterisk_endpoint": row["username"],
            "createdAt": state.iso(row["created"]),
            "updatedAt": state.iso(row["updated"]),
        }
        if created:
            out["sip_password"] = row["sip_password"]
        return out
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "username": row["username"],
        "extension": row["extension"],
        "full_name": row["full_name"],
        "email": row["email"],
        "role": row["role"],
        "status": row["status"],
        "call_recording": row["recording"] if row["recording"] is not None else True,
        "ring_target": row["ring_target"],
        "phone_number": row["phone_number"],
        "outbound_did": row["outbound_did"],
        "created_at": state.iso(row["created"]),
    }


def _check_user_fields(
    ctx: Ctx, body: Mapping[str, Any], current: Mapping[str, Any] | None
) -> None:
    """Field rules of create and update (``current`` is the stored row on update)."""
    columns = ["id", "org_id", "extension", "username", "email", "role", "status", "ring_target"]
    if "extension" in body:
        ext = body["extension"]
        if not isinstance(ext, str | int) or not _DIGITS.match(str(ext)):
            raise Reject(
                400, {"error": "Invalid extension", "message": "extension must contain digits only"}
            )
        if len(str(ext)) > 10:
            if ctx.oss:
                raise sql_error(
                    "Data too long for column 'extension' at row 1", "sip_users", columns
                )
            raise Reject(400, {"error": "Invalid extension", "message": "extension is too long"})
    if "email" in body and body["email"] is not None and not _EMAIL.match(str(body["email"])):
        if ctx.oss:
            raise Reject(500, {"error": "Validation error: Validation isEmail on email failed"})
        raise Reject(400, {"error": "Invalid email"})
    roles = OSS_ROLES if ctx.oss else DOC_ROLES
    if "role" in body and body["role"] not in roles:
        if ctx.oss:
            raise sql_error("Data truncated for column 'role' at row 1", "sip_users", columns)
        raise Reject(
            422, {"error": "Invalid role", "message": f"role must be one of: {', '.join(roles)}"}
        )
    if "status" in body and body["status"] not in USER_STATUSES:
        if ctx.oss:
            raise sql_error("Data truncated for column 'status' at row 1", "sip_users", columns)
        raise Reject(422, {"error": "Invalid status"})
    targets = OSS_RING_TARGETS if ctx.oss else DOC_RING_TARGETS
    if "ring_target" in body and body["ring_target"] not in targets:
        if ctx.oss:
            raise sql_error(
                "Data truncated for column 'ring_target' at row 1", "sip_users", columns
            )
        raise Reject(
            422,
            {
                "error": "Invalid ring_target",
                "message": f"ring_target must be one of: {', '.join(targets)}",
            },
        )
    ring = body.get("ring_target", current["ring_target"] if current else None)
    phone = body.get("phone_number", current["phone_number"] if current else None)
    touched = "ring_target" in body or "phone_number" in body
    if ring == "phone" and touched and (not isinstance(phone, str) or not _E164.match(phone)):
        raise Reject(
            422 if not ctx.oss else 400,
            {
                "error": "Invalid phone_number",
                "message": "phone_number must be an E.164 number when ring_target is phone",
            },
        )


def _check_user_unique(ctx: Ctx, body: Mapping[str, Any], user_id: str | None) -> None:
    state = ctx.state
    ext = body.get("extension")
    if ext is not None and any(
        u["org_id"] == ctx.org and u["extension"] == str(ext) and u["id"] != user_id
        for u in state.users.values()
    ):
        raise Reject(
            409, {"error": "Extension already exists" if ctx.oss else "Extension already in use"}
        )
    email = body.get("email")
    if (
        email is not None
        and not ctx.oss
        and any(
            str(u["email"]).lower() == str(email).lower() and u["id"] != user_id
            for u in state.users.values()
        )
    ):
        raise Reject(409, {"error": "Email already in use"})
    username = body.get("username")
    if (
        username is not None
        and ctx.oss
        and any(u["username"] == username and u["id"] != user_id for u in state.users.values())
    ):
        raise Reject(500, {"error": "Validation error"})


def list_users(ctx: Ctx) -> Reply:
    """``GET /users`` (a bare array; pagination parameters are ignored)."""
    rows = [u for u in ctx.state.users.values() if u["org_id"] == ctx.org]
    return Reply(200, [render_user(ctx.state, u) for u in rows])


def create_user(ctx: Ctx) -> Reply:
    """``POST /users``."""
    body = ctx.body
    required = (
        ("extension", "username", "password", "email")
        if ctx.oss
        else ("extension", "full_name", "email")
    )
    missing = [name for name in required if not _present(body, name)]
    if missing:
        if ctx.oss:
            raise Reject(400, {"error": "Required fields missing"})
        raise Reject(400, {"error": "Missing required fields", "required_fields": missing})
    _check_user_fields(ctx, body, None)
    _check_user_unique(ctx, body, None)
    data = dict(body)
    if ctx.oss:
        data.pop("call_recording", None)
    else:
        data.pop("recording_enabled", None)
    row = ctx.state._insert_user(ctx.org, data, ctx.state.now())
    return Reply(201, render_user(ctx.state, row, created=True))


def update_user(ctx: Ctx) -> Reply:
    """``PUT /users/{user_id}`` (any subset of the fields)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    body = ctx.body
    _check_user_fields(ctx, body, row)
    _check_user_unique(ctx, body, row["id"])
    for name in (
        "extension",
        "full_name",
        "email",
        "role",
        "status",
        "phone_number",
        "outbound_did",
        "username",
    ):
        if name in body:
            row[name] = str(body[name]) if name == "extension" else body[name]
    if "ring_target" in body:
        row["ring_target"] = "sip" if body["ring_target"] == "ext" else body["ring_target"]
    flag = "recording_enabled" if ctx.oss else "call_recording"
    if flag in body:
        row["recording"] = bool(body[flag])
    if "password" in body:
        row["login_password"] = body["password"]
    row["updated"] = ctx.state.now()
    return Reply(200, render_user(ctx.state, row))


def delete_user(ctx: Ctx) -> Reply:
    """``DELETE /users/{user_id}``: 204; queue memberships go too (CDRs stay)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    del ctx.state.users[row["id"]]
    for members in ctx.state.members.values():
        members[:] = [m for m in members if m["user_id"] != row["id"]]
    return Reply(204)


def sip_credentials(ctx: Ctx) -> Reply:
    """``GET /users/{user_id}/sip-credentials`` (the password in plaintext)."""
    row = _find(ctx.state.users, ctx.params["user_id"], ctx.org, _user_404(ctx))
    if ctx.oss:
        return Reply(
            200,
            {
                "sip_password": row["sip_password"],
                "endpoint": row["username"],
                "extension": row["extension"],
            },
        )
    return Reply(
        200,
        {
            "username": row["username"],
            "password": row["sip_password"],
            "domain": "sip.astradial.test",
            "port": 5060,
            "transport": "UDP",
        },
    )


def _user_404(ctx: Ctx) -> str:
    return "User not found" if ctx.oss else "User not in your org"


# -- DIDs -------------------------------------------------------------------------------------


def render_did(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """A DID as the server sends it."""
    out = {
        "id": row["id"],
        "number": row["number"],
        "routing_type": row["routing_type"],
        "routing_destination": row["routing_destination"],
        "description": row["description"],
        "status": row["status"],
    }
    if state.oss:
        out.update(
            org_id=row["org_id"],
            trunk_id=row["trunk_id"],
            recording_enabled=row["recording_enabled"],
            pool_status=row["pool_status"],
            monthly_price=row["monthly_price"],
            region=row["region"],
            provider=row["provider"],
            createdAt=state.iso(row["created"]),
            updatedAt=state.iso(row["updated"]),
        )
    return out


def list_dids(ctx: Ctx) -> Reply:
    """``GET /dids``."""
    rows = [d for d in ctx.state.dids.values() if d["org_id"] == ctx.org]
    return Reply(200, [render_did(ctx.state, d) for d in rows])


def update_did(ctx: Ctx) -> Reply:
    """``PUT /dids/{did_id}``: routing (and description/status; OSS also recording, trunk)."""
    row = _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
    body = ctx.body
    columns = ["id", "number", "routing_type", "routing_destination", "status"]
    if (
        "routing_type" in body
        and body["routing_type"] is not None
        and body["routing_type"] not in DID_ROUTING_TYPES
    ):
        if ctx.oss:
            raise sql_error("Data truncated for column 'routing_type' at row 1", "dids", columns)
        raise Reject(400, {"error": "Invalid routing_type", "valid_types": list(DID_ROUTING_TYPES)})
    if "status" in body and body["status"] not in ("active", "inactive"):
        if ctx.oss:
            raise sql_error("Data truncated for column 'status' at row 1", "dids", columns)
        raise Reject(400, {"error": "Invalid status"})
    if ctx.oss and body.get("trunk_id") is not None:
        raise Reject(400, {"error": "Trunk not found"})
    if body.get("routing_type") == "external":
        dest = body.get("routing_destination")
        if not isinstance(dest, str) or not _E164.match(dest):
            raise Reject(
                400, {"error": "routing_destination must be an E.164 number for external routing"}
            )
    fields = ["routing_type", "routing_destination", "description", "status"]
    if ctx.oss:
        fields += ["recording_enabled", "trunk_id"]
    for name in fields:
        if name in body:
            row[name] = body[name]
    row["updated"] = ctx.state.now()
    return Reply(200, render_did(ctx.state, row))


def request_did(ctx: Ctx) -> Reply:
    """``POST /did-pool/{did_id}/request``: take an available pool number."""
    row = ctx.state.dids.get(ctx.params["did_id"])
    if row is None or (row["org_id"] not in (None, ctx.org)):
        raise Reject(404, {"error": "DID not found in pool"})
    if row["org_id"] is not None or row["pool_status"] != "available":
        raise Reject(409, {"error": "DID is not available"})
    row.update(org_id=ctx.org, pool_status="assigned", status="active", updated=ctx.state.now())
    return Reply(
        200,
        {
            "success": True,
            "message": f"DID {row['number']} assigned to your organization",
            "did": render_did(ctx.state, row),
        },
    )


def release_did(ctx: Ctx) -> Reply:
    """``POST /did-pool/{did_id}/release``: give a number back to the pool."""
    row = _find(ctx.state.dids, ctx.params["did_id"], ctx.org, "DID not found")
    row.update(
        org_id=None,
        pool_status="available",
        status="inactive",
        routing_type=None,
        routing_destination=None,
        updated=ctx.state.now(),
    )
    return Reply(200, {"success": True, "message": f"DID {row['number']} released to the pool"})


# -- queues -----------------------------------------------------------------------------------


def _member_view(state: AstradialState, member: Mapping[str, Any]) -> dict[str, Any]:
    user = state.users.get(member["user_id"], {})
    if state.oss:
        return {
            "id": member["id"],
            "queue_id": member["queue_id"],
            "user_id": member["user_id"],
            "penalty": member["penalty"],
            "user": {
                "id": member["user_id"],
                "full_name": user.get("full_name"),
                "extension": user.get("extension"),
            },
            "createdAt": state.iso(member["created"]),
        }
    return {
        "extension": user.get("extension"),
        "user_id": member["user_id"],
        "full_name": user.get("full_name"),
        "penalty": member["penalty"],
    }


def render_queue(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """A queue as the server sends it."""
    if state.oss:
        return {
            "id": row["id"],
            "org_id": row["org_id"],
            "number": row["number"],
            "name": row["name"],
            "strategy": row["strategy"],
            "timeout": row["timeout"],
            "music_on_hold": row["moh"],
            "max_wait_time": row["max_wait_time"],
            "wrap_up_time": row["wrap_up_time"],
            "timeout_destination_type": row["timeout_destination_type"],
            "timeout_destination": row["timeout_destination"],
            "status": row["status"],
            "members": [_member_view(state, m) for m in state.members.get(row["id"], [])],
            "createdAt": state.iso(row["created"]),
            "updatedAt": state.iso(row["updated"]),
        }
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "number": row["number"],
        "name": row["name"],
        "ring_strategy": row["strategy"],
        "timeout": row["timeout"],
        "timeout_destination_type": row["timeout_destination_type"],
        "timeout_destination": row["timeout_destination"],
        "moh_class": row["moh"],
        "status": row["status"],
        "created_at": state.iso(row["created"]),
        "updated_at": state.iso(row["updated"]),
    }


def _number_taken(
    state: AstradialState,
    org: str,
    number: str,
    *,
    queue_id: str | None = None,
    ivr_id: str | None = None,
) -> bool:
    return any(
        q["org_id"] == org and q["number"] == number and q["id"] != queue_id
        for q in state.queues.values()
    ) or any(
        i["org_id"] == org and i["extension"] == number and i["id"] != ivr_id
        for i in state.ivrs.values()
    )


def _apply_queue(ctx: Ctx, row: dict[str, Any], body: Mapping[str, Any]) -> None:
    strategy_key, moh_key = (
        ("strategy", "music_on_hold") if ctx.oss else ("ring_strategy", "moh_class")
    )
    strategies = OSS_STRATEGIES if ctx.oss else DOC_STRATEGIES
    columns = ["id", "org_id", "name", "number", "strategy", "timeout"]
    if strategy_key in body and body[strategy_key] not in strategies:
        if ctx.oss:
            raise sql_error("Data truncated for column 'strategy' at row 1", "queues", columns)
        raise Reject(400, {"error": "Invalid ring_strategy", "valid_values": list(strategies)})
    kind = body.get("timeout_destination_type")
    if kind is not None and kind not in TIMEOUT_DESTINATIONS:
        raise Reject(
            400,
            {
                "error": "Invalid timeout_destination_type",
                "valid_values": list(TIMEOUT_DESTINATIONS),
            },
        )
    if "number" in body:
        number = body["number"]
        if not isinstance(number, str | int) or not _DIGITS.match(str(number)):
            raise Reject(
                400, {"error": "Invalid number", "message": "number must contain digits only"}
            )
        if _number_taken(ctx.state, ctx.org, str(number), queue_id=row.get("id")):
            raise Reject(409, {"error": "Queue number already exists"})
        row["number"] = str(number)
    timeout = _int(body, "timeout", low=0)
    if timeout is not None:
        row["timeout"] = timeout
    if ctx.oss:
        for name in ("max_wait_time", "wrap_up_time"):
            value = _int(body, name, low=0)
            if value is not None:
                row[name] = value
        if "status" in body:
            if body["status"] not in ("active", "inactive", "paused"):
                raise sql_error("Data truncated for column 'status' at row 1", "queues", columns)
            row["status"] = body["status"]
    if "name" in body:
        if not _present(body, "name"):
            raise Reject(400, {"error": "name must not be empty"})
        row["name"] = body["name"]
    if strategy_key in body:
        row["strategy"] = body[strategy_key]
    if moh_key in body:
        row["moh"] = body[moh_key]
    for name in ("timeout_destination_type", "timeout_destination"):
        if name in body:
            row[name] = body[name]


def list_queues(ctx: Ctx) -> Reply:
    """``GET /queues``."""
    rows = [q for q in ctx.state.queues.values() if q["org_id"] == ctx.org]
    return Reply(200, [render_queue(ctx.state, q) for q in rows])


def create_queue(ctx: Ctx) -> Reply:
    """``POST /queues``: 201, 409 on a taken number."""
    body = ctx.body
    missing = [name for name in ("name", "number") if not _present(body, name)]
    if missing:
        if ctx.oss:
            raise Reject(400, {"error": "name and number are required"})
        raise Reject(400, {"error": "Missing required fields", "required_fields": missing})
    scratch: dict[str, Any] = {"id": None}
    _apply_queue(ctx, scratch, body)
    row = ctx.state._insert_queue(
        ctx.org, {"number": scratch["number"], "name": scratch["name"]}, ctx.state.now()
    )
    _apply_queue(ctx, row, body)
    return Reply(201, render_queue(ctx.state, row))


def update_queue(ctx: Ctx) -> Reply:
    """``PUT /queues/{queue_id}`` (partial)."""
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    _apply_queue(ctx, row, ctx.body)
    row["updated"] = ctx.state.now()
    return Reply(200, render_queue(ctx.state, row))


def delete_queue(ctx: Ctx) -> Reply:
    """``DELETE /queues/{queue_id}``: 204."""
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    del ctx.state.queues[row["id"]]
    ctx.state.members.pop(row["id"], None)
    return Reply(204)


def list_members(ctx: Ctx) -> Reply:
    """``GET /queues/{queue_id}/members`` (the OSS server has no such route)."""
    if ctx.oss:
        raise NoRoute
    row = _find(ctx.state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    return Reply(200, [_member_view(ctx.state, m) for m in ctx.state.members[row["id"]]])


def add_member(ctx: Ctx) -> Reply:
    """``POST /queues/{queue_id}/members``: by extension (docs) or user_id/user_ids (OSS)."""
    state = ctx.state
    queue = _find(state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    body = ctx.body
    members = state.members[queue["id"]]
    penalty = _int(body, "penalty", low=0, high=10 if ctx.oss else None) or 0
    org_users = {u["id"]: u for u in state.users.values() if u["org_id"] == ctx.org}
    if ctx.oss:
        ids = body.get("user_ids")
        if ids is None and not _present(body, "user_id"):
            raise Reject(400, {"error": "user_id or user_ids is required"})
        if ids is not None and (not isinstance(ids, list) or not ids):
            raise Reject(400, {"error": "user_ids must be a non-empty array"})
        if ids is None:
            user_id = str(body["user_id"])
            if user_id not in org_users:
                raise Reject(404, {"error": "User not found"})
            if any(m["user_id"] == user_id for m in members):
                raise Reject(409, {"error": "already_member", "skipped": [user_id]})
            member = state._add_member(queue["id"], user_id, penalty, state.now())
            return Reply(201, _member_view(state, member))
        created, skipped = [], []
        for raw in ids:
            user_id = str(raw)
            if user_id not in org_users:
                skipped.append({"user_id": user_id, "reason": "not_found"})
            elif any(m["user_id"] == user_id for m in members):
                skipped.append({"user_id": user_id, "reason": "already_member"})
            else:
                created.append(
                    _member_view(
                        state, state._add_member(queue["id"], user_id, penalty, state.now())
                    )
                )
        if not created:
            raise Reject(409, {"error": "already_member", "skipped": skipped})
        return Reply(201, {"created": created, "skipped": skipped})
    if _present(body, "extension"):
        ext = str(body["extension"])
        user = next((u for u in org_users.values() if u["extension"] == ext), None)
        if user is None:
            raise Reject(404, {"error": f"No user with extension {ext} in your org"})
    elif _present(body, "user_id") and str(body["user_id"]) in org_users:
        user = org_users[str(body["user_id"])]
    else:
        raise Reject(400, {"error": "Missing required fields", "required_fields": ["extension"]})
    if any(m["user_id"] == user["id"] for m in members):
        raise Reject(
            409,
            {
                "error": "already_member",
                "message": f"Extension {user['extension']} is already a member",
            },
        )
    member = state._add_member(queue["id"], user["id"], penalty, state.now())
    return Reply(201, {**_member_view(state, member), "queue_id": queue["id"]})


def remove_member(ctx: Ctx) -> Reply:
    """``DELETE /queues/{queue_id}/members/{extension}`` (documented; absent from OSS)."""
    if ctx.oss:
        raise NoRoute
    state = ctx.state
    queue = _find(state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    ext = ctx.params["extension"]
    members = state.members[queue["id"]]
    kept = [m for m in members if state.users.get(m["user_id"], {}).get("extension") != ext]
    if len(kept) == len(members):
        raise Reject(404, {"error": "Member not found"})
    members[:] = kept
    return Reply(204)


def remove_member_by_user(ctx: Ctx) -> Reply:
    """``DELETE /queues/{queue_id}/members?userId=`` (the OSS server's form)."""
    state = ctx.state
    queue = _find(state.queues, ctx.params["queue_id"], ctx.org, "Queue not found")
    user_id = ctx.query.get("userId")
    if not user_id:
        raise Reject(400, {"error": "userId query parameter is required"})
    members = state.members[queue["id"]]
    kept = [m for m in members if m["user_id"] != user_id]
    if len(kept) == len(members):
        raise Reject(404, {"error": "Member not found"})
    members[:] = kept
    return Reply(204)


# -- IVRs (documented cloud API; absent from the OSS server) ----------------------------------


def render_ivr(
    state: AstradialState, row: Mapping[str, Any], *, menu: bool = False
) -> dict[str, Any]:
    """An IVR as the server sends it (camelCase timestamps, as documented)."""
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "name": row["name"],
        "extension": row["extension"],
        "description": row["description"],
        "greeting_prompt": row["greeting_prompt"],
        "greeting_text": row["greeting_text"],
        "greeting_language": row["greeting_language"],
        "greeting_voice": row["greeting_voice"],
        "timeout": row["timeout"],
        "max_retries": row["max_retries"],
        "enable_direct_dial": row["enable_direct_dial"],
        "status": row["status"],
        "createdAt": state.iso(row["created"]),
        "updatedAt": state.iso(row["updated"]),
    }
    if menu:
        out["menuOptions"] = [dict(o) for o in state.menus.get(row["id"], [])]
    return out


def _ivr(ctx: Ctx) -> dict[str, Any]:
    if ctx.oss:
        raise NoRoute
    return _find(
        ctx.state.ivrs, ctx.params["ivr_id"], ctx.org, "IVR not found (or not in your org)"
    )


def _apply_ivr(ctx: Ctx, row: dict[str, Any], body: Mapping[str, Any]) -> None:
    if "extension" in body:
        ext = body["extension"]
        if not isinstance(ext, str | int) or not _DIGITS.match(str(ext)):
            raise Reject(400, {"error": "extension must contain digits only"})
        ext = str(ext)
        taken = _number_taken(ctx.state, ctx.org, ext, ivr_id=row.get("id")) or any(
            u["org_id"] == ctx.org and u["extension"] == ext for u in ctx.state.users.values()
        )
        if taken:
            raise Reject(409, {"error": f"Extension {ext} is already in use"})
        row["extension"] = ext
    if "name" in body:
        if not _present(body, "name"):
            raise Reject(400, {"error": "name must not be empty"})
        row["name"] = body["name"]
    timeout = _int(body, "timeout", low=0)
    if timeout is not None:
        row["timeout"] = timeout
    retries = _int(body, "max_retries", low=0)
    if retries is not None:
        row["max_retries"] = retries
    if "enable_direct_dial" in body:
        if not isinstance(body["enable_direct_dial"], bool):
            raise Reject(400, {"error": "enable_direct_dial must be a boolean"})
        row["enable_direct_dial"] = body["enable_direct_dial"]
    for name in ("description", "greeting_language", "greeting_voice"):
        if name in body:
            row[name] = body[name]


def list_ivrs(ctx: Ctx) -> Reply:
    """``GET /ivrs``."""
    if ctx.oss:
        raise NoRoute
    rows = [i for i in ctx.state.ivrs.values() if i["org_id"] == ctx.org]
    return Reply(200, [render_ivr(ctx.state, i) for i in rows])


def create_ivr(ctx: Ctx) -> Reply:
    """``POST /ivrs``: 201; nothing generated or published."""
    if ctx.oss:
        raise NoRoute
    body = ctx.body
    missing = [name for name in ("name", "extension") if not _present(body, name)]
    if missing:
        raise Reject(400, {"error": "Missing required fields", "required_fields": missing})
    now = ctx.state.now()
    row: dict[str, Any] = {
        "id": None,
        "org_id": ctx.org,
        "name": None,
        "extension": None,
        "description": None,
        "greeting_prompt": None,
        "greeting_text": None,
        "greeting_language": "en-IN",
        "greeting_voice": "en-IN-Wavenet-D",
        "timeout": 10,
        "max_retries": 3,
        "enable_direct_dial": False,
        "status": "active",
        "created": now,
        "updated": now,
    }
    _apply_ivr(ctx, row, body)
    row["id"] = ctx.state.new_id()
    ctx.state.ivrs[row["id"]] = row
    ctx.state.menus[row["id"]] = []
    return Reply(201, render_ivr(ctx.state, row))


def get_ivr(ctx: Ctx) -> Reply:
    """``GET /ivrs/{ivr_id}`` with ``menuOptions``."""
    return Reply(200, render_ivr(ctx.state, _ivr(ctx), menu=True))


def update_ivr(ctx: Ctx) -> Reply:
    """``PUT /ivrs/{ivr_id}``."""
    row = _ivr(ctx)
    _apply_ivr(ctx, row, ctx.body)
    row["updated"] = ctx.state.now()
    return Reply(200, render_ivr(ctx.state, row))


def delete_ivr(ctx: Ctx) -> Reply:
    """``DELETE /ivrs/{ivr_id}``: cascades to the menu and greeting (DIDs keep the dead id)."""
    row = _ivr(ctx)
    state = ctx.state
    del state.ivrs[row["id"]]
    state.menus.pop(row["id"], None)
    state.greetings.pop(row["id"], None)
    return Reply(204)


def replace_menu(ctx: Ctx) -> Reply:
    """``PUT /ivrs/{ivr_id}/menu``: every option replaced at once."""
    row = _ivr(ctx)
    options = ctx.body.get("options")
    if not isinstance(options, list):
        raise Reject(400, {"error": "options must be an array"})
    menu: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, option in enumerate(options):
        if not isinstance(option, Mapping):
            raise Reject(400, {"error": f"options[{index}] must be an object"})
        digit = option.get("digit")
        if not isinstance(digit, str) or len(digit) != 1 or digit not in "0123456789*#":
            raise Reject(400, {"error": f"options[{index}].digit must be 0-9, * or #"})
        if digit in seen:
            raise Reject(400, {"error": f"Duplicate digit {digit}"})
        seen.add(digit)
        action = option.get("action_type")
        if action not in MENU_ACTIONS:
            raise Reject(
                400,
                {
                    "error": f"options[{index}].action_type is invalid",
                    "valid_types": list(MENU_ACTIONS),
                },
            )
        destination = option.get("action_destination")
        if action not in ("hangup", "callback") and not destination:
            raise Reject(
                400, {"error": f"options[{index}].action_destination is required for {action}"}
            )
        menu.append(
            {
                "id": ctx.state.new_id(),
                "digit": digit,
                "action_type": action,
                "action_destination": destination if action not in ("hangup", "callback") else None,
                "description": option.get("description"),
                "order": option.get("order", index + 1),
            }
        )
    ctx.state.menus[row["id"]] = menu
    row["updated"] = ctx.state.now()
    return Reply(200, render_ivr(ctx.state, row, menu=True))


def generate_greeting(ctx: Ctx) -> Reply:
    """``POST /ivrs/{ivr_id}/generate-greeting`` (text-to-speech; not published)."""
    row = _ivr(ctx)
    text = ctx.body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Reject(400, {"error": "text is required"})
    if not ctx.state.tts_available:
        raise Reject(500, {"error": "Failed to generate greeting", "details": "TTS quota exceeded"})
    language = ctx.body.get("language") or row["greeting_language"]
    voice = ctx.body.get("voice") or row["greeting_voice"]
    prompt = f"greeting_ivr_{row['id']}"
    row.update(
        greeting_prompt=prompt,
        greeting_text=text,
        greeting_language=language,
        greeting_voice=voice,
        updated=ctx.state.now(),
    )
    size = 44 + 1600 * min(len(text), 400)
    ctx.state.greetings[row["id"]] = wav_bytes(size, len(text))
    return Reply(
        200, {"success": True, "greeting_prompt": prompt, "language": language, "voice": voice}
    )


def greeting_audio(ctx: Ctx) -> Reply:
    """``GET /ivrs/{ivr_id}/greeting-audio``: the WAV."""
    row = _ivr(ctx)
    audio = ctx.state.greetings.get(row["id"])
    if audio is None:
        raise Reject(404, {"error": "No greeting audio for this IVR; generate one first"})
    return Reply(200, content=audio, content_type="audio/wav")


def publish_ivr(ctx: Ctx) -> Reply:
    """``POST /ivrs/{ivr_id}/publish`` (idempotent; redeploys the org's dialplan)."""
    row = _ivr(ctx)
    ctx.state.published[row["id"]] = ctx.state.published.get(row["id"], 0) + 1
    org = ctx.state.orgs[ctx.org]["name"]
    return Reply(
        200, {"success": True, "message": f"Configuration deployed for organization {org}"}
    )


# -- calls ------------------------------------------------------------------------------------


def render_call(state: AstradialState, row: Mapping[str, Any]) -> dict[str, Any]:
    """A call-history row: documented keys, or the OSS server's raw CDR columns."""
    recording = f"/api/v1/calls/{row['id']}/recording" if row["has_recording"] else None
    if state.oss:
        return {
            "id": row["id"],
            "calldate": state.iso(row["start"]),
            "clid": f'"{row["from"]}" <{row["from"]}>',
            "src": row["from"],
            "dst": row["to"],
            "dcontext": "from-trunk" if row["direction"] == "inbound" else "internal",
            "channel": row["channel"],
            "dstchannel": None,
            "lastapp": "Dial",
            "lastdata": f"PJSIP/{row['to']}",
            "duration": row["duration"],
            "billsec": row["talk_time"],
            "disposition": row["disposition"],
            "uniqueid": row["uniqueid"],
            "linkedid": row["linkedid"],
            "recordingfile": f"{row['uniqueid']}.wav" if row["has_recording"] else None,
            "caller_id": row["from"],
            "direction": row["direction"],
            "queue_name": row["queue"],
            "hangup_cause": "NORMAL_CLEARING" if row["disposition"] == "ANSWERED" else "NO_ANSWER",
        }
    return {
        "id": str(row["id"]),
        "from_number": row["from"],
        "to_number": row["to"],
        "direction": row["direction"],
        "status": row["disposition"],
        "duration": row["duration"],
        "talk_time": row["talk_time"],
        "started_at": state.iso(row["start"]),
        "ended_at": state.iso(row["end"]),
        "recording_url": recording,
    }


def _filtered_calls(ctx: Ctx) -> list[dict[str, Any]]:
    q = ctx.query
    rows = [c for c in ctx.state.calls if c["org_id"] == ctx.org]
    direction = q.get("direction")
    if direction and not (ctx.oss and direction == "all"):
        rows = [c for c in rows if c["direction"] == direction]
    disposition = q.get("disposition")
    if disposition:
        wanted = disposition.upper() if ctx.oss else disposition
        rows = [c for c in rows if c["disposition"] == wanted]
    for key in ("from", "to"):
        value = q.get(key)
        if value:
            needle = re.sub(r"\D", "", value) if ctx.oss else value
            rows = [c for c in rows if needle in (re.sub(r"\D", "", c[key]) if ctx.oss else c[key])]
    for key, end in (("date_from", False), ("date_to", True)):
        value = q.get(key)
        if value:
            try:
                day = datetime.fromisoformat(value[:10]).replace(tzinfo=UTC)
            except ValueError:
                raise Reject(400, {"error": f"Invalid {key}"}) from None
            edge = (day + timedelta(days=1)).timestamp() if end else day.timestamp()
            rows = [c for c in rows if (c["start"] < edge if end else c["start"] >= edge)]
    search = q.get("search")
    if search:
        rows = [
            c for c in rows if search in c["from"] or search in c["to"] or search in str(c["id"])
        ]
    return sorted(rows, key=lambda c: c["start"], reverse=True)


def list_calls(ctx: Ctx) -> Reply:
    """``GET /calls``: newest first, ``limit``/``offset``, one of the two envelopes."""
    q = ctx.query
    default = 50 if ctx.oss else 20
    try:
        limit = int(q.get("limit", default))
        offset = int(q.get("offset", 0))
    except ValueError:
        raise Reject(400, {"error": "limit and offset must be numbers"}) from None
    if not 1 <= limit <= 200 or offset < 0:
        raise Reject(400, {"error": "limit must be between 1 and 200 and offset at least 0"})
    rows = _filtered_calls(ctx)
    page = [render_call(ctx.state, c) for c in rows[offset : offset + limit]]
    total = len(rows)
    if ctx.oss:
        return Reply(
            200,
            {
                "data": page,
                "pagination": {
                    "total": total,
                    "limit": limit,
                    "offset": offset,
                    "has_more": offset + limit < total,
                },
            },
        )
    return Reply(
        200,
        {
            "data": page,
            "total": total,
            "page": offset // limit + 1,
            "pages": math.ceil(total / limit),
        },
    )


def count_calls(ctx: Ctx) -> Reply:
    """``GET /calls/count`` (the OSS server reads only ``from`` and ``to``)."""
    if ctx.oss:
        ctx = Ctx(
            ctx.state,
            ctx.method,
            ctx.path,
            ctx.params,
            {k: v for k, v in ctx.query.items() if k in ("from", "to")},
            ctx.body,
            ctx.who,
        )
        rows = _filtered_calls(ctx)
        total_duration = sum(c["duration"] for c in rows)
        return Reply(
            200,
            {
                "total": len(rows),
                "active": len([c for c in ctx.state.live if c["org_id"] == ctx.org]),
                "completed": len([c for c in rows if c["disposition"] == "ANSWERED"]),
                "failed": len([c for c in rows if c["disposition"] != "ANSWERED"]),
                "average_duration": f"{total_duration / len(rows):.4f}" if rows else None,
                "total_duration": total_duration,
            },
        )
    return Reply(200, {"total": len(_filtered_calls(ctx))})


def call_stats(ctx: Ctx) -> Reply:
    """``GET /calls/stats``: totals plus the last 7 days (flat in the docs, nested in OSS)."""
    rows = [c for c in ctx.state.calls if c["org_id"] == ctx.org]
    last = max((c["start"] for c in rows), default=ANCHOR.timestamp())
    last_day = datetime.fromtimestamp(last, tz=UTC).date()
    weekly = []
    for back in range(6, -1, -1):
        day = last_day - timedelta(days=back)
        today = [c for c in rows if datetime.fromtimestamp(c["start"], tz=UTC).date() == day]
        weekly.append(
            {
                "date": day.isoformat(),
                "inbound": len([c for c in today if c["direction"] == "inbound"]),
                "outbound": len([c for c in today if c["direction"] == "outbound"]),
            }
        )
    answered = [c for c in rows if c["disposition"] == "ANSWERED"]

    def total(direction: str) -> int:
        return len([c for c in rows if c["direction"] == direction])

    avg = round(sum(c["duration"] for c in rows) / len(rows), 1) if rows else 0
    totals: dict[str, Any] = {
        "total_calls": len(rows),
        "inbound": total("inbound"),
        "outbound": total("outbound"),
        "internal": total("internal"),
        "answered": len(answered),
        "missed": len(rows) - len(answered),
        "avg_duration": avg,
    }
    if ctx.oss:
        if not rows:  # SUM() over no rows: null, not 0
            totals = {k: (0 if k == "total_calls" else None) for k in totals}
        else:
            totals["avg_duration"] = f"{avg:.4f}"
        totals.pop("internal")
        return Reply(200, {"weekly": weekly, "totals": totals})
    return Reply(200, {**totals, "weekly": weekly})


def _pbx_down(ctx: Ctx) -> Reject:
    if ctx.oss:
        return Reject(
            500, {"error": "Failed to connect to Asterisk", "message": "AMI connection refused"}
        )
    return Reject(500, {"status": "error", "message": "PBX unreachable"})


def live_calls(ctx: Ctx) -> Reply:
    """``GET /calls/live``: a bare array (docs) or ``{count, calls}`` (OSS)."""
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx)
    now = ctx.state.now()
    rows = [c for c in ctx.state.live if c["org_id"] == ctx.org]
    if ctx.oss:
        calls = [
            {
                "channel_id": c["channel_id"],
                "uniqueid": c["uniqueid"],
                "linkedid": c["linkedid"],
                "from": c["from"],
                "from_name": None,
                "to": c["to"],
                "to_name": None,
                "caller_id": c["from"],
                "direction": c["direction"],
                "status": "Up",
                "context": "internal",
                "extension": c["to"],
                "priority": 1,
                "duration": int(now - c["started"]),
                "application": "Dial",
                "application_data": f"PJSIP/{c['to']}",
                "bridge_id": None,
            }
            for c in rows
        ]
        return Reply(200, {"count": len(calls), "calls": calls})
    return Reply(
        200,
        [
            {
                "channel_id": c["channel_id"],
                "from": c["from"],
                "to": c["to"],
                "direction": c["direction"],
                "status": "answered",
                "duration": int(now - c["started"]),
            }
            for c in rows
        ],
    )


def _call(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.params["call_id"]
    row = next((c for c in ctx.state.calls if str(c["id"]) == raw and c["org_id"] == ctx.org), None)
    if row is None:
        raise Reject(404, {"error": "Call not found"})
    return row


def recording(ctx: Ctx) -> Reply:
    """``GET /calls/{call_id}/recording``: the WAV (OSS: Bearer JWT only, not agents)."""
    if ctx.oss:
        if ctx.who.via != "jwt":
            raise Reject(401, {"error": "Authentication required"})
        if _ROLE_RANK.get(ctx.who.role, 0) < _ROLE_RANK["supervisor"]:
            raise Reject(
                403,
                {
                    "error": "Forbidden",
                    "message": "Insufficient role to access recordings",
                    "your_role": ctx.who.role,
                    "required_role": "manager",
                },
            )
    row = _call(ctx)
    if not row["has_recording"]:
        raise Reject(404, {"error": "Recording not found"})
    return Reply(200, content=ctx.state.recording(row["id"]), content_type="audio/wav")


def journey(ctx: Ctx) -> Reply:
    """``GET /calls/{linked_id}/journey``."""
    linked = ctx.params["linked_id"]
    row = next(
        (c for c in ctx.state.calls if c["linkedid"] == linked and c["org_id"] == ctx.org), None
    )
    if row is None:
        raise Reject(404, {"error": "Call not found"})
    answered = row["disposition"] == "ANSWERED"
    time = datetime.fromtimestamp(row["start"], tz=UTC).strftime("%H:%M:%S")
    steps: list[dict[str, Any]] = []
    target = row["to"]
    if row["queue"]:
        steps.append(
            {
                "time": time,
                "action": f"Queue {row['queue']}",
                "from": row["from"],
                "to": row["queue"],
                "duration": 5,
                "status": "entered",
            }
        )
    steps.append(
        {
            "time": time,
            "action": f"Dial {target}",
            "from": row["from"],
            "to": target,
            "duration": row["duration"],
            "status": "answered" if answered else row["disposition"].lower(),
        }
    )
    if answered:
        steps.append(
            {
                "time": time,
                "action": "Bridged",
                "from": row["from"],
                "to": target,
                "duration": row["talk_time"],
                "status": "answered",
            }
        )
    if ctx.oss:
        for step in steps:
            step.update(
                extension=step["to"],
                billsec=row["talk_time"],
                channel=row["channel"],
                recording=None,
            )
    return Reply(
        200,
        {
            "linkedid": linked,
            "caller": row["from"],
            "destination": row["queue"] or target,
            "status": "answered" if answered else "missed",
            "total_duration": row["duration"],
            "answered_by": target if answered else None,
            "steps": steps,
        },
    )


def _live_channel(ctx: Ctx, channel: str) -> dict[str, Any]:
    row = next(
        (c for c in ctx.state.live if c["channel_id"] == channel and c["org_id"] == ctx.org), None
    )
    if row is None:
        raise Reject(404, {"error": "Channel not found"})
    return row


def transfer(ctx: Ctx) -> Reply:
    """``POST /calls/transfer`` (docs ``call_id``/``type``; OSS ``channel_id``/``destination_type``)."""
    body = ctx.body
    channel = body.get("channel_id") if ctx.oss else body.get("call_id") or body.get("channel_id")
    if not channel or not _present(body, "destination"):
        raise Reject(
            400,
            {
                "error": "channel_id and destination required"
                if ctx.oss
                else "call_id and destination are required"
            },
        )
    kind = body.get("destination_type", "extension")
    if ctx.oss and kind not in ("extension", "queue", "external"):
        raise Reject(400, {"error": "Invalid destination_type"})
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx)
    row = _live_channel(ctx, str(channel))
    row["to"] = str(body["destination"])
    return Reply(
        200,
        {
            "success": True,
            "message": "Call transferred",
            "channel_id": row["channel_id"],
            "destination": row["to"],
            "context": "internal" if kind != "external" else "outbound",
        },
    )


def hangup_channel(ctx: Ctx) -> Reply:
    """``POST /calls/hangup-channel``."""
    channel = ctx.body.get("channel_id")
    if not channel:
        raise Reject(400, {"error": "channel_id required"})
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx)
    row = _live_channel(ctx, str(channel))
    ctx.state.live.remove(row)
    return Reply(200, {"success": True, "channel_id": row["channel_id"]})


def _originate_failed(ctx: Ctx, details: str) -> Reject:
    if ctx.oss:
        return Reject(500, {"error": "Failed to originate call", "details": details})
    return Reject(400, {"status": "error", "message": f"Failed to originate call: {details}"})


def click_to_call(ctx: Ctx) -> Reply:
    """``POST /calls/click-to-call``: ring ``from``, then bridge to ``to``."""
    body = ctx.body
    missing = [name for name in ("from", "to") if not _present(body, name)]
    if missing:
        if ctx.oss:
            raise Reject(400, {"error": "Missing required fields", "required": ["from", "to"]})
        raise Reject(400, {"status": "error", "message": "from and to are required"})
    to_type = body.get("to_type", "extension")
    if to_type not in TO_TYPES:
        if ctx.oss:
            raise Reject(400, {"error": "Invalid to_type", "valid_types": list(TO_TYPES)})
        raise Reject(400, {"status": "error", "message": "Invalid to_type"})
    _int(body, "timeout", low=1)
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx)
    source = str(body["from"])
    if (
        _DIGITS.match(source)
        and len(source) <= 5
        and not any(
            u["org_id"] == ctx.org and u["extension"] == source for u in ctx.state.users.values()
        )
    ):
        raise _originate_failed(ctx, "extension not registered")
    channel = ctx.state.next_channel(source if len(source) <= 5 else "trunk")
    ctx.state.live.append(
        {
            "org_id": ctx.org,
            "channel_id": channel,
            "uniqueid": f"{int(ctx.state.now())}.{len(ctx.state.live)}",
            "linkedid": f"{int(ctx.state.now())}.{len(ctx.state.live)}",
            "from": source,
            "to": str(body["to"]),
            "direction": "outbound" if to_type == "external" else "internal",
            "started": ctx.state.now(),
        }
    )
    if ctx.oss:
        return Reply(
            200,
            {
                "success": True,
                "message": "Call initiated successfully",
                "call": {
                    "from": source,
                    "to": body["to"],
                    "to_type": to_type,
                    "caller_id": body.get("caller_id"),
                    "destination": body["to"],
                    "context": "internal",
                    "timeout": body.get("timeout", 30),
                    "response": "Success",
                },
            },
        )
    return Reply(200, {"status": "success", "message": "Call initiated"})


def originate_to_ai(ctx: Ctx) -> Reply:
    """``POST /calls/originate-to-ai``: dial ``to`` and hand the call to a bot."""
    body = ctx.body
    wss = body.get("wss_url")
    if not _present(body, "to") or (not ctx.oss and not wss):
        if ctx.oss:
            raise Reject(400, {"error": "Missing required field: to"})
        raise Reject(400, {"status": "error", "message": "to and wss_url are required"})
    if wss is not None and not str(wss).startswith(("wss://", "ws://")):
        raise Reject(400, {"error": "wss_url must start with wss:// or ws://"})
    if not ctx.state.pbx_up:
        raise _pbx_down(ctx)
    to = str(body["to"])
    channel = ctx.state.next_channel(to if len(to) <= 4 else "trunk")
    if ctx.oss:
        return Reply(
            200,
            {
                "success": True,
                "message": "Call to AI agent initiated successfully",
                "call": {
                    "to": to,
                    "endpoint": f"PJSIP/{to}",
                    "caller_id": body.get("caller_id"),
                    "ai_agent_app": body.get("ai_agent_app", "ai_agent"),
                    "wss_url": wss,
                    "timeout": body.get("timeout", 30),
                    "channel": channel,
                    "response": "Success",
                },
            },
        )
    return Reply(200, {"status": "success", "message": "Call originated", "channel_id": channel})


# -- routing ----------------------------------------------------------------------------------

Handler = Callable[[Ctx], Reply]

#: Every protected route: (path relative to ``/api/v1``, {method: handler}).
ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/calls/click-to-call", {"POST": click_to_call}),
    ("/calls/originate-to-ai", {"POST": originate_to_ai}),
    ("/calls", {"GET": list_calls}),
    ("/calls/live", {"GET": live_calls}),
    ("/calls/count", {"GET": count_calls}),
    ("/calls/stats", {"GET": call_stats}),
    ("/calls/transfer", {"POST": transfer}),
    ("/calls/hangup-channel", {"POST": hangup_channel}),
    ("/calls/{call_id}/recording", {"GET": recording}),
    ("/calls/{linked_id:path}/journey", {"GET": journey}),
    ("/users", {"GET": list_users, "POST": create_user}),
    ("/users/{user_id}", {"PUT": update_user, "DELETE": delete_user}),
    ("/users/{user_id}/sip-credentials", {"GET": sip_credentials}),
    ("/dids", {"GET": list_dids}),
    ("/dids/{did_id}", {"PUT": update_did}),
    ("/did-pool/{did_id}/request", {"POST": request_did}),
    ("/did-pool/{did_id}/release", {"POST": release_did}),
    ("/queues", {"GET": list_queues, "POST": create_queue}),
    ("/queues/{queue_id}", {"PUT": update_queue, "DELETE": delete_queue}),
    (
        "/queues/{queue_id}/members",
        {"GET": list_members, "POST": add_member, "DELETE": remove_member_by_user},
    ),
    ("/queues/{queue_id}/members/{extension}", {"DELETE": remove_member}),
    ("/ivrs", {"GET": list_ivrs, "POST": create_ivr}),
    ("/ivrs/{ivr_id}", {"GET": get_ivr, "PUT": update_ivr, "DELETE": delete_ivr}),
    ("/ivrs/{ivr_id}/menu", {"PUT": replace_menu}),
    ("/ivrs/{ivr_id}/generate-greeting", {"POST": generate_greeting}),
    ("/ivrs/{ivr_id}/greeting-audio", {"GET": greeting_audio}),
    ("/ivrs/{ivr_id}/publish", {"POST": publish_ivr}),
]


def _json(status: int, body: Any) -> Response:
    if body is None:
        return Response(status_code=status)
    return Response(dumps(body), status_code=status, media_type="application/json")


def _not_found(request: Request) -> Response:
    path = request.url.path
    return _json(
        404,
        {
            "error": "Not Found",
            "message": f"Endpoint {request.method} {path} not found",
            "documentation": "/api",
        },
    )


async def _parse(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.method not in ("POST", "PUT") or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Reject(400, {"error": "Invalid JSON in request body"}) from None
    if not isinstance(parsed, dict):
        raise Reject(400, {"error": "Request body must be a JSON object"})
    return parsed


def _endpoint(
    core: Core, handlers: Mapping[str, Handler]
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = astradial_state(core)
        handler = handlers.get(request.method)
        if handler is None:
            return _not_found(request)
        try:
            body = await _parse(request)
            with state.lock:
                who = authenticate(state, request, query_token=handler is recording and state.oss)
                ctx = Ctx(
                    state=state,
                    method=request.method,
                    path=request.url.path,
                    params={k: str(v) for k, v in request.path_params.items()},
                    query=dict(request.query_params),
                    body=body,
                    who=who,
                )
                reply = handler(ctx)
        except Reject as err:
            return _json(err.status, err.body)
        except NoRoute:
            return _not_found(request)
        except Exception as exc:  # a simulator bug: say so like Express would
            logger.exception("astradial simulator handler failed")
            return _json(
                500, {"error": "Internal server error", "details": f"{type(exc).__name__}: {exc}"}
            )
        if reply.content is not None:
            return Response(reply.content, status_code=reply.status, media_type=reply.content_type)
        return _json(reply.status, reply.body)

    return run


def _login_endpoint(core: Core) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        state = astradial_state(core)
        try:
            body = await _parse(request)
            with state.lock:
                reply = user_login(state, body)
        except Reject as err:
            return _json(err.status, err.body)
        return _json(reply.status, reply.body)

    return run


def build_app(core: Core) -> ASGIApp:
    """The ``/api/v1`` ASGI application."""
    routes = [Route("/auth/user-login", _login_endpoint(core), methods=["POST"])]
    for path, handlers in ROUTES:
        methods = sorted({*handlers, "GET", "POST", "PUT", "DELETE", "PATCH"})
        routes.append(Route(path, _endpoint(core, handlers), methods=methods))

    def unknown(request: Request, exc: Exception) -> Response:
        return _not_found(request)

    app = Starlette(routes=routes, exception_handlers={HTTPException: unknown})
    app.router.redirect_slashes = False
    return app
