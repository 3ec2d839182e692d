"""Maintenance windows in the console: list, declare, show, extend or end early, cancel.

Every action goes through the window desk, as the API does: the same rules, the
same limits (`limits.windows`, `maintenance_max`), the same audit trail, with the
session's principal as the author. A refused action re-renders its form with what
was typed and the desk's message beside the field it concerns, with the API's
status code.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from sitewatch.api.common import SERVICE, SETTINGS
from sitewatch.api.console.paging import decode_cursor, encode_cursor
from sitewatch.api.console.render import error_page, page, redirect
from sitewatch.api.console.times import local_input, moment, zone_label, zone_of
from sitewatch.api.console.views import ChangeRow, window_row
from sitewatch.api.console.visit import Visit
from sitewatch.api.console.windowforms import (
    EXTENSIONS,
    GENERAL,
    DeclareForm,
    place,
    read_declaration,
    requested_end,
    typed_declaration,
)
from sitewatch.model import MaintenanceKind, Window, WindowChange, WindowState
from sitewatch.model.durations import format_duration
from sitewatch.outages.windows import Rejection

PAGE_SIZE = 25
DONE = {
    "declared": "The planned event is declared.",
    "changed": "The end is changed.",
    "ended": "The window is ended.",
    "cancelled": "The window is cancelled.",
}
"""Messages after a successful action, by the `done` query value (never free text)."""


async def list_windows(request: web.Request, visit: Visit) -> web.Response:
    """List the windows the visitor may see, latest start first, a page at a time."""
    raw_state = request.query.get("state", "")
    state = WindowState(raw_state) if raw_state in {s.value for s in WindowState} else None
    after = decode_cursor(request.query.get("after"))
    found, more = await request.app[SERVICE].windows.page(
        visit.who, state=state, limit=PAGE_SIZE, after=after
    )
    settings = request.app[SETTINGS]
    rows = [window_row(w, zone_of(settings, w.customer), visit.now) for w in found]
    customers = [c for c in settings.customers if visit.who.may_act_for(c.id)]
    return await page(
        request,
        visit,
        "windows.html",
        title="Maintenance windows",
        windows=rows,
        states=[s.value for s in WindowState],
        state=state.value if state else "",
        next=encode_cursor(more) if more else "",
        first=after is not None,
        customers=customers,
    )


async def new_window(request: web.Request, visit: Visit) -> web.Response:
    """Show the form to declare a planned event (an operator names the customer)."""
    customer = _customer_for(request, visit, request.query.get("customer", ""))
    if isinstance(customer, web.Response):
        return customer
    return await _declare_page(request, visit, DeclareForm(customer))


async def declare(request: web.Request, visit: Visit) -> web.Response:
    """Declare a planned event through the window desk."""
    customer = _customer_for(request, visit, visit.value("customer"))
    if isinstance(customer, web.Response):
        return customer
    form = typed_declaration(visit, customer)
    declaration = read_declaration(form, zone_of(request.app[SETTINGS], customer))
    if declaration is None:
        return await _declare_page(request, visit, form, 400)
    stored = await request.app[SERVICE].windows.declare(visit.who, declaration)
    if isinstance(stored, Rejection):
        place(stored, form.errors)
        return await _declare_page(request, visit, form, stored.status)
    return redirect(f"/windows/{stored.id}?done=declared")


async def show(request: web.Request, visit: Visit) -> web.Response:
    """Show one window with its audit trail and the actions still open."""
    found = await request.app[SERVICE].windows.find(visit.who, request.match_info["window_id"])
    if isinstance(found, Rejection):
        return await _refusal(request, visit, found)
    done = DONE.get(request.query.get("done", ""), "")
    return await _window_page(request, visit, found, done=done)


async def change_end(request: web.Request, visit: Visit) -> web.Response:
    """Extend a window, end it now, or move its end to a typed time."""
    desk = request.app[SERVICE].windows
    found = await desk.find(visit.who, request.match_info["window_id"])
    if isinstance(found, Rejection):
        return await _refusal(request, visit, found)
    zone = zone_of(request.app[SETTINGS], found.customer)
    end = requested_end(visit, found, zone)
    typed = visit.value("end")
    if isinstance(end, str):
        return await _window_page(request, visit, found, 400, {"end": end}, typed)
    changed = await desk.change_end(visit.who, found.id, end)
    if isinstance(changed, Rejection):
        errors: dict[str, str] = {}
        place(changed, errors)
        errors["change"] = errors.pop(GENERAL, "")
        return await _window_page(request, visit, found, changed.status, errors, typed)
    done = "ended" if visit.value("end_now") else "changed"
    return redirect(f"/windows/{changed.id}?done={done}")


async def cancel(request: web.Request, visit: Visit) -> web.Response:
    """Cancel a window that has not started."""
    desk = request.app[SERVICE].windows
    window_id = request.match_info["window_id"]
    cancelled = await desk.cancel(visit.who, window_id)
    if isinstance(cancelled, Rejection):
        found = await desk.find(visit.who, window_id)
        if isinstance(found, Rejection):
            return await _refusal(request, visit, found)
        errors = {"cancel": cancelled.message}
        return await _window_page(request, visit, found, cancelled.status, errors)
    return redirect(f"/windows/{cancelled.id}?done=cancelled")


def _customer_for(request: web.Request, visit: Visit, asked: str) -> str | web.Response:
    """Return the customer a declaration is for: the visitor's own, or an operator's pick."""
    if not visit.is_operator:
        return visit.who.id
    if request.app[SETTINGS].customer(asked) is None:
        return redirect("/windows")
    return asked


async def _declare_page(
    request: web.Request, visit: Visit, form: DeclareForm, status: int = 200
) -> web.Response:
    settings = request.app[SETTINGS]
    zone = zone_of(settings, form.customer)
    checks = [spec for spec in settings.checks if spec.customer == form.customer]
    customer = settings.customer(form.customer)
    return await page(
        request,
        visit,
        "window_new.html",
        status,
        title="Declare a planned event",
        form=form,
        customer=customer,
        checks=sorted(checks, key=lambda spec: spec.id),
        kinds=[k.value for k in MaintenanceKind],
        zone=zone_label(zone, visit.now),
        now_local=local_input(visit.now, zone),
        maximum=format_duration(settings.defaults.maintenance_max),
    )


async def _window_page(
    request: web.Request,
    visit: Visit,
    window: Window,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed_end: str = "",
    done: str = "",
) -> web.Response:
    desk = request.app[SERVICE].windows
    zone = zone_of(request.app[SETTINGS], window.customer)
    history = [_for_visitor(change, visit, zone) for change in await desk.history(window)]
    return await page(
        request,
        visit,
        "window.html",
        status,
        title=f"Window {window.id}",
        window=window_row(window, zone, visit.now),
        history=history,
        errors=errors or {},
        typed_end=typed_end or local_input(window.end, zone),
        zone=zone_label(zone, visit.now),
        extensions=list(EXTENSIONS),
        done=done,
    )


def _for_visitor(change: WindowChange, visit: Visit, zone: ZoneInfo) -> ChangeRow:
    """Return an audit line for the page; a customer is not shown operators' names."""
    by = change.by
    if not visit.is_operator and by.startswith("operator:"):
        by = "operator"
    return ChangeRow(moment(change.at, zone, visit.now), by, change.action, change.detail)


async def _refusal(request: web.Request, visit: Visit, refusal: Rejection) -> web.Response:
    titles = {403: "Not yours", 404: "No such window", 409: "Cannot change"}
    title = titles.get(refusal.status, "Refused")
    return await error_page(request, refusal.status, title, refusal.message, visit)
