"""What every route shares: application keys, JSON errors, auth, times and bodies."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sitewatch.api.auth import TokenBook
from sitewatch.clock import Clock
from sitewatch.config.settings import Settings
from sitewatch.health import Health
from sitewatch.model import Principal, Role
from sitewatch.model.times import utc_iso_or_none
from sitewatch.service import Service
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Cursor

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
TOKENS = web.AppKey("tokens", TokenBook)
METRICS = web.AppKey("metrics", Metrics)
SERVICE = web.AppKey("service", Service)
HEALTH = web.AppKey("health", Health)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(web.HTTPException):
    """An expected client error, answered as JSON `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error as JSON; an unexpected exception is a logged 500, never a crash."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = "request body is too large" if exc.status == 413 else exc.reason
        raise ApiError(exc.status, message) from exc
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        raise ApiError(500, "internal error; the details are in sitewatch's log") from None


def caller(request: web.Request, *, operator_only: bool = False) -> Principal:
    """Return the caller, or raise 401 (no or unknown token) or 403 (not allowed)."""
    found = request.app[TOKENS].authenticate(request.headers.get("Authorization"))
    if found is None:
        raise ApiError(401, "missing or unknown bearer token")
    if operator_only and found.role is not Role.OPERATOR:
        raise ApiError(403, "this route is for operators")
    return found


def iso(value: datetime | None) -> str | None:
    """Render a time as ISO 8601 in UTC (`Z`), whatever offset it was given with."""
    return utc_iso_or_none(value)


def parse_time(value: object, key: str) -> datetime:
    """Parse an ISO 8601 time with an offset, or raise a 400 naming the key."""
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be an ISO 8601 time string such as 2026-11-26T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(
            400, f"{key}: {value!r} is not an ISO 8601 time such as 2026-11-26T10:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise ApiError(400, f"{key}: {value!r} has no offset; add Z or +01:00")
    try:
        # In UTC from here on: stored, compared and shown alike.
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ApiError(400, f"{key}: {value!r} is out of range") from None
    return parsed


async def json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """Read the body as a JSON object, or raise a 400 saying what is wrong."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "the request body must be a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def reject_unknown_keys(body: dict[str, Any], allowed: set[str]) -> None:
    """Raise a 400 naming any key this route does not take (typos must not pass)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            400, f"unknown field(s) {', '.join(unknown)}; expected: {', '.join(sorted(allowed))}"
        )


def optional_str(body: dict[str, Any], key: str, default: str = "") -> str:
    """Return a string field, or raise a 400 when it is not a string."""
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    return value


def reject_unknown_query(request: web.Request, allowed: set[str]) -> None:
    """Raise a 400 naming any query parameter this route does not take (typos must not pass)."""
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        expected = ", ".join(sorted(allowed)) or "none"
        raise ApiError(
            400, f"unknown query parameter(s) {', '.join(map(repr, unknown))}; expected: {expected}"
        )


DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def parse_limit(raw: str | None) -> int:
    """Parse a `limit` query parameter (1..1000, default 100), or raise a 400."""
    if raw is None:
        return DEFAULT_LIMIT
    # Not str.isdigit() alone: it accepts "²", which int() then refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def format_cursor(cursor: Cursor) -> str:
    """Return the opaque `after` value of the next page of a list."""
    raw = f"{cursor.at.timestamp():.6f}|{cursor.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(raw: str | None) -> Cursor | None:
    """Read an `after` query parameter (the `next` of a previous page), or raise a 400."""
    if raw is None:
        return None
    problem = ApiError(400, "after must be the `next` value of a previous page, as given")
    if len(raw) > 200 or not raw.isascii():
        raise problem
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        stamp, _, item = text.partition("|")
        at = datetime.fromtimestamp(float(stamp), UTC)
    except (ValueError, OverflowError, OSError, UnicodeDecodeError):
        raise problem from None
    if not item or not item.isprintable():
        raise problem
    return Cursor(at, item)
