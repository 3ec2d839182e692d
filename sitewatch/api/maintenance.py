"""Routes for maintenance windows: declare, list, show, extend or end early, cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch.api.common import (
    CLOCK,
    SERVICE,
    SETTINGS,
    ApiError,
    caller,
    format_cursor,
    iso,
    json_object,
    optional_str,
    parse_cursor,
    parse_limit,
    parse_time,
    reject_unknown_keys,
    reject_unknown_query,
)
from sitewatch.model import MaintenanceKind, Principal, Window, WindowChange, WindowState
from sitewatch.outages import windows as maintenance
from sitewatch.outages.windows import Rejection

DECLARE_KEYS = {"customer", "checks", "kind", "start", "end", "note"}
CHANGE_KEYS = {"end"}


def window_json(window: Window, request: web.Request) -> dict[str, Any]:
    """Render one window for the API, with its state as of now."""
    return {
        "id": window.id,
        "customer": window.customer,
        "checks": list(window.checks),
        "kind": window.kind.value,
        "start": iso(window.start),
        "end": iso(window.end),
        "note": window.note,
        "state": window.state(request.app[CLOCK].now()).value,
        "declared_at": iso(window.declared_at),
        "declared_by": window.declared_by,
        "cancelled_at": iso(window.cancelled_at),
    }


def change_json(change: WindowChange) -> dict[str, Any]:
    """Render one audit line of a window."""
    return {"at": iso(change.at), "by": change.by, "action": change.action, "detail": change.detail}


def _declaration(
    body: dict[str, Any], who: Principal, request: web.Request
) -> maintenance.Declaration:
    reject_unknown_keys(body, DECLARE_KEYS)
    customer = body.get("customer")
    if not isinstance(customer, str) or not customer:
        raise ApiError(400, "customer is required: the id of the customer the window is for")
    if not who.may_act_for(customer):
        raise ApiError(403, f"a token of customer {who.id} cannot declare windows for {customer}")
    if request.app[SETTINGS].customer(customer) is None:
        raise ApiError(400, f"customer {customer!r} is not configured")
    checks = body.get("checks")
    if checks is None:
        checks = []
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        raise ApiError(400, "checks must be a list of check ids (omit it for all checks)")
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in MaintenanceKind}:
        kinds = ", ".join(k.value for k in MaintenanceKind)
        what = "is required" if kind is None else f"{kind!r} is not a kind"
        raise ApiError(400, f"kind {what}: use one of {kinds}")
    if body.get("end") is None:
        raise ApiError(400, "end is required (ISO 8601 with an offset)")
    start = parse_time(body["start"], "start") if body.get("start") is not None else None
    return maintenance.Declaration(
        customer=customer,
        checks=tuple(checks),
        kind=MaintenanceKind(kind),
        start=start,
        end=parse_time(body["end"], "end"),
        note=optional_str(body, "note"),
    )


def _answer(found: Window | Rejection) -> Window:
    if isinstance(found, Rejection):
        raise ApiError(found.status, found.message)
    return found


async def declare(request: web.Request) -> web.Response:
    """Declare a window: a planned event only if declared before it starts."""
    who = caller(request)
    declaration = _declaration(await json_object(request), who, request)
    stored = _answer(await request.app[SERVICE].windows.declare(who, declaration))
    return web.json_response(window_json(stored, request), status=201)


async def list_windows(request: web.Request) -> web.Response:
    """List windows, latest start first, cancelled and recurring ones too.

    A customer sees its own. `next` (when more exist) is the `after` of the next page.
    """
    who = caller(request)
    reject_unknown_query(request, {"state", "limit", "after"})
    raw_state = request.query.get("state")
    if raw_state is not None and raw_state not in {s.value for s in WindowState}:
        raise ApiError(400, f"state must be one of {', '.join(s.value for s in WindowState)}")
    state = None if raw_state is None else WindowState(raw_state)
    limit = parse_limit(request.query.get("limit"))
    after = parse_cursor(request.query.get("after"))
    windows, more = await request.app[SERVICE].windows.page(
        who, state=state, limit=limit, after=after
    )
    body: dict[str, Any] = {"maintenance": [window_json(w, request) for w in windows]}
    if more is not None:
        body["next"] = format_cursor(more)
    return web.json_response(body)


async def show(request: web.Request) -> web.Response:
    """Show one window with its audit trail."""
    who = caller(request)
    desk = request.app[SERVICE].windows
    window = _answer(await desk.find(who, request.match_info["window_id"]))
    changes = await desk.history(window)
    body = window_json(window, request) | {"history": [change_json(c) for c in changes]}
    return web.json_response(body)


async def change(request: web.Request) -> web.Response:
    """Extend a window or end it early, while it has not ended."""
    who = caller(request)
    desk = request.app[SERVICE].windows
    window_id = request.match_info["window_id"]
    window = _answer(await desk.find(who, window_id))
    if rejection := maintenance.config_rejection(window):
        raise ApiError(rejection.status, rejection.message)
    body = await json_object(request)
    reject_unknown_keys(body, CHANGE_KEYS)
    if body.get("end") is None:
        raise ApiError(400, "end is required (ISO 8601 with an offset)")
    end = parse_time(body["end"], "end")
    stored = _answer(await desk.change_end(who, window_id, end))
    return web.json_response(window_json(stored, request))


async def cancel(request: web.Request) -> web.Response:
    """Cancel a window that has not started."""
    who = caller(request)
    _answer(await request.app[SERVICE].windows.cancel(who, request.match_info["window_id"]))
    return web.Response(status=204)
