"""The ticket desk: what operators do to tickets, each action one transaction.

Acknowledge and resolve read the ticket locked, apply the pure rule
(`tickets.rules`), write the ticket, and change the outbox as `paging.rules` says
(stop the escalation; RESOLVED to everyone paged) in the same transaction. The API,
the console and the acknowledge links all come through here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from sitewatch.clock import Clock
from sitewatch.model import Cause, Outcome, Ticket, TicketChange, TicketState
from sitewatch.paging import rules as paging
from sitewatch.paging.planner import Planner
from sitewatch.paging.plans import apply_plan
from sitewatch.paging.rules import PagePlan
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Cursor, Store
from sitewatch.tickets import rules


class TicketDesk:
    """Read tickets and act on them."""

    def __init__(self, *, store: Store, planner: Planner, clock: Clock, metrics: Metrics) -> None:
        self._store = store
        self._planner = planner
        self._clock = clock
        self._metrics = metrics

    async def get(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its timeline, or None."""
        async with self._store.reading() as tx:
            return await tx.tickets.get(ticket_id)

    async def page(
        self, states: Collection[TicketState] | None, limit: int, after: Cursor | None = None
    ) -> tuple[list[Ticket], Cursor | None]:
        """Return up to `limit` tickets, newest first, and where the next page starts."""
        async with self._store.reading() as tx:
            found = await tx.tickets.page(states, limit + 1, after)
        more = len(found) > limit
        found = found[:limit]
        last = found[-1] if more and found else None
        return found, None if last is None else Cursor(last.opened_at, last.id)

    async def acknowledge(self, ticket_id: str, by: str, note: str) -> TicketChange | None:
        """Acknowledge as `by`: escalation stops; None if there is no such ticket."""
        return await self._act(
            ticket_id,
            lambda ticket, now: rules.acknowledge(ticket, by, note, now),
            paging.on_acknowledged,
        )

    async def resolve(
        self, ticket_id: str, cause: Cause, by: str, note: str
    ) -> TicketChange | None:
        """Resolve with a root cause; None if there is no such ticket."""
        change = await self._act(
            ticket_id,
            lambda ticket, now: rules.resolve(ticket, cause, by, note, now),
            paging.on_resolved,
        )
        if change is not None and change.outcome is Outcome.CHANGED:
            # Counted once the resolution is committed; a repeated resolve is a conflict.
            self._metrics.outages_by_cause.labels(cause.value).inc()
        return change

    async def _act(
        self,
        ticket_id: str,
        rule: Callable[[Ticket, datetime], TicketChange],
        plan_for: Callable[[Ticket], PagePlan],
    ) -> TicketChange | None:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            ticket = await tx.tickets.lock(ticket_id)
            if ticket is None:
                return None
            change = rule(ticket, now)
            if change.outcome is Outcome.CHANGED:
                await tx.tickets.save(ticket, change.ticket)
                await apply_plan(tx, self._planner, change.ticket, plan_for(change.ticket), now)
            return change
