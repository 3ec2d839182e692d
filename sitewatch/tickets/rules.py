"""Ticket rules: what a transition or an operator's action does to a ticket, purely."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sitewatch.model import (
    Cause,
    Classification,
    Outage,
    Outcome,
    Ticket,
    TicketChange,
    TicketEvent,
    TicketState,
    Transition,
    TransitionKind,
)


class TicketEffect(StrEnum):
    """What an outage transition does to the outage's ticket."""

    OPEN = "open"
    """Open the outage's one ticket (a replay finds the one already open)."""
    RECORD_RECOVERY = "record_recovery"
    """Record `recovered_at` on the outage's ticket; it stays open until resolved."""
    NONE = "none"
    """Leave tickets alone: a planned outage has none."""


@dataclass(frozen=True, slots=True)
class TicketDecision:
    """The effect of one transition on tickets, and why."""

    effect: TicketEffect
    reason: str


def on_transition(transition: Transition) -> TicketDecision:
    """Decide what a committed outage transition does to tickets.

    Every store backend applies this inside the transaction that records the
    transition, so all of them open tickets for exactly the same outages.
    """
    classification = transition.outage.classification
    if transition.kind is TransitionKind.OVERRAN:
        return TicketDecision(
            TicketEffect.OPEN, "a planned outage outlasted its window: now an emergency"
        )
    if transition.kind is TransitionKind.STARTED:
        if classification is Classification.PLANNED:
            return TicketDecision(TicketEffect.NONE, "planned outage: no ticket, no page")
        return TicketDecision(
            TicketEffect.OPEN, f"{classification.value} outage: one ticket per outage"
        )
    if classification is Classification.PLANNED:
        return TicketDecision(TicketEffect.NONE, "a planned outage that ended has no ticket")
    # Recorded even after an operator resolved the ticket: a recovery is never swallowed.
    return TicketDecision(TicketEffect.RECORD_RECOVERY, "the site is back: record recovered_at")


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
