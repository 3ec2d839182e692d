"""What aiohttp's HTTP server logs about requests: never a header value, never a token.

aiohttp answers a request it cannot parse (a header over 8190 bytes, a raw NUL or
a non-ASCII byte in the URL) with 400 before any route sees it, and logs the parser
error with its traceback, whose message quotes the first 100 bytes of the offending
line: for an oversized `Authorization` header, the token. `ServerLog` logs such a
request in one line without the message. `AccessLog` logs a request by its route
pattern (`/ack/{token}`, never the signed token in the path) and its status, without
the query string or any header. Both are given to aiohttp through
`web.Application(handler_args=SERVER_OPTIONS)`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, Request, RequestPayloadError, StreamResponse

_server = logging.getLogger("sitewatch.api.server")


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger, which says what was malformed but never quotes it."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log as asked, unless the record is about a request aiohttp could not parse."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if exc_info is True:
            exc = sys.exc_info()[1]
        if isinstance(exc, HttpProcessingError | RequestPayloadError):
            # The client's mistake, answered 400: worth a line, not a traceback, and
            # the parser's message holds the raw bytes of the line (maybe a token).
            self.logger.log(
                min(level, logging.INFO),  # aiohttp logs a scanner's first bytes at DEBUG
                "refused a request that is not valid HTTP (%s); its text is not logged",
                type(exc).__name__,
            )
            return
        super().log(level, msg, *args, **kwargs)


class AccessLog(AbstractAccessLogger):
    """One line per request: method, route pattern, status, size and time; no values."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Log a request without its query string, path values or headers."""
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote,
            request.method,
            _route(request),
            response.status,
            response.body_length,
            time,
        )

    @property
    def enabled(self) -> bool:
        """Tell aiohttp whether to time requests for this log."""
        return self.logger.isEnabledFor(logging.INFO)


def _route(request: BaseRequest) -> str:
    """Return the route pattern a request matched, or `(no route)`."""
    if not isinstance(request, Request):
        return "(no route)"
    try:
        resource = request.match_info.route.resource
    except AssertionError:
        # A request aiohttp refused before routing (not valid HTTP) has no match yet.
        return "(not valid HTTP)"
    return "(no route)" if resource is None else resource.canonical


SERVER_OPTIONS: dict[str, Any] = {
    "logger": ServerLog(_server, {}),
    "access_log_class": AccessLog,
}
"""Keyword arguments of aiohttp's request handler (`web.Application(handler_args=...)`)."""
