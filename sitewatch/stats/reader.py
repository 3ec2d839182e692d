"""Reading statistics: the store's history of a period, handed to `stats.compute`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.config.settings import Settings
from sitewatch.stats.compute import History, Period, Statistics, compute
from sitewatch.storage import Store, Tx, open_store

PRUNE_SLACK = timedelta(hours=1)
"""Pruning runs hourly, so a held result may be up to this much older than retention."""


class StatsReader:
    """Read a period's history from the store and compute its statistics.

    The first held result of each check is cached: finding it reads the whole
    results table, and it only ever moves when pruning makes it older than the
    horizon, which `counted_from` treats the same way.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        checks: Mapping[str, str],
        customers: Mapping[str, str],
        retention: timedelta | None,
        cache_for: timedelta = timedelta(minutes=5),
    ) -> None:
        self._store, self._clock = store, clock
        self._checks, self._customers = dict(checks), dict(customers)
        self._retention, self._cache_for = retention, cache_for
        self._first: dict[str, datetime] = {}
        self._fetched: datetime | None = None

    async def read(self, period: Period) -> Statistics:
        """Return the statistics of a period, from the store as it is now."""
        now = self._clock.now()
        async with self._store.reading() as tx:
            outages = await tx.outages.overlapping(period.since, period.until)
            tickets = await tx.tickets.overlapping(period.since, period.until)
            first = await self._first_results(tx, now)
        horizon = None if self._retention is None else now - self._retention + PRUNE_SLACK
        history = History(outages, tickets, first, horizon)
        return compute(period, self._checks, self._customers, history)

    async def _first_results(self, tx: Tx, now: datetime) -> Mapping[str, datetime]:
        age = None if self._fetched is None else now - self._fetched
        missing = any(check not in self._first for check in self._checks)
        # A check not yet probed at the last look is looked for again, but not on
        # every request: the look reads the whole results table.
        if age is None or age >= self._cache_for or (missing and age >= timedelta(seconds=2)):
            self._first = await tx.checks.first_results()
            self._fetched = now
        return self._first


def reader_for(
    settings: Settings, store: Store, clock: Clock, *, retention: timedelta | None
) -> StatsReader:
    """Return a reader over the configured checks and customers."""
    return StatsReader(
        store,
        clock,
        checks={c.id: c.customer for c in settings.checks},
        customers={c.id: c.name for c in settings.customers},
        retention=retention,
    )


async def read_database(
    settings: Settings, period: Period, clock: Clock, *, retention: timedelta | None
) -> Statistics:
    """Open the configured database, read one period's statistics, and close it."""
    store = await open_store(settings.database)
    try:
        return await reader_for(settings, store, clock, retention=retention).read(period)
    finally:
        await store.close()
