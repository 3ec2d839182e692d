"""Membership: this instance's heartbeat, the live instances, and its share of the checks.

Every `lease / 3` the instance records that it is alive and reads who else is;
an instance silent for `lease` is dead. Its share of the checks at its location is
recomputed (`sharding.assign`) whenever the location's live members change, and
handed to the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.cluster.sharding import assign
from sitewatch.model import Member
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, StoreError

log = logging.getLogger(__name__)


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
        on_assign: Callable[[set[str]], None],
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
        self.assigned: set[str] = set()

    async def run(self) -> None:
        """Beat every `lease / 3` until cancelled."""
        while True:
            await self._clock.sleep(self._lease.total_seconds() / 3)
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
        peers = frozenset(m.instance for m in members if m.location == self.me.location)
        if peers != self._peers:
            self._peers = peers
            self.assigned = assign(self._checks, peers | {self.me.instance}, self.me.instance)
            log.info(
                "%d instance(s) at %s; this one probes %d of %d checks",
                len(peers | {self.me.instance}),
                self.me.location,
                len(self.assigned),
                len(self._checks),
            )
            self._on_assign(set(self.assigned))

    async def leave(self) -> None:
        """Deregister at shutdown, so the location's other instances take over at once."""
        try:
            async with self._store.transaction() as tx:
                await tx.cluster.leave(self.me.instance)
        except StoreError as error:
            log.warning("could not deregister (the lease of membership expires): %s", error)

    def _show(self, members: Sequence[Member]) -> None:
        counts: dict[str, int] = {}
        for member in members:
            counts[member.location] = counts.get(member.location, 0) + 1
        for location, count in counts.items():
            self._metrics.cluster_instances.labels(location).set(count)
