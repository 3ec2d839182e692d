"""Routes for maintenance windows: declare, list, extend or end early, cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch import maintenance
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
    parse_time,
    reject_unknown_keys,
)
from sitewatch.auth import Principal
from sitewatch.model import MaintenanceKind, Window, WindowChange, WindowState

DECLARE_KEYS = {"customer", "checks", "kind", "start", "end", "note"}


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


def _declaration(body: dict[str, Any], who: Principal, request: web.Request) -> Any:
    reject_unknown_keys(body, DECLARE_KEYS)
    customer = body.get("customer")
    if not isinstance(customer, str) or not customer:
        raise ApiError(400, "customer is required: the id of the customer the window is for")
    if not who.may_act_for(customer):
        raise ApiError(403, f"a token of customer {who.id} cannot declare windows for {customer}")
    if customer not in {c.id for c in request.app[SETTINGS].customers}:
        raise ApiError(400, f"customer {customer!r} is not configured")
    checks = body.get("checks") or []
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        raise ApiError(400, "checks must be a list of check ids (omit it for all checks)")
    kinds = ", ".join(k.value for k in MaintenanceKind)
    try:
        kind = MaintenanceKind(str(body.get("kind")))
    except ValueError:
        raise ApiError(400, f"kind must be one of {kinds}") from None
    if "end" not in body:
        raise ApiError(400, "end is required (ISO 8601 with an offset)")
    start = parse_time(body["start"], "start") if body.get("start") is not None else None
    return maintenance.Declaration(
        customer=customer,
        checks=tuple(checks),
        kind=kind,
        start=start,
        end=parse_time(body["end"], "end"),
        note=optional_str(body, "note"),
    )


async def declare(request: web.Request) -> web.Response:
    """Declare a window: a planned event only if declared before it starts."""
    who = caller(request)
    request_ = _declaration(await json_object(request), who, request)
    settings = request.app[SETTINGS]
    result = maintenance.declare(
        request_,
        by=who.label,
        now=request.app[CLOCK].now(),
        customer_checks=[c.id for c in settings.checks if c.customer == request_.customer],
        maximum=settings.defaults.maintenance_max,
    )
    if isinstance(result, maintenance.Rejection):
        raise ApiError(result.status, result.message)
    stored = await request.app[STORE].add_window(result)
    request.app[WINDOWS].put(stored)
    return web.json_response(window_json(stored, request), status=201)


async def list_windows(request: web.Request) -> web.Response:
    """List windows, cancelled ones too: a customer sees its own."""
    who = caller(request)
    state = request.query.get("state")
    if state is not None and state not in {s.value for s in WindowState}:
        raise ApiError(400, f"state must be one of {', '.join(s.value for s in WindowState)}")
    customer = None if who.role.value == "operator" else who.id
    windows = await request.app[STORE].list_windows(customer)
    rendered = [window_json(w, request) for w in windows]
    if state is not None:
        rendered = [w for w in rendered if w["state"] == state]
    return web.json_response({"maintenance": rendered})


async def _owned_window(request: web.Request) -> tuple[Principal, Window]:
    who = caller(request)
    window = await request.app[STORE].get_window(request.match_info["window_id"])
    if window is None:
        raise ApiError(404, f"no maintenance window {request.match_info['window_id']!r}")
    if not who.may_act_for(window.customer):
        raise ApiError(403, f"window {window.id} belongs to another customer")
    return who, window


async def show(request: web.Request) -> web.Response:
    """Show one window with its audit trail."""
    _, window = await _owned_window(request)
    changes = await request.app[STORE].window_changes(window.id)
    body = window_json(window, request) | {"history": [change_json(c) for c in changes]}
    return web.json_response(body)


async def change(request: web.Request) -> web.Response:
    """Extend a window or end it early, while it has not ended."""
    who, window = await _owned_window(request)
    body = await json_object(request)
    reject_unknown_keys(body, {"end"})
    if "end" not in body:
        raise ApiError(400, "end is required (ISO 8601 with an offset)")
    now, settings = request.app[CLOCK].now(), request.app[SETTINGS]
    end = maintenance.change_end(
        window, parse_time(body["end"], "end"), now=now, maximum=settings.defaults.maintenance_max
    )
    if isinstance(end, maintenance.Rejection):
        raise ApiError(end.status, end.message)
    stored = await request.app[STORE].change_window_end(window.id, end, who.label, now)
    request.app[WINDOWS].put(stored)
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
