"""What every route shares: application keys, JSON errors, the caller, bodies in and out."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import NoReturn, TypeVar

from aiohttp import web
from pydantic import ValidationError

from sitewatch.api.auth import TokenBook
from sitewatch.api.bodies.problems import NOT_AN_OBJECT, explain
from sitewatch.api.bodies.requests import Query, RequestBody
from sitewatch.api.bodies.responses import Listing, ResponseBody
from sitewatch.api.limits import LIMITER
from sitewatch.clock import Clock
from sitewatch.config.settings import Settings
from sitewatch.health import Health
from sitewatch.model import Principal, Role
from sitewatch.model.times import utc_iso_or_none
from sitewatch.service import Service
from sitewatch.stats.metrics import Metrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_AUTHORIZATION = 4096
"""The longest Authorization header read (longer ones are refused before any lookup)."""

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
TOKENS = web.AppKey("tokens", TokenBook)
METRICS = web.AppKey("metrics", Metrics)
SERVICE = web.AppKey("service", Service)
HEALTH = web.AppKey("health", Health)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
B = TypeVar("B", bound=RequestBody)
Q = TypeVar("Q", bound=Query)


class ApiError(web.HTTPException):
    """An expected client error, answered as JSON `{"error": message}`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status
        # json.dumps escapes what is not ASCII: a message quoting a lone surrogate or a
        # control character from the request is still valid JSON.
        super().__init__(
            text=json.dumps({"error": message}, separators=(",", ":")),
            content_type="application/json",
            headers=headers,
        )


def too_many(message: str, retry_after: int) -> ApiError:
    """Return a 429 that says when to try again (`Retry-After`, in seconds)."""
    return ApiError(429, message, {"Retry-After": str(retry_after)})


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
        message = (
            f"the request body is too large: at most {MAX_BODY_BYTES} bytes"
            if exc.status == 413
            else exc.reason
        )
        raise ApiError(exc.status, message) from exc
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        raise ApiError(500, "internal error; the details are in sitewatch's log") from None


def caller(request: web.Request, *, operator_only: bool = False) -> Principal:
    """Return the caller: 400 for a malformed header, 401, 403, 429 over the rate limit."""
    header = request.headers.get("Authorization")
    if header is not None and (
        len(header) > MAX_AUTHORIZATION or not (header.isascii() and header.isprintable())
    ):
        # Read before any lookup: the header may not even be text (a latin-1 byte).
        raise ApiError(
            400,
            "the Authorization header must be `Bearer TOKEN` in printable ASCII, "
            f"at most {MAX_AUTHORIZATION} characters",
        )
    found = request.app[TOKENS].authenticate(header)
    if found is None:
        raise ApiError(401, "missing or unknown bearer token")
    limiter = request.app[LIMITER]
    wait = limiter.admit(found)
    if wait is not None:
        raise too_many(
            f"too many requests: at most {limiter.per_minute} a minute per token "
            f"(limits.requests_per_minute); try again in {wait} s",
            wait,
        )
    if operator_only and found.role is not Role.OPERATOR:
        raise ApiError(403, "this route is for operators")
    return found


def iso(value: datetime | None) -> str | None:
    """Render a time as ISO 8601 in UTC (`Z`), whatever offset it was given with."""
    return utc_iso_or_none(value)


async def read_body(request: web.Request, model: type[B], *, allow_empty: bool = False) -> B:
    """Read the body as a `model`, or raise a 400 (413 over 64 KiB) saying what is wrong."""
    try:
        raw = await request.read()
    except web.RequestPayloadError as exc:
        # A Content-Encoding that does not decode (gzip that is not gzip), say.
        reason = getattr(exc.__cause__, "message", None) or "it is malformed"
        raise ApiError(400, f"the request body cannot be read: {reason}") from None
    except ConnectionError:
        # The client went away mid-body: nobody reads this answer, nothing is broken.
        raise ApiError(400, "the request body ended early") from None
    if not raw.strip() and allow_empty:
        raw = b"{}"
    try:
        data = _decode(raw)
    except ValueError as problem:
        raise ApiError(400, str(problem)) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, explain(exc, model)) from None


def _decode(raw: bytes) -> object:
    """Parse a JSON body, or raise ValueError saying in one sentence what is wrong."""
    if not raw.strip():
        raise ValueError(NOT_AN_OBJECT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            "the request body is not valid JSON: it is not UTF-8 "
            f"(byte 0x{raw[exc.start]:02x} at {exc.start})"
        ) from None
    try:
        data = json.loads(text, parse_int=_whole_number, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        # The C parser counts its depth against the recursion limit and stops cleanly.
        raise ValueError("the request body is not valid JSON: it nests too deeply") from None
    if not isinstance(data, dict):
        raise ValueError(NOT_AN_OBJECT)
    return data


def _whole_number(text: str) -> int:
    # int() refuses over 4300 digits with advice for Python programmers; no field of
    # the API is a number anyway, so a long one is refused with plain words.
    digits = len(text.lstrip("-"))
    if digits > 100:
        raise ValueError(f"the request body holds a number of {digits} digits")
    return int(text)


def _not_json(text: str) -> NoReturn:
    raise ValueError(f"the request body is not valid JSON: {text} is not a JSON value")


def read_query(request: web.Request, model: type[Q]) -> Q:
    """Read the query string as a `model`, or raise a 400 saying what is wrong."""
    values: dict[str, object] = {}
    for key in request.query:
        given = request.query.getall(key)
        if len(given) > 1 and key not in model.REPEATABLE and key in model.model_fields:
            raise ApiError(
                400, f"query parameter {key!r} is given {len(given)} times; give it once"
            )
        values[key] = given if key in model.REPEATABLE else given[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(400, explain(exc, model, query=True)) from None


def respond(body: ResponseBody, status: int = 200) -> web.Response:
    """Answer a body as JSON."""
    return web.Response(text=body.encoded(), status=status, content_type="application/json")


async def respond_listing(build: Callable[[], Listing]) -> web.Response:
    """Build and encode a list in a worker thread, and answer it as JSON.

    10,000 checks take ~0.3 s of CPU to describe and encode; on the event loop that
    would be 0.3 s of lateness for every probe. In a thread, entry by entry, the loop
    gets the interpreter lock back every few milliseconds and probing keeps its
    schedule (docs/api.md, "Limits").
    """
    text = await asyncio.to_thread(lambda: build().encoded())
    return web.Response(text=text, content_type="application/json")
