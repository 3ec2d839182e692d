"""Membership: this instance's heartbeat, the live instances, and its share of the checks.

Every `BEAT_EVERY` (at most `lease / 3`) the instance records that it is alive and
reads who else is; an instance silent for `lease` is dead. Its share of the checks
at its location is recomputed (`sharding.assign`) whenever the location's live
members change, and handed to the scheduler.

Hand-over bounds (docs/cluster.md, "Sharing the checks"): when an instance joins,
the others keep probing its share until their next beat, so a check may be probed
twice for up to `BEAT_EVERY`, never left out. When one dies, the others see it
gone within `lease + BEAT_EVERY` of its last beat and probe its checks at once if
one of their slots may have been missed, else at their next slot (the phase is the
same on every instance), so no check waits longer than the later of
`lease + BEAT_EVERY` and one interval from the death; on SIGTERM it deregisters,
and the wait is the later of `BEAT_EVERY` and one interval.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from sitewatch.clock import Clock
from sitewatch.cluster.sharding import assign
from sitewatch.model import Member
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, StoreError

log = logging.getLogger(__name__)

BEAT_EVERY = timedelta(seconds=1)
"""How often an instance records its heartbeat and reads the live members."""


class Assign(Protocol):
    """Hand the scheduler its checks (`Scheduler.assign`)."""

    def __call__(self, check_ids: Collection[str], *, missed_since: float | None = None) -> None:
        """Probe exactly these checks; run at once those whose slot fell after `missed_since`."""


class Membership:
    """Keep this instance registered and its share of the checks current."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        me: Member,
        lease: timedelta,
        checks: Sequence[str],
        on_assign: Assign,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._clock = clock
        self.me = me
        self._lease = lease
        self._checks = tuple(checks)
        self._on_assign = on_assign
        self._metrics = metrics
        self.members: list[Member] = []
        self._peers: frozenset[str] | None = None
        self._locations: set[str] = set()
        self.assigned: set[str] = set()

    @property
    def lease(self) -> timedelta:
        """Return how long a silent instance is still taken to be alive."""
        return self._lease

    def alone(self) -> bool:
        """Tell whether the last heartbeat saw no other instance alive, anywhere."""
        return all(member.instance == self.me.instance for member in self.members)

    @property
    def every(self) -> float:
        """Return the seconds between two heartbeats."""
        return min(BEAT_EVERY.total_seconds(), self._lease.total_seconds() / 3)

    async def run(self) -> None:
        """Beat every `every` seconds until cancelled."""
        while True:
            await self._clock.sleep(self.every)
            await self.beat()

    async def beat(self) -> None:
        """Record this instance alive, read the live members, recompute its share."""
        now = self._clock.now()
        try:
            async with self._store.transaction() as tx:
                me = replace(self.me, checks=len(self.assigned))
                await tx.cluster.heartbeat(me, now)
                members = await tx.cluster.members(now, self._lease)
        except StoreError as error:
            # Keep probing our share: the location's checks must not go unprobed
            # because this instance cannot reach the database for a while.
            log.warning("heartbeat not recorded: %s", error)
            return
        self.members = members
        self._show(members)
        self._share(members)

    def _share(self, members: Sequence[Member]) -> None:
        """Recompute this instance's checks if its location's live members changed."""
        if self._store.shared:
            here = {m.instance for m in members if m.location == self.me.location}
            peers = frozenset(here | {self.me.instance})
        else:
            # One instance per SQLite file (the lock): any other row is a dead process.
            peers = frozenset({self.me.instance})
        if peers == self._peers:
            return
        lost = set() if self._peers is None else self._peers - peers
        self._peers = peers
        self.assigned = assign(self._checks, peers, self.me.instance)
        log.info(
            "%d instance(s) at %s; this one probes %d of %d checks%s",
            len(peers),
            self.me.location,
            len(self.assigned),
            len(self._checks),
            f" (taking over from {', '.join(sorted(lost))})" if lost else "",
        )
        # A lost peer may have stopped probing as long ago as its lease and one beat.
        missed = self._clock.monotonic() - self._lease.total_seconds() - self.every
        self._on_assign(set(self.assigned), missed_since=missed if lost else None)

    async def leave(self) -> None:
        """Deregister at shutdown, so the location's other instances take over at once."""
        try:
            async with self._store.transaction() as tx:
                await tx.cluster.leave(self.me.instance)
        except StoreError as error:
            log.warning("could not deregister (the lease of membership expires): %s", error)

    def _show(self, members: Sequence[Member]) -> None:
        counts = dict.fromkeys(self._locations, 0)
        for member in members:
            counts[member.location] = counts.get(member.location, 0) + 1
        # A location whose last instance died shows 0, not its last count.
        self._locations = set(counts)
        for location, count in counts.items():
            self._metrics.cluster_instances.labels(location).set(count)
