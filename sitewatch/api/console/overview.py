"""`GET /`: the console's first page, for a customer or an operator.

A customer sees its checks (state per location and since when, 30-day
availability), its emergencies in progress without operator names or notes, and
its windows in force and upcoming. An operator sees every check, the unresolved
tickets, every customer's windows in force and upcoming, and a prober fault.
"""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.common import SERVICE, SETTINGS
from sitewatch.api.console.render import page
from sitewatch.api.console.times import zone_label, zone_of
from sitewatch.api.console.views import (
    CustomerRow,
    WindowRow,
    check_row,
    percent,
    state_counts,
    ticket_row,
    window_row,
)
from sitewatch.api.console.visit import Visit
from sitewatch.model import Classification, TicketState, WindowState
from sitewatch.stats.compute import DEFAULT_SPAN, CustomerFigures, Period

REFRESH_SECONDS = 60
"""With `?refresh=on` (a wall screen's choice) the overview reloads itself this often.

Off by default: a page that reloads by itself is a barrier for a screen reader
(WCAG 2.2.1), and a reloading page keeps its session from ever going idle."""
UNRESOLVED = (TicketState.OPEN, TicketState.ACKNOWLEDGED)
ORDER = (Classification.EMERGENCY, Classification.OVERRUN, Classification.PLANNED)
SHOWN = 200
"""At most this many tickets and windows on the overview; the lists page the rest."""


async def overview(request: web.Request, visit: Visit) -> web.Response:
    """Show the checks, tickets and windows the visitor may see."""
    service, settings, now = request.app[SERVICE], request.app[SETTINGS], visit.now
    who = visit.who
    zone = zone_of(settings, None if visit.is_operator else who.id)
    stats = await service.stats.read(Period(now - DEFAULT_SPAN, now))
    availability = {c.check: c.availability for c in stats.checks}
    checks = [
        check_row(view, availability.get(view.spec.id), zone, now)
        for view in service.board.views()
        if who.may_act_for(view.spec.customer)
    ]
    tickets, _ = await service.tickets.page(UNRESOLVED, SHOWN)
    return await page(
        request,
        visit,
        "overview.html",
        title="Overview",
        checks=checks,
        counts=state_counts(checks),
        tickets=[
            ticket_row(t, now, for_operator=visit.is_operator, zone=zone)
            for t in tickets
            if who.may_act_for(t.customer)
        ],
        windows=await _in_force(request, visit),
        customers=[_customer(c) for c in stats.customers if who.may_act_for(c.customer)],
        prober_fault=visit.is_operator and service.faults.active,
        zone=zone_label(zone, now),
        refresh=REFRESH_SECONDS if request.query.get("refresh") == "on" else 0,
    )


async def _in_force(request: web.Request, visit: Visit) -> list[WindowRow]:
    """Return the active and scheduled windows the visitor may see, soonest start first."""
    desk, settings = request.app[SERVICE].windows, request.app[SETTINGS]
    found = []
    for state in (WindowState.ACTIVE, WindowState.SCHEDULED):
        found += (await desk.page(visit.who, state=state, limit=SHOWN))[0]
    found.sort(key=lambda w: (w.start, w.id))
    return [window_row(w, zone_of(settings, w.customer), visit.now) for w in found]


def _customer(figures: CustomerFigures) -> CustomerRow:
    outages = (figures.outages[k] for k in ORDER)
    return CustomerRow(figures.customer, figures.name, percent(figures.availability), *outages)
