"""The leader: one instance at a time holds the lease and does the work that must happen once.

The holder renews its lease every `lease / 3`; every other instance tries to take
it over every `FOLLOW_EVERY` (at most `lease / 3`), which succeeds once it has
expired or been released (the epoch rises by one at each takeover, logged with the
old and new epoch). So a dead leader's work resumes within `lease + FOLLOW_EVERY`
of its last renewal, and a released lease (SIGTERM) is taken within
`FOLLOW_EVERY`. An instance trusts itself to lead only for `lease * TRUST` after
the start of its last successful renewal, by its own monotonic clock; the
database, which fences every leader-only transaction by epoch, is what really
keeps a paused former leader from writing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.model import Lease
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, StoreError, Tx

log = logging.getLogger(__name__)

TRUST = 0.8
"""The share of the lease after a renewal during which this instance acts as leader."""
FOLLOW_EVERY = timedelta(seconds=1)
"""How often an instance that does not lead tries to take the lease."""


class Leadership:
    """Acquire, renew and release the leader's lease for this instance."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        instance: str,
        location: str,
        lease: timedelta,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._clock = clock
        self.instance = instance
        self._location = location
        self._lease = lease
        self._metrics = metrics
        self._resigned = False
        self._held: Lease | None = None
        self._trusted_until = 0.0
        self.known: Lease | None = None
        """The lease as last read, whoever holds it (for the heartbeat)."""
        self._fresh = True
        """No renewal has committed yet in this process."""

    def current(self) -> Lease | None:
        """Return this instance's lease while it may act as leader, else None."""
        if self._held is not None and self._clock.monotonic() < self._trusted_until:
            return self._held
        return None

    async def run(self) -> None:
        """Renew the lease every `lease / 3`, or try to take it every second, until cancelled."""
        while True:
            await self.renew()
            await self._clock.sleep(self.pause())

    def pause(self) -> float:
        """Return the seconds until the next renewal (holder) or attempt (follower)."""
        renew = self._lease.total_seconds() / 3
        return renew if self._held is not None else min(renew, FOLLOW_EVERY.total_seconds())

    async def renew(self) -> Lease | None:
        """Renew or take over the lease now; return it if this instance holds it."""
        if self._resigned:
            return None
        started = self._clock.monotonic()
        try:
            async with self._store.transaction() as tx:
                if self._fresh:
                    await self._end_predecessor(tx)
                lease = await tx.cluster.acquire(
                    self.instance, self._location, self._clock.now(), self._lease
                )
            self._fresh = False
        except StoreError as error:
            log.warning("could not renew the leader's lease: %s", error)
            self._show()
            return None
        self.known = lease
        previous = self._held
        if lease is not None and lease.instance == self.instance:
            self._held = lease
            self._trusted_until = started + self._lease.total_seconds() * TRUST
            if previous is None or previous.epoch != lease.epoch:
                old = "none" if previous is None else str(previous.epoch)
                log.warning(
                    "this instance (%s) leads now: epoch %s -> %d", self.instance, old, lease.epoch
                )
        else:
            if previous is not None:
                holder = "nobody" if lease is None else f"{lease.instance} (epoch {lease.epoch})"
                log.warning(
                    "this instance lost the lead (epoch %d); it is %s's", previous.epoch, holder
                )
            self._held = None
        self._show()
        return self.current()

    async def _end_predecessor(self, tx: Tx) -> None:
        """End a lease that a previous process left behind, so that a new epoch starts now.

        A restarted instance (same `--instance`) must not continue its predecessor's
        tenure: that epoch's claims and decisions belong to a process that is gone,
        and a new epoch is what tells them apart. On a database that only this
        process may use (SQLite, under its lock), whoever holds the lease is gone:
        waiting for it to expire would only delay the pages after a restart.
        """
        held = await tx.cluster.lease()
        if held is not None and (held.instance == self.instance or not self._store.shared):
            await tx.cluster.release(held.instance, held.epoch)

    async def release(self) -> None:
        """Give up the lease at once (SIGTERM): another instance takes over without waiting.

        It is never taken again by this instance: the leader's loops may still be
        stopping, and fencing keeps them from writing.
        """
        self._resigned = True
        held, self._held = self._held, None
        self._show()
        if held is None:
            return
        try:
            async with self._store.transaction() as tx:
                await tx.cluster.release(held.instance, held.epoch)
            log.info("released the leader's lease (epoch %d)", held.epoch)
        except StoreError as error:
            log.warning("could not release the lease (it expires by itself): %s", error)

    def _show(self) -> None:
        self._metrics.cluster_leader.set(1 if self.current() is not None else 0)
