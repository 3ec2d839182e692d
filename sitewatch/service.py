"""The service's parts, built from the settings once the store is open.

`open_service` opens the database, registers this instance, and builds every
collaborator (the pure rules' I/O shells, the desks the API uses, the loops the
supervisor runs); `Service.close` undoes it in reverse. `app.py` wraps it in an
aiohttp application; nothing here knows HTTP routes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sitewatch import wiring
from sitewatch.clock import Clock
from sitewatch.cluster.departures import Departures
from sitewatch.cluster.leader import Leadership
from sitewatch.cluster.membership import Membership
from sitewatch.cluster.retention import Retention
from sitewatch.config.settings import Settings
from sitewatch.model import Identity
from sitewatch.outages.board import CheckBoard
from sitewatch.outages.faults import FaultJudge
from sitewatch.outages.monitor import Monitor
from sitewatch.outages.recorder import OutageRecorder
from sitewatch.outages.ticker import Ticker
from sitewatch.outages.windowdesk import WindowDesk
from sitewatch.paging.dispatcher import Dispatcher
from sitewatch.paging.escalator import Escalator
from sitewatch.paging.links import AckLinks
from sitewatch.paging.notifier import Notifier
from sitewatch.paging.webhooks import WebhookSender
from sitewatch.probing.scheduler import Scheduler
from sitewatch.stats.metrics import Metrics
from sitewatch.stats.reader import StatsReader
from sitewatch.storage import Store, StoreError
from sitewatch.storage.sqlite import InstanceLock
from sitewatch.tickets.desk import TicketDesk

Loop = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)

CLOSE_STEP = timedelta(seconds=2)
"""The longest one step of shutdown may take."""
_CLOSE_STEP_SAID = f"{CLOSE_STEP.total_seconds():g} s"
SESSION_KEY_META = "session_signing_key"


@dataclass
class Service:
    """Every long-lived collaborator of one running instance, and its loops."""

    settings: Settings
    identity: Identity
    clock: Clock
    metrics: Metrics
    store: Store
    started_at: datetime
    board: CheckBoard
    monitor: Monitor
    recorder: OutageRecorder
    faults: FaultJudge
    leadership: Leadership
    membership: Membership
    scheduler: Scheduler
    dispatcher: Dispatcher
    escalator: Escalator
    tickets: TicketDesk
    windows: WindowDesk
    links: AckLinks
    session_key: bytes
    stats: StatsReader
    loops: dict[str, Loop] = field(default_factory=dict)
    _lock: InstanceLock | None = field(default=None, repr=False)
    _owned: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list, repr=False)

    async def hand_over(self) -> None:
        """Give up the lead and leave the membership at once (the first step of SIGTERM)."""
        await _bounded(self.leadership.release, self.membership.leave)

    async def close(self) -> None:
        """Hand over at once (lease, membership), commit what is queued, release everything.

        Each step is bounded: with the database away, shutdown still ends in seconds
        (what is queued is then lost with the process, as in a crash).
        """
        # Released already by `hand_over` in a running service; again is harmless.
        await _bounded(self.monitor.flush, self.leadership.release, self.membership.leave)
        for release in reversed(self._owned):
            outcome = release()
            if outcome is not None:
                await outcome
        try:
            async with asyncio.timeout(CLOSE_STEP.total_seconds()):
                await self.store.close()
        except TimeoutError:
            log.warning("shutdown: the database connections did not close in %s", _CLOSE_STEP_SAID)
        if self._lock is not None:
            self._lock.release()


async def _bounded(*steps: Callable[[], Awaitable[None]]) -> None:
    """Run each shutdown step in turn, each within `CLOSE_STEP`; say which did not finish."""
    for step in steps:
        try:
            async with asyncio.timeout(CLOSE_STEP.total_seconds()):
                await step()
        except TimeoutError:
            name = step.__qualname__
            log.warning("shutdown: %s did not finish within %s", name, _CLOSE_STEP_SAID)
        except StoreError as problem:
            log.warning("shutdown: %s did not finish: %s", step.__qualname__, problem)


async def open_service(
    settings: Settings,
    *,
    clock: Clock,
    metrics: Metrics,
    identity: Identity,
    notifier: Notifier | None = None,
    catch_up_since: float | None = None,
) -> Service:
    """Open the database, register this instance and build every collaborator.

    `catch_up_since` (monotonic, on `clock`): when the process started; checks whose
    slot fell since are probed at once (the scheduler's catch-up).
    """
    store, lock = await wiring.open_store_for(settings)
    try:
        return await _assemble(
            settings, clock, metrics, identity, store, lock, notifier, catch_up_since
        )
    except BaseException:
        await store.close()
        if lock is not None:
            lock.release()
        raise


async def _assemble(
    settings: Settings,
    clock: Clock,
    metrics: Metrics,
    identity: Identity,
    store: Store,
    lock: InstanceLock | None,
    notifier: Notifier | None,
    catch_up_since: float | None,
) -> Service:
    started_at = clock.now()
    metrics.register_checks((spec.id, spec.customer) for spec in settings.checks)
    metrics.register_customers(customer.id for customer in settings.customers)
    planner, links, channels = await wiring.build_planner(settings, store, clock)
    async with store.transaction() as tx:
        session_key = await tx.cluster.secret(SESSION_KEY_META, secrets.token_hex(32))
    leadership = Leadership(
        store=store,
        clock=clock,
        instance=identity.instance,
        location=identity.location,
        lease=settings.cluster.lease,
        metrics=metrics,
    )
    board = CheckBoard(settings.checks, metrics)
    faults = wiring.fault_judge(settings, identity, planner, metrics)
    recorder = wiring.build_recorder(settings, identity, planner)
    monitor = Monitor(
        settings.checks,
        store=store,
        recorder=recorder,
        faults=faults,
        board=board,
        metrics=metrics,
        clock=clock,
        location=identity.location,
    )
    connector = wiring.connector_for(settings)
    probe = wiring.probe_for(settings, connector, clock)
    scheduler = Scheduler(
        settings.checks,
        run_probe=probe.run,
        on_result=monitor.on_result,
        clock=clock,
        max_concurrency=settings.max_concurrent_probes,
        observe_lag=metrics.scheduler_lag.observe,
        on_error=lambda _check, _error: metrics.internal_errors.labels("scheduler").inc(),
        catch_up_since=catch_up_since,
    )
    membership = Membership(
        store=store,
        clock=clock,
        me=wiring.member(identity, started_at),
        lease=settings.cluster.lease,
        checks=[spec.id for spec in settings.checks],
        on_assign=scheduler.assign,
        metrics=metrics,
    )
    owned_notifier = wiring.notifier_for(settings) if notifier is None else None
    hooks = WebhookSender(settings.service_secrets, timeout=settings.paging.send_timeout)
    dispatcher, escalator = wiring.build_pager_loops(
        settings,
        store=store,
        clock=clock,
        metrics=metrics,
        leadership=leadership,
        planner=planner,
        channels=channels,
        notifier=notifier or owned_notifier or wiring.notifier_for(settings),
        hooks=hooks,
        rng=random.Random(),
    )
    service = Service(
        settings=settings,
        identity=identity,
        clock=clock,
        metrics=metrics,
        store=store,
        started_at=started_at,
        board=board,
        monitor=monitor,
        recorder=recorder,
        faults=faults,
        leadership=leadership,
        membership=membership,
        scheduler=scheduler,
        dispatcher=dispatcher,
        escalator=escalator,
        tickets=TicketDesk(store=store, planner=planner, clock=clock, metrics=metrics),
        windows=wiring.window_desk(settings, store, clock),
        links=links,
        session_key=bytes.fromhex(session_key),
        stats=wiring.stats_reader(settings, store, clock),
        _lock=lock,
    )
    service._owned.append(connector.close)
    service._owned.append(hooks.close)
    if owned_notifier is not None:
        service._owned.append(owned_notifier.close)
    ticker = Ticker(
        store=store, recorder=recorder, leadership=leadership, clock=clock, report=monitor.report
    )
    gauges = wiring.gauges_for(
        settings,
        store=store,
        clock=clock,
        metrics=metrics,
        board=board,
        faults=faults,
        alone=membership.alone,
    )
    retention = Retention(
        store=store,
        clock=clock,
        leadership=leadership,
        results=settings.result_retention,
        history=settings.retention,
    )
    departures = Departures(
        store=store,
        clock=clock,
        leadership=leadership,
        membership=membership,
        recorder=recorder,
        report=monitor.report,
    )
    service.loops = {
        "scheduler": scheduler.run,
        "results": monitor.run,
        "leader": leadership.run,
        "membership": membership.run,
        "ticker": ticker.run,
        "gauges": gauges.run,
        "escalation": escalator.run,
        "dispatcher": dispatcher.run,
        "retention": retention.run,
        "departures": departures.run,
    }
    # Register and take the lead before the loops start, so the first results are
    # judged with this instance counted among the live ones.
    await membership.beat()
    await leadership.renew()
    await monitor.start()
    await gauges.update()
    return service
