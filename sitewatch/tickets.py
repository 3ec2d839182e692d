"""Ticket rules: what a transition or an operator's action does to a ticket, purely."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sitewatch.model import Cause, Ticket, TicketEvent, TicketState
from sitewatch.outages import Outage


class Outcome(StrEnum):
    """How an action on a ticket went (maps to 200, 200 unchanged, 409)."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class TicketChange:
    """The ticket after an action, with how it went and why."""

    outcome: Outcome
    ticket: Ticket
    reason: str = ""


def open_ticket(
    ticket_id: str, check: str, customer: str, outage: Outage, at: datetime, reason: str
) -> Ticket:
    """Return the new ticket for an emergency or overrun outage."""
    return Ticket(
        id=ticket_id,
        check=check,
        customer=customer,
        state=TicketState.OPEN,
        classification=outage.classification,
        symptom=outage.symptom,
        detail=outage.detail,
        onset_at=outage.onset,
        opened_at=at,
        events=(TicketEvent(at, "opened", detail=reason),),
    )


def acknowledge(ticket: Ticket, by: str, note: str, now: datetime) -> TicketChange:
    """Acknowledge as `by`: stops escalation; a second time changes nothing."""
    if ticket.state is TicketState.RESOLVED:
        return TicketChange(Outcome.CONFLICT, ticket, f"ticket {ticket.id} is already resolved")
    if ticket.state is TicketState.ACKNOWLEDGED:
        return TicketChange(Outcome.UNCHANGED, ticket, "already acknowledged")
    event = TicketEvent(now, "acknowledged", by=by, detail=note)
    return TicketChange(
        Outcome.CHANGED,
        replace(
            ticket,
            state=TicketState.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=by,
            events=(*ticket.events, event),
        ),
    )


def resolve(ticket: Ticket, cause: Cause, by: str, note: str, now: datetime) -> TicketChange:
    """Resolve with a root cause; a resolved ticket cannot be resolved again."""
    if ticket.state is TicketState.RESOLVED:
        return TicketChange(Outcome.CONFLICT, ticket, f"ticket {ticket.id} is already resolved")
    event = TicketEvent(now, "resolved", by=by, detail=f"cause {cause.value}. {note}".strip())
    return TicketChange(
        Outcome.CHANGED,
        replace(
            ticket,
            state=TicketState.RESOLVED,
            resolved_at=now,
            resolved_by=by,
            cause=cause,
            resolution_note=note,
            events=(*ticket.events, event),
        ),
    )


def record_recovery(ticket: Ticket, at: datetime, reason: str) -> TicketChange:
    """Note that the site is back; the ticket stays open until an operator resolves it."""
    if ticket.recovered_at is not None:
        return TicketChange(Outcome.UNCHANGED, ticket, "recovery already recorded")
    event = TicketEvent(at, "recovered", detail=reason)
    return TicketChange(
        Outcome.CHANGED, replace(ticket, recovered_at=at, events=(*ticket.events, event))
    )
