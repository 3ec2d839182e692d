"""Tickets in the console (operators only): the list, a ticket's page, acknowledge, resolve.

Acknowledge and resolve go through the ticket desk as the API's routes do, as the
session's operator, with the API's note limit; a conflict (already resolved) is
shown beside the button that caused it, with the note kept.
"""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.common import SERVICE, SETTINGS
from sitewatch.api.console.paging import decode_cursor, encode_cursor
from sitewatch.api.console.render import error_page, page, redirect
from sitewatch.api.console.views import ticket_row, timeline
from sitewatch.api.console.visit import Visit
from sitewatch.model import Cause, Outcome, Ticket, TicketChange, TicketState
from sitewatch.model.redaction import redact
from sitewatch.outages.windows import MAX_NOTE

PAGE_SIZE = 50
VIEWS = {
    "unresolved": (TicketState.OPEN, TicketState.ACKNOWLEDGED),
    "open": (TicketState.OPEN,),
    "acknowledged": (TicketState.ACKNOWLEDGED,),
    "resolved": (TicketState.RESOLVED,),
    "all": tuple(TicketState),
}
"""The lists a `?show=` may ask for."""
DONE = {"acknowledged": "Acknowledged: escalation has stopped.", "resolved": "Resolved."}


async def list_tickets(request: web.Request, visit: Visit) -> web.Response:
    """List tickets, newest first, unresolved by default."""
    show = request.query.get("show", "unresolved")
    show = show if show in VIEWS else "unresolved"
    after = decode_cursor(request.query.get("after"))
    found, more = await request.app[SERVICE].tickets.page(VIEWS[show], PAGE_SIZE, after)
    return await page(
        request,
        visit,
        "tickets.html",
        title="Tickets",
        tickets=[ticket_row(t, visit.now, for_operator=True) for t in found],
        views=list(VIEWS),
        show=show,
        next=encode_cursor(more) if more else "",
        first=after is not None,
    )


async def show(request: web.Request, visit: Visit) -> web.Response:
    """Show a ticket with its timeline and the actions still open."""
    ticket = await request.app[SERVICE].tickets.get(request.match_info["ticket_id"])
    if ticket is None:
        return await _unknown(request, visit)
    return await _ticket_page(request, visit, ticket, done=DONE.get(request.query.get("done", "")))


async def acknowledge(request: web.Request, visit: Visit) -> web.Response:
    """Acknowledge as the session's operator: escalation stops."""
    ticket_id = request.match_info["ticket_id"]
    note = visit.value("note")
    if len(note) > MAX_NOTE:
        return await _refused(request, visit, ticket_id, 400, {"ack_note": _too_long()})
    desk = request.app[SERVICE].tickets
    change = await desk.acknowledge(ticket_id, visit.who.id, note)
    return await _answer(request, visit, ticket_id, change, "ack", "acknowledged")


async def resolve(request: web.Request, visit: Visit) -> web.Response:
    """Resolve with a root cause from the contract's list, and a note."""
    ticket_id = request.match_info["ticket_id"]
    errors = {}
    note = visit.value("note")
    if len(note) > MAX_NOTE:
        errors["resolve_note"] = _too_long()
    if visit.value("cause") not in {c.value for c in Cause}:
        errors["cause"] = "choose a cause: " + ", ".join(c.value for c in Cause)
    if errors:
        return await _refused(request, visit, ticket_id, 400, errors)
    desk = request.app[SERVICE].tickets
    change = await desk.resolve(ticket_id, Cause(visit.value("cause")), visit.who.id, note)
    return await _answer(request, visit, ticket_id, change, "resolve", "resolved")


async def _answer(
    request: web.Request,
    visit: Visit,
    ticket_id: str,
    change: TicketChange | None,
    action: str,
    done: str,
) -> web.Response:
    if change is None:
        return await _unknown(request, visit)
    if change.outcome is Outcome.CONFLICT:
        return await _refused(request, visit, ticket_id, 409, {action: change.reason})
    return redirect(f"/tickets/{change.ticket.id}?done={done}")


async def _refused(
    request: web.Request, visit: Visit, ticket_id: str, status: int, errors: dict[str, str]
) -> web.Response:
    ticket = await request.app[SERVICE].tickets.get(ticket_id)
    if ticket is None:
        return await _unknown(request, visit)
    return await _ticket_page(request, visit, ticket, status, errors)


async def _ticket_page(
    request: web.Request,
    visit: Visit,
    ticket: Ticket,
    status: int = 200,
    errors: dict[str, str] | None = None,
    done: str | None = None,
) -> web.Response:
    secrets = request.app[SETTINGS].secrets_about(ticket.check)
    return await page(
        request,
        visit,
        "ticket.html",
        status,
        title=f"Ticket {ticket.id}",
        ticket=ticket_row(ticket, visit.now, for_operator=True),
        detail=redact(ticket.detail, secrets),
        cause=ticket.cause.value if ticket.cause else "",
        resolved_by=ticket.resolved_by or "",
        resolution_note=ticket.resolution_note,
        events=timeline(ticket, secrets, visit.now),
        causes=[c.value for c in Cause],
        can_acknowledge=ticket.state is TicketState.OPEN,
        can_resolve=ticket.state is not TicketState.RESOLVED,
        errors=errors or {},
        typed={"ack_note": _typed(visit, "ack"), "resolve_note": _typed(visit, "resolve")},
        typed_cause=visit.value("cause"),
        done=done or "",
        max_note=MAX_NOTE,
    )


def _typed(visit: Visit, action: str) -> str:
    """Return the note typed into the form that was posted (the other form stays empty)."""
    return visit.value("note") if visit.value("action") == action else ""


def _too_long() -> str:
    return f"note is longer than {MAX_NOTE} characters"


async def _unknown(request: web.Request, visit: Visit) -> web.Response:
    message = f"There is no ticket {request.match_info['ticket_id']!r}."
    return await error_page(request, 404, "No such ticket", message, visit)
