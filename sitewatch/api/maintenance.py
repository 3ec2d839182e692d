"""Routes for maintenance windows: declare, list, show, extend or end early, cancel."""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.bodies.fields import format_cursor
from sitewatch.api.bodies.requests import Declaration, NoQuery, WindowEnd, WindowQuery
from sitewatch.api.bodies.responses import WindowBody, WindowDetail, WindowList
from sitewatch.api.common import (
    CLOCK,
    SERVICE,
    SETTINGS,
    ApiError,
    caller,
    read_body,
    read_query,
    respond,
    respond_listing,
    too_many,
)
from sitewatch.model import Principal, Window
from sitewatch.outages import windows as maintenance
from sitewatch.outages.windows import Rejection

WINDOWS_RETRY_AFTER = 60
"""Seconds a 429 for too many windows asks to wait: the caller frees one by ending or
cancelling a window, which no clock of ours can predict."""


def _declaration(
    body: Declaration, who: Principal, request: web.Request
) -> maintenance.Declaration:
    if not who.may_act_for(body.customer):
        raise ApiError(
            403, f"a token of customer {who.id} cannot declare windows for {body.customer}"
        )
    if request.app[SETTINGS].customer(body.customer) is None:
        raise ApiError(400, f"customer {body.customer!r} is not configured")
    return maintenance.Declaration(
        customer=body.customer,
        checks=tuple(body.checks or ()),
        kind=body.kind,
        start=body.start,
        end=body.end,
        note=body.note or "",
    )


def _answer(found: Window | Rejection) -> Window:
    if isinstance(found, Window):
        return found
    if found.status == 429:
        raise too_many(found.message, WINDOWS_RETRY_AFTER)
    raise ApiError(found.status, found.message)


async def declare(request: web.Request) -> web.Response:
    """Declare a window: a planned event only if declared before it starts."""
    who = caller(request)
    read_query(request, NoQuery)
    declaration = _declaration(await read_body(request, Declaration), who, request)
    stored = _answer(await request.app[SERVICE].windows.declare(who, declaration))
    return respond(WindowBody.of(stored, request.app[CLOCK].now()), status=201)


async def list_windows(request: web.Request) -> web.Response:
    """List windows, latest start first, cancelled and recurring ones too.

    A customer sees its own. `next` (when more exist) is the `after` of the next page.
    """
    who = caller(request)
    query = read_query(request, WindowQuery)
    windows, more = await request.app[SERVICE].windows.page(
        who, state=query.state, limit=query.limit, after=query.after
    )
    now = request.app[CLOCK].now()
    return await respond_listing(
        lambda: WindowList(
            maintenance=[WindowBody.of(w, now) for w in windows],
            next=None if more is None else format_cursor(more),
        )
    )


async def show(request: web.Request) -> web.Response:
    """Show one window with its audit trail."""
    who = caller(request)
    read_query(request, NoQuery)
    desk = request.app[SERVICE].windows
    window = _answer(await desk.find(who, request.match_info["window_id"]))
    changes = await desk.history(window)
    return respond(WindowDetail.with_history(window, changes, request.app[CLOCK].now()))


async def change(request: web.Request) -> web.Response:
    """Extend a window or end it early, while it has not ended."""
    who = caller(request)
    read_query(request, NoQuery)
    desk = request.app[SERVICE].windows
    window_id = request.match_info["window_id"]
    window = _answer(await desk.find(who, window_id))
    if rejection := maintenance.config_rejection(window):
        raise ApiError(rejection.status, rejection.message)
    body = await read_body(request, WindowEnd)
    stored = _answer(await desk.change_end(who, window_id, body.end))
    return respond(WindowBody.of(stored, request.app[CLOCK].now()))


async def cancel(request: web.Request) -> web.Response:
    """Cancel a window that has not started."""
    who = caller(request)
    read_query(request, NoQuery)
    _answer(await request.app[SERVICE].windows.cancel(who, request.match_info["window_id"]))
    return web.Response(status=204)
