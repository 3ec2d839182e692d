"""The dispatcher: on the leader, delivers due outbox rows, retries them, falls back.

Every `poll_every` it claims due rows up to its free slots, in a fenced transaction
(rows another claimant holds are skipped; a claim lasts `lease`). The first claim
of a new tenure (a new fencing epoch) also releases its predecessors' claims: a
former leader can no longer record an outcome, so its rows must not wait out their
claim. Each row is sent in its own task, only while this instance still trusts its
lease of the claim's epoch, and its outcome recorded in its own fenced transaction,
which only the claimant that still holds the row may write. A row whose claim ran
out before its send started is not sent by this instance: another (or this one,
later) claims it again. So a page goes out twice only if its sender dies (or stalls
past its lease) between the channel accepting it and the database recording that.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.cluster.leader import Leadership
from sitewatch.model import (
    WEBHOOK,
    Delivery,
    DeliveryDecision,
    Lease,
    Page,
    PageState,
    TicketEvent,
)
from sitewatch.paging import rules
from sitewatch.paging.channels import Channels
from sitewatch.paging.notifier import Notifier
from sitewatch.paging.planner import Planner
from sitewatch.paging.retry import RetryPolicy, after_attempt
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import FencedError, Store, StoreError, Tx

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(milliseconds=500)
LEASE = timedelta(seconds=30)
"""How long a claimed row stays reserved: three times a send's timeout. A row claimed
by an instance that died goes out again once this has passed."""
CONCURRENCY = 8


class Dispatcher:
    """Claim due rows, send each through the notifier, record how it went."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        hooks: Notifier | None = None,
        channels: Channels,
        planner: Planner,
        policy: RetryPolicy,
        clock: Clock,
        metrics: Metrics,
        leadership: Leadership,
        rng: random.Random,
        concurrency: int = CONCURRENCY,
        poll_every: timedelta = POLL_EVERY,
        lease: timedelta = LEASE,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._hooks = hooks or notifier
        self._channels = channels
        self._planner = planner
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._leadership = leadership
        self._rng = rng
        self._concurrency = concurrency
        self._poll_every = poll_every
        self._lease = lease
        self._in_flight: set[int] = set()
        self._tenure: int | None = None
        """The epoch whose predecessors' claims were released."""

    async def run(self) -> None:
        """Deliver pages until cancelled."""
        async with asyncio.TaskGroup() as group:
            while True:
                claimed = self._clock.monotonic()
                try:
                    pages = await self._claim()
                except StoreError as error:
                    # The database is away, or this instance lost the lead: nothing to
                    # send until that changes; the pages wait safely in the outbox.
                    log.debug("no pages claimed: %s", error)
                    pages = []
                for claimant, page in pages:
                    group.create_task(self._deliver(claimant, page, claimed))
                await self._clock.sleep(self._poll_every.total_seconds())

    async def deliver_due(self) -> int:
        """Claim what is due now, deliver it and wait for it all; return how many."""
        claimed = self._clock.monotonic()
        pages = await self._claim()
        await asyncio.gather(*(self._deliver(c, page, claimed) for c, page in pages))
        return len(pages)

    async def _claim(self) -> list[tuple[Lease, Page]]:
        lease = self._leadership.current()
        free = self._concurrency - len(self._in_flight)
        if lease is None or free <= 0:
            return []
        claimant = _claimant(lease)
        if self._tenure == lease.epoch:
            # Most polls find nothing due: a read says so in one trip to the database
            # instead of a fenced transaction's three. (A new tenure always goes on:
            # it must release the claims of the former leader first.)
            async with self._store.reading() as tx:
                if not await tx.outbox.any_due(self._clock.now()):
                    return []
        async with self._store.transaction() as tx:
            await tx.cluster.fence(lease.instance, lease.epoch)
            if self._tenure != lease.epoch:
                freed = await tx.outbox.release_claims(claimant)
                if freed:
                    log.warning("released %d page claim(s) of a former leader", freed)
            pages = await tx.outbox.claim(self._clock.now(), free, self._lease, claimant)
        self._tenure = lease.epoch
        self._in_flight.update(page.id for page in pages)
        return [(lease, page) for page in pages]

    async def _deliver(self, lease: Lease, page: Page, claimed: float) -> None:
        try:
            # A send must start well inside its claim and its lease: a stalled
            # instance (SIGSTOP, a long pause) must not send a row that a new leader
            # may have claimed again.
            current = self._leadership.current()
            if current is None or current.epoch != lease.epoch:
                log.warning("page %d: no longer the leader of its claim; not sent", page.id)
                return
            if self._clock.monotonic() - claimed > self._lease.total_seconds() / 2:
                log.warning("page %d: its claim is too old to send; left for a new claim", page.id)
                return
            delivery = await self._send(page)
            await self._record_patiently(lease, page, delivery, claimed)
        except Exception:
            # Its claim runs out and it is claimed again: a bug delays a page, never drops it.
            log.exception("delivering page %d failed unexpectedly; it will be retried", page.id)
            self._metrics.internal_errors.labels("dispatcher").inc()
        finally:
            self._in_flight.discard(page.id)

    async def _send(self, page: Page) -> Delivery:
        url = self._channels.url(page.row.target)
        if url is None:
            error = f"{page.row.target.describe()} is no longer in the configuration"
            return Delivery(False, error, permanent=True)
        sender = self._hooks if page.row.operator == WEBHOOK else self._notifier
        return await sender.send(url, page.row.title, page.row.body, dedup_key=page.row.key)

    async def _record_patiently(
        self, lease: Lease, page: Page, delivery: Delivery, claimed: float
    ) -> None:
        """Record the outcome, retrying while the database is away and the claim holds.

        Every failed recording after a successful send widens the window in which the
        page could be sent twice, so it is retried until half the claim has passed,
        or until the lease it was claimed under is lost (then the new leader sends it).
        """
        wait = 0.25
        while True:
            try:
                await self._record(lease, page, delivery)
                return
            except FencedError as error:
                log.warning("page %d: outcome not recorded, the lead was lost: %s", page.id, error)
                return
            except StoreError as error:
                if self._clock.monotonic() - claimed > self._lease.total_seconds() / 2:
                    raise
                log.warning("page %d: outcome not recorded yet (%s); retrying", page.id, error)
                await self._clock.sleep(wait)
                wait = min(wait * 2, 5.0)

    async def _record(self, lease: Lease, page: Page, delivery: Delivery) -> None:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            await tx.cluster.fence(lease.instance, lease.epoch)
            ticket_id = page.row.ticket_id
            ticket = None if ticket_id is None else await tx.tickets.get(ticket_id)
            decision = after_attempt(
                page,
                delivery,
                now=now,
                policy=self._policy,
                jitter=self._rng.random(),
                wanted=rules.still_wanted(page.row.kind, ticket),
            )
            stored = await tx.outbox.record(page.id, _claimant(lease), decision, now)
            if stored is None:
                log.warning("page %d: its claim was lost before the outcome was recorded", page.id)
                return
            first, fallbacks = await self._consequences(tx, page, decision, delivery, now)
        self._account(page, decision, now, first=first, fallbacks=fallbacks)

    async def _consequences(
        self, tx: Tx, page: Page, decision: DeliveryDecision, delivery: Delivery, now: datetime
    ) -> tuple[bool, int]:
        """Write the timeline line and the fallback copies an outcome calls for."""
        ticket_id, row = page.row.ticket_id, page.row
        first = False
        if ticket_id is not None and decision.state is PageState.SENT:
            first = row.kind.escalates and not await tx.outbox.sent_before(ticket_id, page.id)
            detail = f"{row.title} to {row.target.describe()}"
            await tx.tickets.add_event(ticket_id, TicketEvent(now, "paged", detail=detail))
        fallback = []
        if decision.gives_up:
            fallback = self._planner.fallback(
                replace(page, attempts=decision.attempts), delivery.error, now
            )
            await tx.outbox.add(fallback, now)
            if ticket_id is not None:
                detail = (
                    f"{row.title} to {row.target.describe()}: {decision.reason}: {decision.error}"
                )
                event = TicketEvent(now, "page undeliverable", detail=detail)
                await tx.tickets.add_event(ticket_id, event)
        return first, len(fallback)

    def _account(
        self, page: Page, decision: DeliveryDecision, now: datetime, *, first: bool, fallbacks: int
    ) -> None:
        where = f"{page.row.title!r} to {page.row.target.describe()}"
        counter = self._metrics.webhooks if page.row.operator == WEBHOOK else self._metrics.pages
        if decision.state is PageState.SENT:
            counter.labels("sent").inc()
            self._metrics.page_delivery.observe(_seconds(now - page.row.due_at))
            if first and page.onset_at is not None:
                self._metrics.detection.observe(_seconds(now - page.onset_at))
            log.info("page %d sent: %s (%s)", page.id, where, decision.reason)
            return
        counter.labels("failed").inc()
        if decision.gives_up:
            self._metrics.pages_undelivered.inc()
            log.error(
                "page %d undeliverable: %s: %s: %s; copied to %d fallback channel(s)",
                page.id,
                where,
                decision.reason,
                decision.error,
                fallbacks,
            )
        else:
            log.warning(
                "page %d failed: %s: %s: %s", page.id, where, decision.reason, decision.error
            )


def _claimant(lease: Lease) -> str:
    """Name the claims of one tenure: a new epoch is a new claimant."""
    return f"{lease.instance}/{lease.epoch}"


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())
