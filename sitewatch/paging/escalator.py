"""The escalator: once a second, plans the STILL DOWN pages that have become due.

For every open, unacknowledged, unrecovered ticket it asks `due_rounds` (through
the planner) which rounds are due and not yet planned, and adds their rows in a
transaction that re-reads the ticket: an acknowledgement that commits between the
read and the write stops them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.paging.planner import Planner, Unreached
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store

log = logging.getLogger(__name__)

ESCALATE_EVERY = timedelta(seconds=1)


class Escalator:
    """Turn the passing of time into escalation pages."""

    def __init__(
        self,
        *,
        store: Store,
        planner: Planner,
        clock: Clock,
        metrics: Metrics,
        every: timedelta = ESCALATE_EVERY,
    ) -> None:
        self._store = store
        self._planner = planner
        self._clock = clock
        self._metrics = metrics
        self._every = every
        self._warned: set[tuple[str, int, int]] = set()

    async def run(self) -> None:
        """Escalate every second until cancelled; a bug is logged and counted, never fatal."""
        while True:
            await self._clock.sleep(self._every.total_seconds())
            try:
                await self.tick()
            except Exception:
                log.exception("escalation failed; trying again in a second")
                self._metrics.internal_errors.labels("escalation").inc()

    async def tick(self) -> int:
        """Plan every due round not planned yet; return how many pages were added."""
        now = self._clock.now()
        added = 0
        candidates = await self._store.escalation_candidates()
        for candidate in candidates:
            plan = self._planner.escalation(candidate, now)
            self._warn(candidate.ticket.id, plan.unreached)
            if plan.rows:
                added += await self._store.add_escalation_pages(candidate.ticket.id, plan.rows)
        # Forget tickets that stopped escalating, so this set does not grow forever.
        live = {candidate.ticket.id for candidate in candidates}
        self._warned = {key for key in self._warned if key[0] in live}
        return added

    def _warn(self, ticket_id: str, unreached: list[Unreached]) -> None:
        for miss in unreached:
            key = (ticket_id, miss.level, miss.round)
            if key in self._warned:
                continue
            self._warned.add(key)
            for name in miss.names:
                self._metrics.oncall_unresolved.labels(name.target).inc()
            log.warning(
                "ticket %s: escalation level %d (round %d): %s reached nobody%s",
                ticket_id,
                miss.level,
                miss.round,
                "; ".join(f"{name.target} ({name.detail})" for name in miss.names),
                "" if miss.reached_anyone else "; the level is paged to the fallback channels",
            )
