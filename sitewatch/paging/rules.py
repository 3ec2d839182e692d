"""Paging rules: which outbox rows a ticket change causes, and which pending rows it stops.

Pure: each function takes the ticket as committed in the same transaction, the
targets already paged for it and `now`, and returns a `PagePlan` with its reason.
The services that record ticket changes (`outages.recorder`, `tickets.desk`) apply
the plan through the transaction's outbox; the planner (`paging.planner`) makes the
rows themselves (targets, levels, rounds, text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sitewatch.model import PageKind, PageRow, Ticket, TicketState
from sitewatch.paging.planner import Planner, Unreached

ESCALATING = frozenset({PageKind.SITE_DOWN, PageKind.STILL_DOWN})
"""The pages that ask for action: they stop once someone acts or the site is back."""


@dataclass(frozen=True, slots=True)
class PagePlan:
    """What a ticket change does to the outbox, in order: stop, then notify, then add.

    The service applying it cancels the ticket's pending rows of the `stop` kinds
    (rows in flight still arrive), then sends `notice` to everyone paged for the
    ticket as the outbox stands after the stop (nobody hears RECOVERED or RESOLVED
    about an outage whose page never reached them), then adds `add`.
    """

    reason: str
    stop: frozenset[PageKind] = frozenset()
    notice: PageKind | None = None
    add: Sequence[PageRow] = ()
    hook: PageKind | None = None
    """The ticket webhook event the change is (`ticket_opened`, ...), if any."""
    unreached: Sequence[Unreached] = field(default_factory=tuple)
    """Escalation names that reached nobody (an alarm for the log and the metric)."""


def on_opened(planner: Planner, ticket: Ticket, now: datetime) -> PagePlan:
    """Page the levels already due as the ticket opens (SITE DOWN to level 0)."""
    plan = planner.escalation(ticket, frozenset(), now)
    reason = "ticket opened: page every level already due"
    return PagePlan(reason, add=plan.rows, unreached=plan.unreached, hook=PageKind.TICKET_OPENED)


def on_recovered(ticket: Ticket) -> PagePlan:
    """Stop the repeats and tell everyone paged that the site is back.

    The first SITE DOWN still goes out if it has not yet: a confirmed outage is
    never swallowed, and its RECOVERED follows it. Someone whose only page was a
    repeat stopped here hears of neither. A resolved ticket pages no more.
    """
    if ticket.state is TicketState.RESOLVED:
        reason = "already resolved: a resolved outage pages no more (the help desk is told)"
        return PagePlan(reason, hook=PageKind.TICKET_RECOVERED)
    reason = "the site recovered: stop the repeats, tell everyone paged"
    return PagePlan(
        reason,
        stop=frozenset({PageKind.STILL_DOWN}),
        notice=PageKind.RECOVERED,
        hook=PageKind.TICKET_RECOVERED,
    )


def on_acknowledged(ticket: Ticket) -> PagePlan:
    """Stop the escalation of an acknowledged ticket (pages in flight still arrive)."""
    reason = f"acknowledged by {ticket.acknowledged_by}: escalation stops"
    return PagePlan(reason, ESCALATING, hook=PageKind.TICKET_ACKNOWLEDGED)


def on_resolved(ticket: Ticket) -> PagePlan:
    """Stop the escalation and tell everyone paged that the ticket is resolved."""
    reason = f"resolved by {ticket.resolved_by}: escalation stops, everyone paged is told"
    return PagePlan(reason, ESCALATING, notice=PageKind.RESOLVED, hook=PageKind.TICKET_RESOLVED)


def still_wanted(kind: PageKind, ticket: Ticket | None) -> bool:
    """Tell whether a page about to be retried still has a reason to go out."""
    if ticket is None or kind not in ESCALATING:
        return True
    return ticket.state is TicketState.OPEN
