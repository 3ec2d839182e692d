"""Prober fault pages: PROBER FAULT when the guard starts, PROBER OK when it clears.

Both go to the first escalation level (the fallback channels if it reaches nobody),
keyed by the fault's episode (the time it started) so each is planned once. The
guard's state lives in memory: after a restart during a fault, the fault is
detected and announced again as a new episode.
"""

from __future__ import annotations

import logging
from datetime import UTC

from sitewatch.clock import Clock
from sitewatch.model import PageKind
from sitewatch.outages.proberfault import FaultChange
from sitewatch.paging.planner import Planner
from sitewatch.storage import Store

log = logging.getLogger(__name__)


class FaultPager:
    """Add PROBER FAULT / PROBER OK pages to the outbox as the guard changes."""

    def __init__(self, *, store: Store, planner: Planner, clock: Clock) -> None:
        self._store = store
        self._planner = planner
        self._clock = clock
        self._episode: str | None = None

    async def on_change(self, change: FaultChange, reason: str) -> None:
        """Plan the page for one change of the guard's verdict."""
        now = self._clock.now()
        started = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if change is FaultChange.STARTED:
            kind, episode = PageKind.PROBER_FAULT, started
            self._episode = episode
        else:
            kind, episode = PageKind.PROBER_OK, self._episode or started
            self._episode = None
        plan = self._planner.fault(kind, episode, reason, now)
        for miss in plan.unreached:
            log.warning(
                "%s: %s reached nobody",
                kind.prefix,
                "; ".join(f"{name.target} ({name.detail})" for name in miss.names),
            )
        await self._store.add_pages(plan.rows)
