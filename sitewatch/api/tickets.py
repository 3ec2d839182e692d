"""Routes for emergency tickets: list, show, acknowledge, resolve (operators only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch.api.common import (
    SERVICE,
    ApiError,
    caller,
    format_cursor,
    iso,
    json_object,
    optional_str,
    parse_cursor,
    parse_limit,
    reject_unknown_keys,
    reject_unknown_query,
)
from sitewatch.model import Cause, Outcome, Ticket, TicketChange, TicketState
from sitewatch.outages.windows import MAX_NOTE


def ticket_json(ticket: Ticket, *, events: bool = True) -> dict[str, Any]:
    """Render one ticket for the API (its timeline when `events`)."""
    body: dict[str, Any] = {
        "id": ticket.id,
        "check": ticket.check,
        "customer": ticket.customer,
        "state": ticket.state.value,
        "classification": ticket.classification.value,
        "symptom": ticket.symptom.value,
        "detail": ticket.detail,
        "onset_at": iso(ticket.onset_at),
        "opened_at": iso(ticket.opened_at),
        "acknowledged_at": iso(ticket.acknowledged_at),
        "acknowledged_by": ticket.acknowledged_by,
        "recovered_at": iso(ticket.recovered_at),
        "resolved_at": iso(ticket.resolved_at),
        "resolved_by": ticket.resolved_by,
        "cause": ticket.cause.value if ticket.cause else None,
        "resolution_note": ticket.resolution_note,
    }
    if events:
        body["events"] = [
            {"at": iso(e.at), "kind": e.kind, "by": e.by, "detail": e.detail} for e in ticket.events
        ]
    return body


def _states(request: web.Request) -> list[TicketState] | None:
    """Read `?state=open,acknowledged` (repeatable): exactly these states, or all."""
    raw = request.query.getall("state", [])
    if not raw:
        return None
    parts = [part.strip() for value in raw for part in value.split(",")]
    allowed = ", ".join(s.value for s in TicketState)
    if not any(parts):
        raise ApiError(400, f"state lists no state; give one or more of {allowed}")
    try:
        return list(dict.fromkeys(TicketState(part) for part in parts if part))
    except ValueError:
        unknown = next(p for p in parts if p and p not in {s.value for s in TicketState})
        raise ApiError(400, f"state {unknown!r} is unknown; use one or more of {allowed}") from None


async def list_tickets(request: web.Request) -> web.Response:
    """List tickets, newest first, filtered to exactly the listed states."""
    caller(request, operator_only=True)
    reject_unknown_query(request, {"state", "limit", "after"})
    states = _states(request)
    limit = parse_limit(request.query.get("limit"))
    after = parse_cursor(request.query.get("after"))
    tickets, more = await request.app[SERVICE].tickets.page(states, limit, after)
    body: dict[str, Any] = {"tickets": [ticket_json(t, events=False) for t in tickets]}
    if more is not None:
        body["next"] = format_cursor(more)
    return web.json_response(body)


async def show(request: web.Request) -> web.Response:
    """Show one ticket with its timeline."""
    caller(request, operator_only=True)
    ticket = await request.app[SERVICE].tickets.get(request.match_info["ticket_id"])
    if ticket is None:
        raise ApiError(404, f"no ticket {request.match_info['ticket_id']!r}")
    return web.json_response(ticket_json(ticket))


def _note(body: dict[str, Any]) -> str:
    note = optional_str(body, "note")
    if len(note) > MAX_NOTE:
        # The timeline is read on a phone: keep each line readable and the row small.
        raise ApiError(400, f"note is longer than {MAX_NOTE} characters")
    return note


def _answer(change: TicketChange | None, ticket_id: str) -> web.Response:
    if change is None:
        raise ApiError(404, f"no ticket {ticket_id!r}")
    if change.outcome is Outcome.CONFLICT:
        raise ApiError(409, change.reason)
    return web.json_response(ticket_json(change.ticket))


async def acknowledge(request: web.Request) -> web.Response:
    """Acknowledge as the token's operator: escalation stops."""
    who = caller(request, operator_only=True)
    body = await json_object(request, allow_empty=True)
    reject_unknown_keys(body, {"note"})
    ticket_id = request.match_info["ticket_id"]
    change = await request.app[SERVICE].tickets.acknowledge(ticket_id, who.id, _note(body))
    return _answer(change, ticket_id)


async def resolve(request: web.Request) -> web.Response:
    """Resolve with a root cause; RESOLVED goes to everyone paged, in the same transaction."""
    who = caller(request, operator_only=True)
    body = await json_object(request)
    reject_unknown_keys(body, {"cause", "note"})
    try:
        cause = Cause(str(body.get("cause")))
    except ValueError:
        causes = ", ".join(c.value for c in Cause)
        raise ApiError(400, f"cause is required, one of {causes}") from None
    ticket_id = request.match_info["ticket_id"]
    change = await request.app[SERVICE].tickets.resolve(ticket_id, cause, who.id, _note(body))
    return _answer(change, ticket_id)
