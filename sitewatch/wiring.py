"""Building the service's parts from the settings: one small factory per part.

`service.open_service` calls these in order; each knows which settings its part
needs, so that the assembly itself reads as a list.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp

from sitewatch.api.bodies.responses import TicketBody
from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.config.settings import Settings
from sitewatch.model import Identity, Member, Ticket
from sitewatch.outages.board import CheckBoard
from sitewatch.outages.faults import FaultJudge
from sitewatch.outages.proberfault import FaultPolicy
from sitewatch.outages.quorum import Quorum
from sitewatch.outages.recorder import OutageRecorder
from sitewatch.outages.recurrence import RecurringSchedule
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
from sitewatch.stats.gauges import Gauges
from sitewatch.stats.metrics import Metrics
from sitewatch.stats.reader import StatsReader, reader_for
from sitewatch.storage import Store, open_store
from sitewatch.storage.sqlite import InstanceLock

Loop = Callable[[], Awaitable[None]]


async def open_store_for(settings: Settings) -> tuple[Store, InstanceLock | None]:
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


async def build_planner(
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
    channels = Channels(
        {o.id: o.notify for o in settings.operators},
        settings.paging.fallback,
        settings.ticket_webhooks,
    )
    planner = Planner(
        levels=[Level(level.after, level.notify) for level in settings.escalation.levels],
        repeat_every=settings.escalation.repeat_every,
        resolver=Resolver.from_settings(settings),
        channels=channels,
        links=links,
        secrets=settings.secrets_about,
        document=ticket_document,
    )
    return planner, links, channels


def build_recorder(settings: Settings, identity: Identity, planner: Planner) -> OutageRecorder:
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


def build_pager_loops(
    settings: Settings,
    *,
    store: Store,
    clock: Clock,
    metrics: Metrics,
    leadership: Leadership,
    planner: Planner,
    channels: Channels,
    notifier: Notifier,
    hooks: Notifier,
    rng: random.Random,
) -> tuple[Dispatcher, Escalator]:
    """Build the leader's two paging loops."""
    paging = settings.paging
    dispatcher = Dispatcher(
        store=store,
        notifier=notifier,
        hooks=hooks,
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


def connector_for(settings: Settings) -> aiohttp.TCPConnector:
    """Return the one connector every probe shares (bound to `probe.source_address`)."""
    source = settings.probe.source_address
    return aiohttp.TCPConnector(
        limit=0, ttl_dns_cache=60, local_addr=(source, 0) if source else None
    )


def probe_for(settings: Settings, connector: aiohttp.TCPConnector, clock: Clock) -> HttpLogonProbe:
    """Return the logon probe every check runs on (results without step reports)."""
    return HttpLogonProbe(
        connector, clock, forbidden=[(settings.listen_host, settings.listen_port)], reports=False
    )


def fault_judge(
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


def window_desk(settings: Settings, store: Store, clock: Clock) -> WindowDesk:
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
        config_name=settings.source.name,
    )


def member(identity: Identity, started_at: datetime) -> Member:
    """Return this instance as the membership table records it."""
    return Member(identity.instance, identity.location, started_at, started_at)


def stats_reader(settings: Settings, store: Store, clock: Clock) -> StatsReader:
    """Build the statistics reader over the configured checks and customers."""
    return reader_for(settings, store, clock, retention=settings.result_retention)


def gauges_for(
    settings: Settings,
    *,
    store: Store,
    clock: Clock,
    metrics: Metrics,
    board: CheckBoard,
    faults: FaultJudge,
    alone: Callable[[], bool],
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
        alone=alone,
    )


def notifier_for(settings: Settings) -> AppriseNotifier:
    """Return the Apprise notifier (redacting the service's secrets from its log)."""
    return AppriseNotifier(settings.service_secrets, timeout=settings.paging.send_timeout)


def ticket_document(ticket: Ticket) -> dict[str, object]:
    """Return a ticket as the API shows it (the `ticket` of a webhook call): one shape."""
    document: dict[str, object] = TicketBody.of(ticket).model_dump(mode="json")
    return document
