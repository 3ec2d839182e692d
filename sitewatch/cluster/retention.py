"""Retention: the leader deletes history past its age, in small batches.

Raw results go after `result_retention`; resolved tickets (with their timelines and
outbox rows), ended windows, outages without a ticket and finished prober-fault
pages go after `retention`; the rows of instances silent for an hour (killed ones
never deregister) go too. Open tickets are never pruned. Each batch is its own
short transaction, so pruning a large backlog never holds the writer for long.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.storage import Store, Tx

log = logging.getLogger(__name__)

BATCH = 5_000
"""Rows per pruning transaction."""
EVERY = timedelta(hours=1)
FORGET_INSTANCES = timedelta(hours=1)
"""How long the row of an instance that stopped beating is kept (killed ones never leave)."""


class Retention:
    """Prune old history every hour (leader only)."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        leadership: Leadership,
        results: timedelta,
        history: timedelta,
    ) -> None:
        self._store = store
        self._clock = clock
        self._leadership = leadership
        self._results = results
        self._history = history

    async def run(self) -> None:
        """Prune now and then every hour, until cancelled."""
        while True:
            await self.prune()
            await self._clock.sleep(EVERY.total_seconds())

    async def prune(self) -> dict[str, int]:
        """Delete everything past its age; return how many rows of each kind went."""
        now = self._clock.now()
        results, history = now - self._results, now - self._history
        steps: list[tuple[str, Callable[[Tx, datetime, int], Awaitable[int]], datetime]] = [
            ("results", lambda tx, before, n: tx.checks.prune_results(before, n), results),
            ("tickets", lambda tx, before, n: tx.tickets.prune_resolved(before, n), history),
            ("windows", lambda tx, before, n: tx.windows.prune_ended(before, n), history),
            ("outages", lambda tx, before, n: tx.outages.prune(before, n), history),
            ("pages", lambda tx, before, n: tx.outbox.prune(before, n), history),
            ("instances", lambda tx, before, n: tx.cluster.forget(before), now - FORGET_INSTANCES),
        ]
        pruned = {}
        for name, step, before in steps:
            pruned[name] = await self._drain(step, before)
        if any(pruned.values()):
            log.info("retention pruned %s", ", ".join(f"{n} {k}" for k, n in pruned.items() if n))
        return pruned

    async def _drain(
        self, step: Callable[[Tx, datetime, int], Awaitable[int]], before: datetime
    ) -> int:
        total = 0
        while True:
            lease = self._leadership.current()
            if lease is None:
                return total
            async with self._store.transaction() as tx:
                await tx.cluster.fence(lease.instance, lease.epoch)
                count = await step(tx, before, BATCH)
            total += count
            if count < BATCH:
                return total
