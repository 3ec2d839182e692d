"""Browser sessions for the status page: a signed cookie naming the principal, never the token.

A browser cannot send a bearer header, so the logon form posts the token once and
gets back a cookie `ROLE:ID:EXPIRES:SIGNATURE`, signed with HMAC-SHA256 under a key
drawn when the service starts: restarting sitewatch (to rotate a token, say) ends
every session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sitewatch.model import Principal, Role

COOKIE = "sitewatch_session"
LIFETIME = timedelta(hours=12)


class SessionSigner:
    """Issue and check session cookie values."""

    def __init__(self, key: bytes | None = None, lifetime: timedelta = LIFETIME) -> None:
        self._key = key or secrets.token_bytes(32)
        self.lifetime = lifetime

    def issue(self, principal: Principal, now: datetime) -> str:
        """Return a cookie value for this principal, valid for `lifetime` from now."""
        expires = int((now + self.lifetime).timestamp())
        claim = f"{principal.role.value}:{principal.id}:{expires}"
        return f"{claim}:{self._sign(claim)}"

    def check(self, value: str | None, now: datetime) -> Principal | None:
        """Return the principal a cookie value names, or None if forged, malformed or expired."""
        if not value:
            return None
        claim, _, signature = value.rpartition(":")
        if not hmac.compare_digest(signature.encode(), self._sign(claim).encode()):
            return None
        role, _, rest = claim.partition(":")
        principal_id, _, expires = rest.partition(":")
        if role not in {r.value for r in Role} or not expires.isdigit():
            return None
        if now.timestamp() >= int(expires):
            return None
        return Principal(Role(role), principal_id)

    def _sign(self, claim: str) -> str:
        return hmac.new(self._key, claim.encode(), hashlib.sha256).hexdigest()
