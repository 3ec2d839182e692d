"""The composition root: builds every collaborator from Settings and owns every task."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web

from sitewatch.api import add_routes
from sitewatch.api.auth import TokenBook
from sitewatch.api.common import (
    CLOCK,
    MAX_BODY_BYTES,
    METRICS,
    MONITOR,
    PAGER,
    SETTINGS,
    STORE,
    TOKENS,
    WINDOWS,
    json_errors,
)
from sitewatch.api.stats import STATS
from sitewatch.clock import Clock, SystemClock
from sitewatch.config.settings import Settings
from sitewatch.model import CheckSpec, Principal, ProbeResult, Role
from sitewatch.outages.monitor import Monitor
from sitewatch.outages.proberfault import ProberFaultGuard
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.windowbook import WindowBook
from sitewatch.paging.pager import Pager, open_pager
from sitewatch.probing.http import HttpLogonProbe
from sitewatch.probing.scheduler import Scheduler
from sitewatch.stats import reader as statsreader
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store
from sitewatch.storage.sqlite import open_sqlite_store

log = logging.getLogger(__name__)

RUNNER = web.AppKey("runner", asyncio.Task[None])

HOUSEKEEPING_EVERY = timedelta(seconds=1)
WINDOW_MEMORY = timedelta(days=1)
"""How long after its end a window stays in memory (the store keeps it for good)."""


def token_book(settings: Settings) -> TokenBook:
    """Collect every configured API token with its principal."""
    entries = [(c.token, Principal(Role.CUSTOMER, c.id)) for c in settings.customers]
    entries += [(o.token, Principal(Role.OPERATOR, o.id)) for o in settings.operators]
    return TokenBook(entries)


def build_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Return the whole service as one aiohttp application, not yet started."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[json_errors])
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[TOKENS] = token_book(settings)
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_service)
    add_routes(app)
    return app


async def _service(app: web.Application) -> AsyncIterator[None]:
    """Open the store, resume state, run the background loops; undo it all at shutdown."""
    settings, clock, metrics = app[SETTINGS], app[CLOCK], app[METRICS]
    store = await open_sqlite_store(settings.database, clock)
    app[STORE] = store
    try:
        windows = WindowBook(
            await store.list_windows(ending_after=clock.now() - WINDOW_MEMORY),
            schedule=RecurringSchedule(settings.recurring_maintenance),
        )
        app[WINDOWS] = windows
        app[STATS] = statsreader.reader_for(
            settings, store, clock, retention=settings.result_retention
        )
        pager = await open_pager(settings, store=store, clock=clock, metrics=metrics)
        app[PAGER] = pager
        monitor = Monitor(
            settings.checks,
            store=store,
            metrics=metrics,
            clock=clock,
            windows=windows,
            maintenance_grace=settings.defaults.maintenance_grace,
            guard=ProberFaultGuard(
                {c.id for c in settings.checks},
                ratio=settings.prober_fault.ratio,
                min_checks=settings.prober_fault.min_checks,
            ),
            planner=pager.planner,
            on_fault=pager.faults.on_change,
        )
        metrics.register_checks((c.id, c.customer) for c in settings.checks)
        metrics.register_customers(c.id for c in settings.customers)
        await monitor.start()
        # Everything built so far lives as long as the process: move it out of the
        # collector's sight, so full collections do not stall the scheduler (0.25-1 s
        # pauses at 20,000 checks before this, bench/README.md).
        gc.collect()
        gc.freeze()
        await _restore_windows(windows, store, monitor)
        _keep_windows_current(windows, monitor, clock.now())
        app[MONITOR] = monitor
        runner = asyncio.create_task(
            _run_loops(settings, clock, metrics, monitor, store, windows, pager)
        )
        app[RUNNER] = runner
        yield
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await monitor.flush()
    finally:
        if PAGER in app:
            app[PAGER].close()
        await store.close()


async def _run_loops(
    settings: Settings,
    clock: Clock,
    metrics: Metrics,
    monitor: Monitor,
    store: Store,
    windows: WindowBook,
    pager: Pager,
) -> None:
    """Run the scheduler, housekeeping and the paging loops until cancelled."""
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=60)
    probe = HttpLogonProbe(connector, clock)
    try:

        async def run_probe(check: CheckSpec) -> ProbeResult:
            return await probe.run(check)

        scheduler = Scheduler(
            settings.checks,
            run_probe=run_probe,
            on_result=monitor.on_result,
            clock=clock,
            max_concurrency=settings.max_concurrent_probes,
            observe_lag=metrics.scheduler_lag.observe,
            rng=random.Random(),
            on_error=lambda _check, _error: metrics.internal_errors.labels("scheduler").inc(),
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(scheduler.run())
            group.create_task(
                _housekeeping(clock, metrics, monitor, store, windows, settings.result_retention)
            )
            # Paging runs beside probing, never on its path: a slow channel delays pages only.
            group.create_task(pager.dispatcher.run())
            group.create_task(pager.escalator.run())
    finally:
        await connector.close()


async def _housekeeping(
    clock: Clock,
    metrics: Metrics,
    monitor: Monitor,
    store: Store,
    windows: WindowBook,
    retention: timedelta,
) -> None:
    """Once a second: overruns, batched writes, open-ticket gauge; hourly: pruning, windows."""
    last_prune = clock.monotonic() - 3600
    while True:
        await clock.sleep(HOUSEKEEPING_EVERY.total_seconds())
        try:
            await monitor.tick()
            metrics.tickets_open.set(await store.count_open_tickets())
            if clock.monotonic() - last_prune >= 3600:
                last_prune = clock.monotonic()
                await store.prune_results(clock.now() - retention)
                _keep_windows_current(windows, monitor, clock.now())
        except Exception:
            # A bug must not stop the loop that saves state and finds overruns.
            log.exception("housekeeping failed; retrying in a second")
            metrics.internal_errors.labels("housekeeping").inc()


def _windows_in_use(monitor: Monitor) -> set[str]:
    """Return the windows of open planned outages: their end decides the overrun."""
    return {
        view.status.outage.window_id
        for view in monitor.views()
        if view.status.outage is not None and view.status.outage.window_id is not None
    }


async def _restore_windows(windows: WindowBook, store: Store, monitor: Monitor) -> None:
    """Bring back the window of every open planned outage, however long ago it ended."""
    for window_id in _windows_in_use(monitor):
        if windows.get(window_id) is None:
            window = await store.get_window(window_id) or windows.schedule.find(window_id)
            if window is not None:
                windows.put(window)


def _keep_windows_current(windows: WindowBook, monitor: Monitor, now: datetime) -> None:
    """Add the coming recurring occurrences; forget windows the rules can no longer need."""
    onsets = [v.status.streak_onset for v in monitor.views() if v.status.streak_onset is not None]
    since = min([now - WINDOW_MEMORY, *onsets])
    windows.refresh(now, since=since, keep=_windows_in_use(monitor))
