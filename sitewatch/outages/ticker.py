"""The tick: once a second, on the leader, the passing of time applied to planned outages.

A planned outage still open at its window's end plus `maintenance_grace` overruns
even if no result arrives at that moment. The tick reads the checks in maintenance,
their windows and their locations inside one fenced transaction: a PATCH that
extends the window commits either before (the tick sees the new end) or after (the
PATCH finds the window ended: 409).
"""

from __future__ import annotations

from collections.abc import Callable

from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.outages.recorder import Judged, OutageRecorder
from sitewatch.storage import Store


class Ticker:
    """Overrun planned outages whose window has ended (leader only)."""

    def __init__(
        self,
        *,
        store: Store,
        recorder: OutageRecorder,
        leadership: Leadership,
        clock: Clock,
        report: Callable[[Judged], None],
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._leadership = leadership
        self._clock = clock
        self._report = report

    async def run(self) -> None:
        """Tick every second until cancelled."""
        while True:
            await self._clock.sleep(1.0)
            await self.tick()

    async def tick(self) -> Judged | None:
        """Judge every check in maintenance against the clock, if this instance leads."""
        lease = self._leadership.current()
        if lease is None:
            return None
        now = self._clock.now()
        # Most ticks find no check in maintenance. A read says so in one trip to the
        # database, a fenced transaction in three; what is found is still decided in
        # the fenced transaction below, on what it reads itself.
        async with self._store.reading() as tx:
            if not await tx.checks.in_maintenance():
                return None
        async with self._store.transaction() as tx:
            await tx.cluster.fence(lease.instance, lease.epoch)
            in_maintenance = await tx.checks.in_maintenance()
            if not in_maintenance:
                return None
            judged = await self._recorder.judge(tx, in_maintenance, now=now, tick=True)
        self._report(judged)
        return judged
