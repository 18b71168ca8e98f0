"""The simulator's configuration knobs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_ASTRADIAL_API_KEY",
    "DEFAULT_ASTRADIAL_ORG_KEY",
    "DEFAULT_ASTRADIAL_ORG_SECRET",
    "SimulatorConfig",
]

#: The deterministic 64-character API key of the master account (a test credential, not a secret).
DEFAULT_API_KEY = hashlib.sha256(b"audian-async simulator default api key").hexdigest()
#: The deterministic Astradial API key (``ak_`` + 32 hex) of the simulated main organisation.
DEFAULT_ASTRADIAL_API_KEY = "ak_" + hashlib.md5(b"audian-async simulator astradial key").hexdigest()
#: The simulated organisation key and secret (``POST /api/v1/auth/login``).
DEFAULT_ASTRADIAL_ORG_KEY = "org_" + hashlib.md5(b"audian-async simulator org key").hexdigest()
DEFAULT_ASTRADIAL_ORG_SECRET = "as_" + hashlib.sha256(b"audian-async org secret").hexdigest()[:48]


@dataclass
class SimulatorConfig:
    """Everything that can be tuned on a simulator; fields may also be changed at runtime.

    Rate limiting: ``bucket_size=None`` disables the token bucket entirely. The bucket is kept
    per (account, client ip), the account being the one named in the URL as in Kazoo (else the
    token's); requests naming none and carrying no valid token share the anonymous bucket.
    By default it behaves as Kazoo's does (a block refill each second on the bucket's own timer;
    a refused request leaves the level alone, a refused login empties it); ``bucket_refill``
    and ``bucket_empty_on_refusal`` choose other models.
    """

    #: API keys of the master account (each exactly 64 characters).
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    #: Name of the pre-created master account.
    master_account_name: str = "Master Account"
    #: Fixed 32-hex id for the master account; None derives a deterministic one.
    master_account_id: str | None = None
    #: Lifetime of minted auth tokens, in seconds.
    token_lifetime: int = 3600
    #: Bucket tokens a login (``PUT /v2/api_auth``, ``PUT /v2/user_auth``) costs (Kazoo's own
    #: default is 35; a refused login empties the bucket, as Kazoo's ``consume_until`` does).
    auth_token_cost: int = 1
    #: Bucket tokens every other request costs.
    request_cost: int = 1
    #: Capacity of each token bucket; None disables rate limiting.
    bucket_size: int | None = 100
    #: Tokens added back to a bucket per second.
    bucket_refill_per_sec: float = 10.0
    #: How the tokens come back: ``"block"`` (Kazoo's default, ``fill_as_block``: the second's
    #: whole refill at once, on the bucket's own timer), ``"token"`` (one token every
    #: ``1 / bucket_refill_per_sec`` seconds: Kazoo with ``fill_as_block`` off) or
    #: ``"continuous"`` (a fractional refill at every request, as many gateways do).
    bucket_refill: str = "block"
    #: Empty the bucket on every refused request (some gateways and proxies in front of Kazoo
    #: do; Kazoo itself does so only for logins). With ``bucket_refill="continuous"`` a client
    #: that retries faster than one token's refill time never gets through.
    bucket_empty_on_refusal: bool = False
    #: Add a ``Retry-After`` header to the bucket's own 429 responses.
    send_retry_after: bool = False
    #: Page size used when a listing request gives none.
    default_page_size: int = 50
    #: Answer DELETE with 204 and an empty body instead of 200 + the deleted doc.
    delete_returns_204: bool = False
    #: Return account phone number listings in Kazoo's ``{"cascade_quantity", "numbers"}`` shape.
    phone_numbers_nested: bool = False
    #: Check every response against the OpenAPI spec (when one is found).
    check_contract: bool = True
    #: Check every request against the spec too (violations land in ``request_violations``).
    check_requests: bool = True
    #: Answer a request that breaks the spec with a loud 500 instead of serving it (useful
    #: when the client under test validates its own requests, as the SDK does).
    strict_requests: bool = False
    #: Turn a contract violation into a loud 500 response.
    strict_contract: bool = True
    #: Explicit location of the OpenAPI document; None searches the usual places.
    spec_path: Path | None = None
    #: Value of the envelope ``version`` key.
    version: str = "5.4.32.6"
    #: Suffix of auto-generated account realms.
    realm_suffix: str = "sip.audian.com"
    #: Seed for generated ids and the node name; None means random.
    seed: int | None = None
    #: Extra (non-master) accounts are given an API key automatically.
    auto_api_keys: bool = True
    #: Notes for humans, ignored by the simulator.
    notes: dict[str, str] = field(default_factory=dict)

    # -- Astradial (``/api/v1``, see the ``_astradial`` package) ---------------------------------
    #: Answer in the open-source server's shapes (``createdAt``, ``{data, pagination}``, SQL 500s
    #: ...) instead of the documented ones.
    astradial_oss_shapes: bool = False
    #: ``X-API-Key`` keys of the main organisation.
    astradial_api_keys: tuple[str, ...] = (DEFAULT_ASTRADIAL_API_KEY,)
    #: The main organisation's own key (``org_...``): accepted in ``X-API-Key`` and, with
    #: `astradial_org_api_secret`, by ``POST /api/v1/auth/login``.
    astradial_org_api_key: str = DEFAULT_ASTRADIAL_ORG_KEY
    #: The secret paired with `astradial_org_api_key`.
    astradial_org_api_secret: str = DEFAULT_ASTRADIAL_ORG_SECRET
    #: Dashboard login (``POST /api/v1/auth/user-login``) of the main organisation's owner.
    astradial_email: str = "owner@astradial.test"
    #: Password of every simulated dashboard login.
    astradial_password: str = "simulator-password"
    #: Open-source flavour: whether the ``org_users`` table exists. The server's own model sync
    #: does not create it (a migration does); without it every ``/auth/user-login`` answers
    #: 500 with SQL text (reference 5e).
    astradial_org_users_table: bool = True
    #: The fake phone system the call-control routes reach (on by default). False answers as
    #: an open-source server without Asterisk does: live calls and call control give 500.
    astradial_pbx_up: bool = True
    #: Lifetime of login JWTs in seconds (24 h like the real server); then 401.
    astradial_token_lifetime: int = 86_400
    #: Call-history records (CDRs) seeded for the main organisation.
    astradial_calls: int = 45
    #: Size of each seeded call recording (a WAV file), in bytes.
    astradial_recording_size: int = 48_044

    def validate(self) -> None:
        """Raise ValueError when the configuration cannot work."""
        if not self.api_keys:
            raise ValueError("at least one API key is required")
        for key in self.api_keys:
            if len(key) != 64:
                raise ValueError("API keys must be exactly 64 characters long")
        if self.master_account_id is not None and not _is_hex_id(self.master_account_id):
            raise ValueError("master_account_id must be 32 lowercase hex characters")
        if self.token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        if self.bucket_size is not None and self.bucket_size < 0:
            raise ValueError("bucket_size must be >= 0 or None")
        if self.bucket_refill_per_sec < 0:
            raise ValueError("bucket_refill_per_sec must be >= 0")
        if self.bucket_refill not in ("block", "token", "continuous"):
            raise ValueError(
                f"bucket_refill must be 'block', 'token' or 'continuous', not {self.bucket_refill!r}"
            )
        if self.default_page_size < 1:
            raise ValueError("default_page_size must be >= 1")


def _is_hex_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
