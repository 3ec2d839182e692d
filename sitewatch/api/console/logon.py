"""Logon and logout: the token is posted once, the browser gets a session cookie.

The logon form is what `GET /` (or any console page) answers a browser without a
session. It carries a CSRF token derived from a nonce cookie set with it, so that
another site cannot log a browser on under the other site's token. The token is
never written into a page, a URL, a cookie or a log line.
"""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.common import CLOCK, TOKENS
from sitewatch.api.console.cookies import (
    clear_session,
    logon_nonce,
    set_logon_nonce,
    set_session,
    signer,
)
from sitewatch.api.console.forms import BadForm, csrf_matches, read_form
from sitewatch.api.console.render import csrf_refusal, error_page, page, redirect
from sitewatch.api.console.sessions import ABSOLUTE, IDLE
from sitewatch.api.console.visit import Visit
from sitewatch.model.durations import format_duration

INVALID = "That token is not valid."


async def logon_page(request: web.Request, problem: str = "", status: int = 0) -> web.Response:
    """Render the logon form (with a fresh nonce cookie), and a problem if there is one."""
    nonce, _ = logon_nonce(request)
    response = await page(
        request,
        None,
        "logon.html",
        status or (401 if problem else 200),
        title="Log on",
        problem=problem,
        logon_csrf=signer(request).logon_csrf(nonce),
        idle=format_duration(IDLE),
        absolute=format_duration(ABSOLUTE),
    )
    set_logon_nonce(request, response, nonce)
    return response


async def login(request: web.Request) -> web.Response:
    """Check a token posted by the logon form; on success open a session."""
    try:
        form = await read_form(request)
    except web.HTTPRequestEntityTooLarge:
        return await error_page(request, 413, "Too large", "That form is too large to send.")
    if isinstance(form, BadForm):
        return await logon_page(request, form.message, 400)
    nonce, new = logon_nonce(request)
    if new or not csrf_matches(form, signer(request).logon_csrf(nonce)):
        return await csrf_refusal(request, None)
    token = form.get("token", [""])[0].strip()
    who = request.app[TOKENS].authenticate(f"Bearer {token}") if token else None
    if who is None:
        return await logon_page(request, INVALID)
    session = signer(request).open(who, token, request.app[CLOCK].now())
    response = redirect("/")
    set_session(request, response, session)
    return response


async def logout(request: web.Request, visit: Visit) -> web.Response:
    """End the browser's session and go back to the logon form (a CSRF-checked POST)."""
    response = redirect("/")
    clear_session(request, response)
    return response


async def to_overview(request: web.Request) -> web.Response:
    """Send a GET of a form's address (a reload, a bookmark) to the overview."""
    return redirect("/")
