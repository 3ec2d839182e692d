"""The service's parts, built from the settings once the store is open.

`open_service` opens the database, registers this instance, and builds every
collaborator (the pure rules' I/O shells, the desks the API uses, the loops the
supervisor runs); `Service.close` undoes it in reverse. `app.py` wraps it in an
aiohttp application; nothing here knows HTTP routes.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp

from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.cluster.membership import Membership
from sitewatch.cluster.retention import Retention
from sitewatch.config.settings import Settings
from sitewatch.model import Member
from sitewatch.outages.board import CheckBoard
from sitewatch.outages.faults import FaultJudge
from sitewatch.outages.monitor import Monitor
from sitewatch.outages.proberfault import FaultPolicy
from sitewatch.outages.quorum import Quorum
from sitewatch.outages.recorder import OutageRecorder
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.ticker import Ticker
from sitewatch.outages.windowdesk import WindowDesk
from sitewatch.paging.channels import Channels
from sitewatch.paging.dispatcher import Dispatcher
from sitewatch.paging.escalation import Level
from sitewatch.paging.escalator import Escalator
from sitewatch.paging.links import SIGNING_KEY_META, AckLinks, signing_key
from sitewatch.paging.notifier import AppriseNotifier, Notifier
from sitewatch.paging.oncall import Resolver
from sitewatch.paging.planner import Planner
from sitewatch.paging.retry import RetryPolicy
from sitewatch.probing.http import HttpLogonProbe
from sitewatch.probing.scheduler import Scheduler
from sitewatch.stats.gauges import Gauges
from sitewatch.stats.metrics import Metrics
from sitewatch.stats.reader import StatsReader, reader_for
from sitewatch.storage import Store, open_store
from sitewatch.storage.sqlite import InstanceLock
from sitewatch.tickets.desk import TicketDesk

Loop = Callable[[], Awaitable[None]]

SESSION_KEY_META = "session_signing_key"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who this instance is among the instances sharing its database."""

    instance: str
    location: str

    @classmethod
    def default(cls, location: str) -> Identity:
        """Name the instance after its host and process: unique on a host, readable."""
        return cls(f"{socket.gethostname()}-{os.getpid()}", location)


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

    async def close(self) -> None:
        """Hand over at once (lease, membership), commit what is queued, release everything."""
        with contextlib.suppress(Exception):
            await self.monitor.flush()
        await self.leadership.release()
        await self.membership.leave()
        for release in reversed(self._owned):
            outcome = release()
            if outcome is not None:
                await outcome
        await self.store.close()
        if self._lock is not None:
            self._lock.release()


async def open_service(
    settings: Settings,
    *,
    clock: Clock,
    metrics: Metrics,
    identity: Identity,
    notifier: Notifier | None = None,
) -> Service:
    """Open the database, register this instance and build every collaborator."""
    store, lock = await _open_store_for(settings)
    try:
        return await _assemble(settings, clock, metrics, identity, store, lock, notifier)
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
) -> Service:
    started_at = clock.now()
    planner, links, channels = await _build_planner(settings, store, clock)
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
    faults = _fault_judge(settings, identity, planner, metrics)
    recorder = _build_recorder(settings, identity, planner)
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
    connector = _connector_for(settings)
    probe = _probe_for(settings, connector, clock)
    scheduler = Scheduler(
        settings.checks,
        run_probe=probe.run,
        on_result=monitor.on_result,
        clock=clock,
        max_concurrency=settings.max_concurrent_probes,
        observe_lag=metrics.scheduler_lag.observe,
        on_error=lambda _check, _error: metrics.internal_errors.labels("scheduler").inc(),
    )
    membership = Membership(
        store=store,
        clock=clock,
        me=_member(identity, started_at),
        lease=settings.cluster.lease,
        checks=[spec.id for spec in settings.checks],
        on_assign=scheduler.assign,
        metrics=metrics,
    )
    owned_notifier = _notifier_for(settings) if notifier is None else None
    dispatcher, escalator = _build_pager_loops(
        settings,
        store=store,
        clock=clock,
        metrics=metrics,
        leadership=leadership,
        planner=planner,
        channels=channels,
        notifier=notifier or owned_notifier or _notifier_for(settings),
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
        windows=_window_desk(settings, store, clock),
        links=links,
        session_key=bytes.fromhex(session_key),
        stats=_stats_reader(settings, store, clock),
        _lock=lock,
    )
    service._owned.append(connector.close)
    if owned_notifier is not None:
        service._owned.append(owned_notifier.close)
    ticker = Ticker(
        store=store, recorder=recorder, leadership=leadership, clock=clock, report=monitor.report
    )
    gauges = _gauges_for(
        settings, store=store, clock=clock, metrics=metrics, board=board, faults=faults
    )
    retention = Retention(
        store=store,
        clock=clock,
        leadership=leadership,
        results=settings.result_retention,
        history=settings.retention,
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
    }
    # Register and take the lead before the loops start, so the first results are
    # judged with this instance counted among the live ones.
    await membership.beat()
    await leadership.renew()
    await monitor.start()
    await gauges.update()
    return service


