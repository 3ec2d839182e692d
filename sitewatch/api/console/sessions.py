"""Console sessions: a signed cookie naming who logged on, with idle and absolute expiry.

A browser cannot send a bearer header, so the logon form posts the token once and
gets back a cookie holding a claim, never the token:

    base64url(JSON {role, id, sid, issued, used, token}) "." base64url(HMAC-SHA256)

`sid` is a random session id (the CSRF token is derived from it), `issued` and
`used` are Unix seconds (absolute and idle expiry), and `token` is an HMAC of the
token the session was opened with: a token removed from the config or rotated ends
its sessions, because the claim then names no configured token. The key is
`Service.session_key`, kept in the database, so every instance of one service
accepts every cookie and a restart logs nobody out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sitewatch.model import Principal, Role

COOKIE = "sitewatch_session"
IDLE = timedelta(minutes=30)
"""A session unused this long has ended (a phone left on a table at 3 a.m.)."""
ABSOLUTE = timedelta(hours=12)
"""A session ends this long after logon however much it is used: one on-call shift."""
REFRESH_AFTER = timedelta(minutes=1)
"""Re-issue the cookie (moving its idle expiry) at most this often, not on every request."""
MAX_COOKIE = 1024
"""A longer cookie value is not one of ours: refused before any decoding."""


@dataclass(frozen=True, slots=True)
class Session:
    """One logged-on browser: who, since when, last used when."""

    principal: Principal
    sid: str
    issued: datetime
    used: datetime
    token: str
    """The HMAC of the token the session was opened with (never the token)."""


class SessionSigner:
    """Issue, check and refresh session cookies, and derive their CSRF tokens."""

    def __init__(self, key: bytes, *, idle: timedelta = IDLE, absolute: timedelta = ABSOLUTE):
        self._key = key
        self.idle = idle
        self.absolute = absolute

    def open(self, principal: Principal, token: str, now: datetime) -> Session:
        """Start a session for the principal whose token was just checked."""
        return Session(principal, secrets.token_urlsafe(18), now, now, self.fingerprint(token))

    def fingerprint(self, token: str) -> str:
        """Return the HMAC that stands for a token in a cookie (the token cannot be read back)."""
        return self._mac(f"token:{token}")[:32]

    def csrf(self, session: Session) -> str:
        """Return the CSRF token of a session: forms carry it, every POST must."""
        return self._mac(f"csrf:{session.sid}")

    def logon_csrf(self, nonce: str) -> str:
        """Return the CSRF token of the logon form for a pre-session nonce cookie."""
        return self._mac(f"logon:{nonce}")

    def encode(self, session: Session) -> str:
        """Return the cookie value of a session."""
        claim = {
            "role": session.principal.role.value,
            "id": session.principal.id,
            "sid": session.sid,
            "issued": int(session.issued.timestamp()),
            "used": int(session.used.timestamp()),
            "token": session.token,
        }
        body = _b64(json.dumps(claim, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def decode(self, value: str | None, now: datetime) -> Session | None:
        """Return the session a cookie value holds, or None: forged, malformed or expired."""
        if not value or len(value) > MAX_COOKIE:
            return None
        body, _, signature = value.partition(".")
        if not hmac.compare_digest(signature.encode(), self._mac(body).encode()):
            return None
        session = _parse(body)
        if session is None:
            return None
        if now >= session.issued + self.absolute or now >= session.used + self.idle:
            return None
        return session

    def refreshed(self, session: Session, now: datetime) -> Session | None:
        """Return the session with its use moved to now, or None if the cookie is fresh enough."""
        if now - session.used < REFRESH_AFTER:
            return None
        return replace(session, used=now)

    def max_age(self, session: Session, now: datetime) -> int:
        """Return the cookie's Max-Age: until the earlier of the idle and absolute expiry."""
        ends = min(session.used + self.idle, session.issued + self.absolute)
        return max(0, int((ends - now).total_seconds()))

    def _mac(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return _b64(digest)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse(body: str) -> Session | None:
    """Read a claim the key signed; None if it is not a claim this code writes."""
    try:
        claim = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claim, dict):
        return None
    role, who, sid, token = (claim.get(k) for k in ("role", "id", "sid", "token"))
    issued, used = claim.get("issued", -1), claim.get("used", -1)
    texts = (role, who, sid, token)
    if not all(isinstance(v, str) and v for v in texts) or role not in {r.value for r in Role}:
        return None
    if not (_seconds(issued) and _seconds(used)):
        return None
    assert isinstance(issued, int) and isinstance(used, int)  # what _seconds checked
    return Session(
        Principal(Role(str(role)), str(who)),
        str(sid),
        datetime.fromtimestamp(issued, UTC),
        datetime.fromtimestamp(used, UTC),
        str(token),
    )


def _seconds(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**40
