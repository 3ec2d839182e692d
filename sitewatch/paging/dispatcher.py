"""The dispatcher: delivers due pages from the outbox, retries them, falls back.

A loop in the app's TaskGroup, apart from probing. Every `poll_every` it claims due
pages (a lease, in one transaction) up to its free slots; each page is sent in its
own task and its outcome recorded in its own transaction, together with the
fallback copies of a page given up. Leases left by a crash are released at start,
so a page claimed but never recorded goes out again: at-least-once across a crash
in the instant between Apprise accepting a page and the commit that records it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.model import Delivery, DeliveryDecision, DeliveryRecord, Page, PageState
from sitewatch.paging.channels import Channels
from sitewatch.paging.notifier import Notifier
from sitewatch.paging.planner import Planner
from sitewatch.paging.retry import RetryPolicy, after_attempt
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(milliseconds=500)
LEASE = timedelta(minutes=2)
"""How long a claimed page stays reserved: longer than one send may take."""
CONCURRENCY = 8


class Dispatcher:
    """Claim due pages, send each through the notifier, record how it went."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        channels: Channels,
        planner: Planner,
        policy: RetryPolicy,
        clock: Clock,
        metrics: Metrics,
        rng: random.Random,
        concurrency: int = CONCURRENCY,
        poll_every: timedelta = POLL_EVERY,
        lease: timedelta = LEASE,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._channels = channels
        self._planner = planner
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._rng = rng
        self._concurrency = concurrency
        self._poll_every = poll_every
        self._lease = lease
        self._in_flight: set[int] = set()

    async def run(self) -> None:
        """Deliver pages until cancelled; a bug is logged and counted, never fatal."""
        released = await self._store.release_page_claims()
        if released:
            log.warning("%d page(s) were claimed but not recorded before a restart", released)
        async with asyncio.TaskGroup() as group:
            while True:
                try:
                    for page in await self._claim():
                        group.create_task(self._deliver(page))
                except Exception:
                    log.exception("claiming due pages failed; trying again shortly")
                    self._metrics.internal_errors.labels("dispatcher").inc()
                await self._clock.sleep(self._poll_every.total_seconds())

    async def deliver_due(self) -> int:
        """Claim what is due now, deliver it and wait for it all; return how many."""
        pages = await self._claim()
        await asyncio.gather(*(self._deliver(page) for page in pages))
        return len(pages)

    async def _claim(self) -> list[Page]:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return []
        pages = await self._store.claim_pages(self._clock.now(), free, self._lease)
        self._in_flight.update(page.id for page in pages)
        return pages

    async def _deliver(self, page: Page) -> None:
        try:
            delivery = await self._send(page)
            now = self._clock.now()
            decision = after_attempt(
                page, delivery, now=now, policy=self._policy, jitter=self._rng.random()
            )
            fallback = []
            if decision.gives_up:
                given_up = replace(page, attempts=decision.attempts)
                fallback = self._planner.fallback(given_up, delivery.error, now)
            record = await self._store.record_delivery(page.id, decision, fallback)
            self._account(page, decision, record, now, len(fallback))
        except Exception:
            # Its lease runs out and it is claimed again: a bug delays a page, never drops it.
            log.exception("delivering page %d failed unexpectedly; it will be retried", page.id)
            self._metrics.internal_errors.labels("dispatcher").inc()
        finally:
            self._in_flight.discard(page.id)

    async def _send(self, page: Page) -> Delivery:
        url = self._channels.url(page.row.target)
        if url is None:
            error = f"{page.row.target.describe()} is no longer in the configuration"
            return Delivery(False, error, permanent=True)
        return await self._notifier.send(url, page.row.title, page.row.body)

    def _account(
        self,
        page: Page,
        decision: DeliveryDecision,
        record: DeliveryRecord,
        now: datetime,
        fallbacks: int,
    ) -> None:
        where = f"{page.row.title!r} to {page.row.target.describe()}"
        if decision.state is PageState.SENT:
            self._metrics.pages.labels("sent").inc()
            self._metrics.page_delivery.observe(_seconds(now - page.row.due_at))
            if record.first_page_of_ticket and page.onset_at is not None:
                self._metrics.detection.observe(_seconds(now - page.onset_at))
            log.info("page %d sent: %s (%s)", page.id, where, decision.reason)
            return
        self._metrics.pages.labels("failed").inc()
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


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())