async def _open_store_for(settings: Settings) -> tuple[Store, InstanceLock | None]:
    """Open the configured database; a SQLite file also gets its one-instance lock."""
    lock = None
    if settings.database.scheme == "sqlite":
        assert settings.database.path is not None
        lock = InstanceLock(settings.database.path)
    try:
        return await open_store(settings.database), lock
    except BaseException:
        if lock is not None:
            lock.release()
        raise


async def _build_planner(
    settings: Settings, store: Store, clock: Clock
) -> tuple[Planner, AckLinks, Channels]:
    """Build the planner with its acknowledge-link key (kept in the database)."""
    async with store.transaction() as tx:
        stored_key = await tx.cluster.secret(SIGNING_KEY_META, secrets.token_hex(32))
    links = AckLinks(
        signing_key(settings.paging.signing_key, stored_key),
        public_url=settings.public_url,
        ttl=settings.paging.ack_link_ttl,
    )
    channels = Channels({o.id: o.notify for o in settings.operators}, settings.paging.fallback)
    planner = Planner(
        levels=[Level(level.after, level.notify) for level in settings.escalation.levels],
        repeat_every=settings.escalation.repeat_every,
        resolver=Resolver.from_settings(settings),
        channels=channels,
        links=links,
        secrets=settings.secrets_about,
    )
    return planner, links, channels


def _build_recorder(settings: Settings, identity: Identity, planner: Planner) -> OutageRecorder:
    """Build the judge of verdicts for this instance's location."""
    return OutageRecorder(
        {spec.id: spec for spec in settings.checks},
        location=identity.location,
        quorum=Quorum(settings.cluster.quorum),
        grace=settings.defaults.maintenance_grace,
        lease=settings.cluster.lease,
        schedule=RecurringSchedule(settings.recurring_maintenance),
        planner=planner,
    )


def _build_pager_loops(
    settings: Settings,
    *,
    store: Store,
    clock: Clock,
    metrics: Metrics,
    leadership: Leadership,
    planner: Planner,
    channels: Channels,
    notifier: Notifier,
    rng: random.Random,
) -> tuple[Dispatcher, Escalator]:
    """Build the leader's two paging loops."""
    paging = settings.paging
    dispatcher = Dispatcher(
        store=store,
        notifier=notifier,
        channels=channels,
        planner=planner,
        policy=RetryPolicy(paging.max_attempts, paging.retry_initial, paging.retry_max),
        clock=clock,
        metrics=metrics,
        leadership=leadership,
        rng=rng,
    )
    escalator = Escalator(
        store=store, planner=planner, clock=clock, metrics=metrics, leadership=leadership
    )
    return dispatcher, escalator


def _connector_for(settings: Settings) -> aiohttp.TCPConnector:
    """Return the one connector every probe shares (bound to `probe.source_address`)."""
    source = settings.probe.source_address
    return aiohttp.TCPConnector(
        limit=0, ttl_dns_cache=60, local_addr=(source, 0) if source else None
    )


def _probe_for(settings: Settings, connector: aiohttp.TCPConnector, clock: Clock) -> HttpLogonProbe:
    """Return the logon probe every check runs on."""
    return HttpLogonProbe(connector, clock)


def _fault_judge(
    settings: Settings, identity: Identity, planner: Planner, metrics: Metrics
) -> FaultJudge:
    """Build the prober-fault judge of this instance's location."""
    policy = FaultPolicy(settings.prober_fault.ratio, settings.prober_fault.min_checks)
    return FaultJudge(
        {spec.id: spec for spec in settings.checks},
        location=identity.location,
        policy=policy,
        planner=planner,
        metrics=metrics,
    )


def _window_desk(settings: Settings, store: Store, clock: Clock) -> WindowDesk:
    """Build the desk that declares and changes windows."""
    checks_of: dict[str, list[str]] = {}
    for spec in settings.checks:
        checks_of.setdefault(spec.customer, []).append(spec.id)
    return WindowDesk(
        store=store,
        clock=clock,
        schedule=RecurringSchedule(settings.recurring_maintenance),
        checks_of=checks_of,
        maximum=settings.defaults.maintenance_max,
        limit=settings.limits.windows,
    )


def _member(identity: Identity, started_at: datetime) -> Member:
    """Return this instance as the membership table records it."""
    return Member(identity.instance, identity.location, started_at, started_at)


def _stats_reader(settings: Settings, store: Store, clock: Clock) -> StatsReader:
    """Build the statistics reader over the configured checks and customers."""
    return reader_for(settings, store, clock, retention=settings.result_retention)


def _gauges_for(
    settings: Settings,
    *,
    store: Store,
    clock: Clock,
    metrics: Metrics,
    board: CheckBoard,
    faults: FaultJudge,
) -> Gauges:
    """Build the loop that keeps the cross-instance gauges and the board current."""
    return Gauges(
        store=store,
        clock=clock,
        metrics=metrics,
        board=board,
        faults=faults,
        schedule=RecurringSchedule(settings.recurring_maintenance),
        customers=[customer.id for customer in settings.customers],
    )


def _notifier_for(settings: Settings) -> AppriseNotifier:
    """Return the Apprise notifier (redacting the service's secrets from its log)."""
    return AppriseNotifier(settings.service_secrets)
