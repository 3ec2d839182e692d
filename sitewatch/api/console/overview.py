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
    check_row,
    percent,
    state_counts,
    ticket_row,
    window_row,
)
from sitewatch.api.console.visit import Visit
from sitewatch.model import Classification, TicketState, WindowState
from sitewatch.stats.compute import DEFAULT_SPAN, Period

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
    windows, _ = await service.windows.page(who, state=None, limit=SHOWN)
    in_force = {WindowState.ACTIVE, WindowState.SCHEDULED}
    upcoming = sorted(
        (w for w in windows if w.state(now) in in_force), key=lambda w: (w.start, w.id)
    )
    customers = [
        CustomerRow(
            c.customer,
            c.name,
            percent(c.availability),
            *(
                c.outages[k]
                for k in (Classification.EMERGENCY, Classification.OVERRUN, Classification.PLANNED)
            ),
        )
        for c in stats.customers
        if who.may_act_for(c.customer)
    ]
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
        windows=[window_row(w, zone_of(settings, w.customer), now) for w in upcoming],
        customers=customers,
        prober_fault=visit.is_operator and service.faults.active,
        zone=zone_label(zone, now),
        refresh=REFRESH_SECONDS if request.query.get("refresh") == "on" else 0,
    )
