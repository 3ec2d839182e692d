"""Routes for maintenance windows: declare, list, show, extend or end early, cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch.api.common import (
    CLOCK,
    SETTINGS,
    STORE,
    WINDOWS,
    ApiError,
    caller,
    iso,
    json_object,
    optional_str,
    parse_limit,
    parse_time,
    reject_unknown_keys,
    reject_unknown_query,
)
from sitewatch.model import MaintenanceKind, Principal, Role, Window, WindowChange, WindowState
from sitewatch.outages import windows as maintenance
from sitewatch.outages.recurrence import is_from_config

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


async def declare(request: web.Request) -> web.Response:
    """Declare a window: a planned event only if declared before it starts."""
    who = caller(request)
    declaration = _declaration(await json_object(request), who, request)
    settings = request.app[SETTINGS]
    result = maintenance.declare(
        declaration,
        by=who.label,
        now=request.app[CLOCK].now(),
        customer_checks=[c.id for c in settings.checks if c.customer == declaration.customer],
        maximum=settings.defaults.maintenance_max,
    )
    if isinstance(result, maintenance.Rejection):
        raise ApiError(result.status, result.message)
    stored = await request.app[STORE].add_window(result)
    request.app[WINDOWS].put(stored)
    return web.json_response(window_json(stored, request), status=201)


async def list_windows(request: web.Request) -> web.Response:
    """List windows, latest start first, cancelled and recurring ones too.

    A customer sees its own.
    """
    who = caller(request)
    reject_unknown_query(request, {"state", "limit"})
    state = request.query.get("state")
    if state is not None and state not in {s.value for s in WindowState}:
        raise ApiError(400, f"state must be one of {', '.join(s.value for s in WindowState)}")
    limit = parse_limit(request.query.get("limit"))
    customer = None if who.role is Role.OPERATOR else who.id
    windows = await request.app[STORE].list_windows(customer)
    windows += request.app[WINDOWS].recurring(customer)
    windows.sort(key=lambda w: (w.start, w.id), reverse=True)
    rendered = [window_json(w, request) for w in windows]
    if state is not None:
        rendered = [w for w in rendered if w["state"] == state]
    return web.json_response({"maintenance": rendered[:limit]})


async def _owned_window(request: web.Request) -> tuple[Principal, Window]:
    who = caller(request)
    window_id = request.match_info["window_id"]
    window = await request.app[STORE].get_window(window_id) or request.app[WINDOWS].find(window_id)
    if window is None:
        raise ApiError(404, f"no maintenance window {window_id!r}")
    if not who.may_act_for(window.customer):
        raise ApiError(403, f"window {window.id} belongs to another customer")
    return who, window


async def show(request: web.Request) -> web.Response:
    """Show one window with its audit trail."""
    _, window = await _owned_window(request)
    if is_from_config(window):
        origin = f"recurring_maintenance in {request.app[SETTINGS].source.name}"
        changes = [
            WindowChange(window.id, window.declared_at, window.declared_by, "declared", origin)
        ]
    else:
        changes = await request.app[STORE].window_changes(window.id)
    body = window_json(window, request) | {"history": [change_json(c) for c in changes]}
    return web.json_response(body)


async def change(request: web.Request) -> web.Response:
    """Extend a window or end it early, while it has not ended."""
    who, window = await _owned_window(request)
    if rejection := maintenance.config_rejection(window):
        raise ApiError(rejection.status, rejection.message)
    body = await json_object(request)
    reject_unknown_keys(body, CHANGE_KEYS)
    if body.get("end") is None:
        raise ApiError(400, "end is required (ISO 8601 with an offset)")
    now, settings = request.app[CLOCK].now(), request.app[SETTINGS]
    end = maintenance.change_end(
        window, parse_time(body["end"], "end"), now=now, maximum=settings.defaults.maintenance_max
    )
    if isinstance(end, maintenance.Rejection):
        raise ApiError(end.status, end.message)
    stored = await request.app[STORE].change_window_end(window.id, end, who.label, now)
    request.app[WINDOWS].put(stored)
    if stored.cancelled_at is not None:
        # Cancelled between our read and the write: the store kept it cancelled.
        raise ApiError(409, f"window {window.id} was cancelled; it can no longer change")
    return web.json_response(window_json(stored, request))


async def cancel(request: web.Request) -> web.Response:
    """Cancel a window that has not started."""
    who, window = await _owned_window(request)
    now = request.app[CLOCK].now()
    if rejection := maintenance.cancel(window, now=now):
        raise ApiError(rejection.status, rejection.message)
    stored = await request.app[STORE].cancel_window(window.id, who.label, now)
    request.app[WINDOWS].put(stored)
    return web.Response(status=204)
