"""The escalator: once a second, on the leader, plans the STILL DOWN pages that became due.

One fenced transaction reads the open, unacknowledged, unrecovered tickets (a ticket
being acknowledged right now is skipped, not waited for), the rounds already
planned for them, asks the planner which rounds are due and not planned yet, and
adds their rows. An acknowledgement commits either before (the ticket is no longer
escalating) or after (its transaction cancels what this one added).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.model import PageKind
from sitewatch.paging.planner import Planner
from sitewatch.paging.plans import warn_unreached
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store

log = logging.getLogger(__name__)

ESCALATE_EVERY = timedelta(seconds=1)


class Escalator:
    """Turn the passing of time into escalation pages (leader only)."""

    def __init__(
        self,
        *,
        store: Store,
        planner: Planner,
        clock: Clock,
        metrics: Metrics,
        leadership: Leadership,
        every: timedelta = ESCALATE_EVERY,
    ) -> None:
        self._store = store
        self._planner = planner
        self._clock = clock
        self._metrics = metrics
        self._leadership = leadership
        self._every = every
        self._warned: set[tuple[str, int, int]] = set()

    async def run(self) -> None:
        """Escalate every second until cancelled."""
        while True:
            await self._clock.sleep(self._every.total_seconds())
            await self.tick()

    async def tick(self) -> int:
        """Plan every due round not planned yet; return how many pages were added."""
        lease = self._leadership.current()
        if lease is None:
            return 0
        now = self._clock.now()
        added = 0
        # Most ticks find no ticket unresolved, so none escalating: a read says so in
        # one trip to the database instead of a fenced transaction's three (rounds are
        # still planned in the fenced transaction, on the tickets it locks itself).
        async with self._store.reading() as tx:
            if not await tx.tickets.count_unresolved():
                self._warned.clear()
                return 0
        async with self._store.transaction() as tx:
            await tx.cluster.fence(lease.instance, lease.epoch)
            tickets = await tx.tickets.escalating()
            if not tickets:
                self._warned.clear()
                return 0
            planned = await tx.outbox.planned_rounds([ticket.id for ticket in tickets])
            misses = []
            for ticket in tickets:
                plan = self._planner.escalation(ticket, planned.get(ticket.id, set()), now)
                misses += [(ticket.id, miss) for miss in plan.unreached]
                rows = list(plan.rows)
                for level, round_ in sorted({(row.level, row.round) for row in plan.rows}):
                    rows += self._planner.hooks(
                        PageKind.TICKET_ESCALATED, ticket, now, level=level, round=round_
                    )
                added += await tx.outbox.add(rows, now)
        for ticket_id, miss in misses:
            key = (ticket_id, miss.level, miss.round)
            if key not in self._warned:
                self._warned.add(key)
                warn_unreached(self._metrics, f"ticket {ticket_id}", [miss])
        # Forget tickets that stopped escalating, so this set does not grow forever.
        live = {ticket.id for ticket in tickets}
        self._warned = {key for key in self._warned if key[0] in live}
        return added
