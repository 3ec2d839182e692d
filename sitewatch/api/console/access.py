"""Who may see a console page: the session behind each request, CSRF on every POST.

Every console route is wrapped by `console_route`: it finds the session (a valid
cookie whose principal is still configured with the token it logged on with),
answers the logon form when there is none, refuses an operator's page to a
customer, checks the CSRF token of every POST before the handler runs, moves the
session's idle expiry, and turns anything unexpected into an HTML error page
instead of the API's JSON. Nothing here logs a form value, a cookie or a token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from sitewatch.api.common import CLOCK, TOKENS
from sitewatch.api.console.cookies import current_session, set_session, signer
from sitewatch.api.console.forms import BadForm, csrf_matches, read_form
from sitewatch.api.console.logon import INVALID, logon_page
from sitewatch.api.console.render import csrf_refusal, error_page
from sitewatch.api.console.sessions import COOKIE
from sitewatch.api.console.visit import Visit

log = logging.getLogger(__name__)

ConsoleHandler = Callable[[web.Request, Visit], Awaitable[web.Response]]
Route = Callable[[web.Request], Awaitable[web.Response]]


def console_route(handler: ConsoleHandler, *, operators_only: bool = False) -> Route:
    """Wrap a console handler with sessions, roles, CSRF and HTML error pages."""

    async def route(request: web.Request) -> web.Response:
        try:
            return await _guarded(request, handler, operators_only)
        except web.HTTPRequestEntityTooLarge:
            return await error_page(request, 413, "Too large", "That form is too large to send.")
        except Exception:
            log.exception("unexpected error answering the console's %s", request.method)
            message = "sitewatch could not answer; the details are in its log."
            return await error_page(request, 500, "Internal error", message)

    return route


async def _guarded(
    request: web.Request, handler: ConsoleHandler, operators_only: bool
) -> web.Response:
    now = request.app[CLOCK].now()
    keys = signer(request)
    session = current_session(request, now)
    header = request.headers.get("Authorization")
    if session is None and header and request.method == "GET":
        # A script or a dashboard may read pages with its bearer token, as the API
        # does; it gets no cookie, and it may not post (its forms have no session).
        who = request.app[TOKENS].authenticate(header)
        if who is None:
            return await logon_page(request, INVALID)
        token = header.partition(" ")[2].strip()
        session = keys.open(who, token, now)
        return await handler(request, Visit(session, keys.csrf(session), now))
    if session is None:
        ended = COOKIE in request.cookies
        return await logon_page(request, "Your session has ended; log on again." if ended else "")
    visit = Visit(session, keys.csrf(session), now)
    if operators_only and not visit.is_operator:
        message = "This page is for operators."
        return await error_page(request, 403, "Not for customers", message, visit)
    if request.method == "POST":
        form = await read_form(request)
        if isinstance(form, BadForm):
            return await error_page(request, 400, "Bad form", form.message, visit)
        if not csrf_matches(form, visit.csrf):
            return await csrf_refusal(request, visit)
        visit = Visit(session, visit.csrf, now, form)
    response = await handler(request, visit)
    if (fresh := keys.refreshed(session, now)) is not None:
        set_session(request, response, fresh)
    return response
