"""Routes for emergency tickets: list, show, acknowledge, resolve (operators only)."""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.bodies.fields import format_cursor
from sitewatch.api.bodies.requests import Acknowledgement, NoQuery, Resolution, TicketQuery
from sitewatch.api.bodies.responses import TicketBody, TicketDetail, TicketList
from sitewatch.api.common import (
    SERVICE,
    ApiError,
    caller,
    read_body,
    read_query,
    respond,
    respond_listing,
)
from sitewatch.model import Outcome, TicketChange


async def list_tickets(request: web.Request) -> web.Response:
    """List tickets, newest first, filtered to exactly the listed states."""
    caller(request, operator_only=True)
    query = read_query(request, TicketQuery)
    tickets, more = await request.app[SERVICE].tickets.page(query.state, query.limit, query.after)
    return await respond_listing(
        lambda: TicketList(
            tickets=[TicketBody.of(t) for t in tickets],
            next=None if more is None else format_cursor(more),
        )
    )


async def show(request: web.Request) -> web.Response:
    """Show one ticket with its timeline."""
    caller(request, operator_only=True)
    read_query(request, NoQuery)
    ticket = await request.app[SERVICE].tickets.get(request.match_info["ticket_id"])
    if ticket is None:
        raise ApiError(404, f"no ticket {request.match_info['ticket_id']!r}")
    return respond(TicketDetail.of(ticket))


def _answer(change: TicketChange | None, ticket_id: str) -> web.Response:
    if change is None:
        raise ApiError(404, f"no ticket {ticket_id!r}")
    if change.outcome is Outcome.CONFLICT:
        raise ApiError(409, change.reason)
    return respond(TicketDetail.of(change.ticket))


async def acknowledge(request: web.Request) -> web.Response:
    """Acknowledge as the token's operator: escalation stops."""
    who = caller(request, operator_only=True)
    read_query(request, NoQuery)
    body = await read_body(request, Acknowledgement, allow_empty=True)
    ticket_id = request.match_info["ticket_id"]
    change = await request.app[SERVICE].tickets.acknowledge(ticket_id, who.id, body.note or "")
    return _answer(change, ticket_id)


async def resolve(request: web.Request) -> web.Response:
    """Resolve with a root cause; RESOLVED goes to everyone paged, in the same transaction."""
    who = caller(request, operator_only=True)
    read_query(request, NoQuery)
    body = await read_body(request, Resolution)
    ticket_id = request.match_info["ticket_id"]
    change = await request.app[SERVICE].tickets.resolve(
        ticket_id, body.cause, who.id, body.note or ""
    )
    return _answer(change, ticket_id)
