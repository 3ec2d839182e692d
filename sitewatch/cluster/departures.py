"""Departures: the leader judges again the checks that a lost location leaves down elsewhere.

A verdict is judged when a location's down/up state changes, and a location votes
only while one of its instances is live. When every instance of a location dies,
no status changes, yet the voting locations (and with them K) shrink: a check that
the remaining locations have down may now reach the quorum (two locations, one
lost: the other alone is the majority). So when the live locations lose one, and
once at the start of every tenure (the previous leader may have died before it
could), the leader judges, in one fenced transaction, every check that a live
location has down and that has no outage. Checks with an outage are left alone: a
location's death is not a recovery, and must not end an outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.cluster.membership import Membership
from sitewatch.outages.recorder import Judged, OutageRecorder
from sitewatch.storage import Store

log = logging.getLogger(__name__)

EVERY = timedelta(seconds=1)


class Departures:
    """Judge the checks left down when a location loses its last live instance (leader only)."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        leadership: Leadership,
        membership: Membership,
        recorder: OutageRecorder,
        report: Callable[[Judged], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._leadership = leadership
        self._membership = membership
        self._recorder = recorder
        self._report = report
        self._seen: tuple[int, frozenset[str]] | None = None
        """The tenure and the live locations of the last sweep."""

    async def run(self) -> None:
        """Look every second until cancelled."""
        while True:
            await self._clock.sleep(EVERY.total_seconds())
            await self.watch()

    async def watch(self) -> Judged | None:
        """Sweep if this instance leads and a location was lost (or the tenure is new)."""
        lease = self._leadership.current()
        if lease is None:
            self._seen = None
            return None
        live = frozenset(
            {m.location for m in self._membership.members} | {self._membership.me.location}
        )
        seen = self._seen
        if seen is not None and seen[0] == lease.epoch and not seen[1] - live:
            self._seen = (lease.epoch, live)
            return None
        judged = await self.sweep(lease.instance, lease.epoch)
        self._seen = (lease.epoch, live)
        lost = sorted(seen[1] - live) if seen is not None else []
        if judged.recorded or lost:
            log.info(
                "locations lost: %s; %d outage change(s) after judging again",
                ", ".join(lost) or "none (new tenure)",
                len(judged.recorded),
            )
        return judged

    async def sweep(self, instance: str, epoch: int) -> Judged:
        """Judge every check a live location has down and no outage covers, fenced."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            await tx.cluster.fence(instance, epoch)
            live = {m.location for m in await tx.cluster.members(now, self._membership.lease)}
            live.add(self._membership.me.location)
            down: set[str] = set()
            for location in sorted(live):
                down.update(await tx.checks.down_at(location))
            verdicts = await tx.checks.lock_verdicts(sorted(down))
            fresh = [c for c in sorted(down) if c not in verdicts or verdicts[c].outage is None]
            judged = await self._recorder.judge(tx, fresh, now=now)
        self._report(judged)
        return judged
