"""Minting and verifying the simulator's JWT-shaped auth tokens (HS256, per-app secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from ._sim_clock import Clock

__all__ = ["Claims", "TokenIssuer"]

_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True)
class Claims:
    """The verified payload of a token."""

    account_id: str
    owner_id: str
    method: str
    iat: int
    exp: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues ``header.payload.signature`` tokens signed with HMAC-SHA256.

    The secret is random per simulator; :meth:`rotate` invalidates every token issued so far.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._revoked: set[str] = set()

    def revoke(self, token: str) -> None:
        """Invalidate one token (a logout)."""
        self._revoked.add(token)

    def rotate(self) -> None:
        """Replace the signing secret, so every outstanding token stops verifying."""
        self._secret = secrets.token_bytes(32)

    def mint(self, account_id: str, owner_id: str, method: str, lifetime: int) -> str:
        """Return a signed token valid for ``lifetime`` seconds from now."""
        iat = self._clock.unix()
        payload = {
            "account_id": account_id,
            "owner_id": owner_id,
            "method": method,
            "iat": iat,
            "exp": iat + lifetime,
            "iss": "kazoo",
            "jti": secrets.token_hex(8),
        }
        head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{head}.{body}.{self._sign(head, body)}"

    def verify(self, token: str) -> Claims | None:
        """Return the claims of a well-signed, unexpired token, else None."""
        parts = token.split(".")
        if len(parts) != 3 or token in self._revoked:
            return None
        head, body, sig = parts
        if not hmac.compare_digest(sig, self._sign(head, body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            claims = Claims(
                account_id=str(payload["account_id"]),
                owner_id=str(payload["owner_id"]),
                method=str(payload["method"]),
                iat=int(payload["iat"]),
                exp=int(payload["exp"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if payload.get("iss") != "kazoo" or self._clock.unix() >= claims.exp:
            return None
        return claims

    def _sign(self, head: str, body: str) -> str:
        digest = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return _b64(digest)
