"""Acknowledge links: signed, expiring tokens scoped to one ticket and one operator.

A token is `base64url(payload) "." base64url(mac)` where the payload is
`ticket:operator:expiry` (expiry in Unix seconds) and the MAC is the first 16 bytes
of HMAC-SHA256 over a version label and the payload. It is never an API token: it
lets its holder acknowledge one ticket, as the operator it was issued to, until it
expires or that operator leaves the config, and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sitewatch.model import ID_PATTERN

SIGNING_KEY_META = "ack_signing_key"
"""The `meta` entry holding the generated key when the config sets none."""

MIN_CONFIGURED_KEY_CHARS = 32
_LABEL = b"sitewatch ack link v1\x00"
_MAC_BYTES = 16
_TICKET_ID = re.compile(r"^[1-9][0-9]{0,17}$")
_MAX_TOKEN_CHARS = 256


@dataclass(frozen=True, slots=True)
class AckGrant:
    """What a valid token allows: acknowledging this ticket as this operator."""

    ticket_id: str
    operator: str
    expires_at: datetime


class Problem(StrEnum):
    """Why a token is refused."""

    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    REVOKED = "revoked"
    """Its operator is no longer in the config: a link dies with its operator."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused token, with a message fit to show to whoever followed the link."""

    problem: Problem
    message: str


@dataclass(frozen=True, slots=True)
class AckLinks:
    """Issue and verify acknowledge links under one key."""

    key: bytes = field(repr=False)
    public_url: str
    ttl: timedelta

    def token(self, ticket_id: str, operator: str, now: datetime) -> str:
        """Return a token for acknowledging `ticket_id` as `operator`, valid for `ttl`."""
        expires = int((now + self.ttl).timestamp())
        payload = f"{ticket_id}:{operator}:{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def url(self, ticket_id: str, operator: str, now: datetime) -> str:
        """Return the acknowledge link: `public_url/ack/{token}`."""
        return f"{self.public_url.rstrip('/')}/ack/{self.token(ticket_id, operator, now)}"

    def verify(
        self, token: str, now: datetime, *, operators: Collection[str]
    ) -> AckGrant | Refusal:
        """Return what the token allows at `now`, or why it is refused.

        `operators` are the ids configured now: a link issued to anyone else, such
        as an engineer who has left, acknowledges nothing, however well signed.
        """
        parts = token.split(".") if len(token) <= _MAX_TOKEN_CHARS else []
        if len(parts) != 2:
            return _malformed()
        payload, mac = _unb64(parts[0]), _unb64(parts[1])
        if payload is None or mac is None:
            return _malformed()
        if not hmac.compare_digest(mac, self._mac(payload)):
            return Refusal(
                Problem.FORGED,
                "This acknowledge link is not valid: it was changed, or it was signed "
                "with another key (the signing key was replaced).",
            )
        fields = payload.decode("utf-8", "replace").split(":")
        if len(fields) != 3 or not _TICKET_ID.match(fields[0]) or not ID_PATTERN.match(fields[1]):
            return _malformed()
        if not (fields[2].isascii() and fields[2].isdigit() and len(fields[2]) <= 12):
            return _malformed()
        if fields[1] not in operators:
            return Refusal(
                Problem.REVOKED,
                f"This acknowledge link was sent to {fields[1]}, who is no longer an "
                "operator of this sitewatch, so it no longer acknowledges anything. "
                "Acknowledge through the API or a link sent to you.",
            )
        expires_at = datetime.fromtimestamp(int(fields[2]), UTC)
        if now >= expires_at:
            return Refusal(
                Problem.EXPIRED,
                f"This acknowledge link expired at {expires_at.isoformat()}. "
                "Acknowledge through the API or a newer page.",
            )
        return AckGrant(fields[0], fields[1], expires_at)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, _LABEL + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def signing_key(configured: str | None, stored: str) -> bytes:
    """Return the key links are signed with: the configured one, else the stored one.

    `stored` is the hex string kept in the database's `meta` table (created once with
    32 random bytes), so links stay valid across restarts.
    """
    if configured:
        return hashlib.sha256(b"sitewatch signing key\x00" + configured.encode()).digest()
    return bytes.fromhex(stored)


def _malformed() -> Refusal:
    return Refusal(
        Problem.MALFORMED,
        "This is not an acknowledge link sitewatch made: copy the whole link from the page.",
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
