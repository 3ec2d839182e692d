"""The gauges every instance keeps current: the board, planned events, open tickets, faults.

Once a second this reads what other instances (or this one's leader loops) may have
committed and sets `sitewatch_maintenance_active` and `sitewatch_tickets_open`;
on a shared database, every few seconds it also reloads the check board and the
location's fault state (each instance sees its own commits at once; the reload
brings in the others'), and once a minute while no other instance is alive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.outages.board import CheckBoard
from sitewatch.outages.faults import FaultJudge
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store

BOARD_EVERY = 3
"""Seconds at least between reloads of the board and the fault state."""
ALONE_EVERY = 60
"""The same while no other instance is alive: only a paused one that resumes, commits
and dies before its next heartbeat could have written anything since."""
BOARD_SHARE = 0.02
"""The share of the time reloads may take: a reload reads every check, so at many
checks they come less often (10,000 checks: about every 5 s instead of 3)."""


class Gauges:
    """Keep the cross-instance gauges and the board current."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        metrics: Metrics,
        board: CheckBoard,
        faults: FaultJudge,
        schedule: RecurringSchedule,
        customers: Sequence[str],
        alone: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._board = board
        self._faults = faults
        self._schedule = schedule
        self._customers = tuple(customers)
        self._alone = alone
        """Whether no other instance is alive now (the membership's last view)."""

    async def run(self) -> None:
        """Update every second until cancelled; reload the board for `BOARD_SHARE` of it.

        Alone, this instance has everything it committed on its board already, so the
        reload comes every `ALONE_EVERY` only; as soon as another instance is seen
        alive it comes every `BOARD_EVERY` again (at once if that is already due).
        """
        reloaded, took = -math.inf, 0.0
        while True:
            started = self._clock.monotonic()
            every = ALONE_EVERY if self._alone() else BOARD_EVERY
            reload = started >= reloaded + max(every, took / BOARD_SHARE)
            await self.update(reload=reload)
            if reload:
                reloaded, took = started, self._clock.monotonic() - started
            await self._clock.sleep(1.0)

    async def update(self, *, reload: bool = True) -> None:
        """Read and set the gauges now (and reload the board when asked)."""
        now = self._clock.now()
        async with self._store.reading() as tx:
            declared = await tx.windows.covering(self._customers, ending_after=now)
            open_tickets = await tx.tickets.count_unresolved()
        recurring = self._schedule.between(now - timedelta(seconds=1), now + timedelta(seconds=1))
        self._metrics.show_windows(self._customers, [*declared, *recurring], now)
        self._metrics.tickets_open.set(open_tickets)
        # A database no other instance writes to holds nothing this instance has not
        # already put on its board: only a shared one is worth reading back.
        if reload and self._store.shared:
            await self._board.refresh(self._store)
            await self._faults.load(self._store)
