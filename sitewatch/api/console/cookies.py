"""The console's cookies: the session cookie and the logon form's nonce.

Both are `HttpOnly` and `SameSite=Strict`, and `Secure` when the browser came over
https. Neither holds a token: the session cookie holds a signed claim
(`sessions.py`), the logon cookie a random nonce the logon form's CSRF token is
derived from.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime

from aiohttp import web

from sitewatch.api.common import CLOCK, SERVICE, SETTINGS
from sitewatch.api.console.sessions import COOKIE, Session, SessionSigner
from sitewatch.config.settings import Settings
from sitewatch.model import Principal, Role

LOGON_COOKIE = "sitewatch_logon"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
LOGON_LIFETIME = 3600
"""Seconds a logon form may stay open before it must be reloaded."""


def signer(request: web.Request) -> SessionSigner:
    """Return the signer under the service's key (kept in the database, shared by instances)."""
    return SessionSigner(request.app[SERVICE].session_key)


def token_of(settings: Settings, principal: Principal) -> str | None:
    """Return the token a principal is configured with now, or None if it is gone."""
    if principal.role is Role.OPERATOR:
        operator = settings.operator(principal.id)
        return operator.token if operator else None
    customer = settings.customer(principal.id)
    return customer.token if customer else None


def current_session(request: web.Request, now: datetime) -> Session | None:
    """Return the request's session: a valid cookie whose principal's token is unchanged."""
    keys = signer(request)
    session = keys.decode(request.cookies.get(COOKIE), now)
    if session is None:
        return None
    token = token_of(request.app[SETTINGS], session.principal)
    if token is None or not hmac.compare_digest(keys.fingerprint(token), session.token):
        return None
    return session


def is_https(request: web.Request) -> bool:
    """Tell whether the browser reached us over https, directly or through a proxy.

    `X-Forwarded-Proto: https` is trusted for this one purpose: it can only add the
    Secure flag, and a forged header only makes the forger's own cookie https-only.
    """
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def set_session(request: web.Request, response: web.StreamResponse, session: Session) -> None:
    """Set (or refresh) the session cookie on a response."""
    keys = signer(request)
    response.set_cookie(
        COOKIE,
        keys.encode(session),
        max_age=keys.max_age(session, request.app[CLOCK].now()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
    )


def clear_session(request: web.Request, response: web.StreamResponse) -> None:
    """Tell the browser to forget its session cookie."""
    response.del_cookie(
        COOKIE, path="/", httponly=True, samesite="Strict", secure=is_https(request)
    )


def logon_nonce(request: web.Request) -> tuple[str, bool]:
    """Return the logon nonce the browser holds, or a new one; and whether it is new."""
    held = request.cookies.get(LOGON_COOKIE, "")
    if (
        16 <= len(held) <= 64
        and held.isascii()
        and held.replace("-", "").replace("_", "").isalnum()
    ):
        return held, False
    return secrets.token_urlsafe(18), True


def set_logon_nonce(request: web.Request, response: web.StreamResponse, nonce: str) -> None:
    """Give the browser the nonce its logon form's CSRF token is derived from."""
    response.set_cookie(
        LOGON_COOKIE,
        nonce,
        max_age=LOGON_LIFETIME,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
    )
