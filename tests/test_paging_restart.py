"""Restarts: pending pages are resumed from the outbox and each is delivered exactly once."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sitewatch.clock import FakeClock
from sitewatch.model import PageState
from sitewatch.paging.channels import Channels
from sitewatch.paging.dispatcher import Dispatcher
from sitewatch.paging.notifier import AppriseNotifier
from sitewatch.paging.planner import Planner
from sitewatch.paging.retry import RetryPolicy
from sitewatch.stats.metrics import Metrics
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from tests.paging_support import T0, Webhook, planner, poll, running
from tests.storekit import leader, open_ticket, pages


class Service:
    """The paging half of sitewatch on one database file: a store and a dispatcher."""

    def __init__(self, path: Path, clock: FakeClock, webhook: Webhook) -> None:
        self.path, self.clock = path, clock
        self.operators = {"alice": [webhook.url("alice")], "bob": [webhook.url("bob")]}
        self.planner: Planner = planner(operators=self.operators)
        self.notifier = AppriseNotifier(())

    async def open(self) -> SqliteStore:
        self.store = await open_sqlite_store(self.path)
        return self.store

    async def dispatcher(self) -> Dispatcher:
        return Dispatcher(
            store=self.store,
            notifier=self.notifier,
            channels=Channels(self.operators, ()),
            planner=self.planner,
            policy=RetryPolicy(8, timedelta(seconds=10), timedelta(minutes=10)),
            clock=self.clock,
            metrics=Metrics(),
            leadership=await leader(self.store, self.clock),
            rng=random.Random(3),
        )

    async def open_ticket(self, check: str) -> None:
        await open_ticket(self.store, self.planner, self.clock.now(), check=check)

    async def close(self) -> None:
        self.notifier.close()
        await self.store.close()


def titles(webhook: Webhook) -> Counter[tuple[str, str]]:
    return Counter((page["title"], page["path"]) for page in webhook.delivered)


async def test_pages_pending_at_a_restart_are_each_delivered_exactly_once(
    tmp_path: Path, webhook: Webhook
) -> None:
    clock = FakeClock(T0)
    before = Service(tmp_path / "sw.db", clock, webhook)
    store = await before.open()
    for check in ("portal", "shop", "api"):
        await before.open_ticket(check)
    webhook.answers = [500, 500, 500]
    async with running((await before.dispatcher()).run()):
        await webhook.wait_for(3, delivered=False)
        await poll(lambda: _all_attempted(store), "the failures to be recorded")
    await before.close()

    after = Service(tmp_path / "sw.db", clock, webhook)
    await after.open()
    try:
        async with running((await after.dispatcher()).run()):
            await poll(
                lambda: len(webhook.delivered) == 3, "the pages after the restart", clock=clock
            )
            for _ in range(5):
                await clock.advance(timedelta(minutes=10))
        outbox = await pages(after.store)
    finally:
        await after.close()

    assert titles(webhook) == {
        ("SITE DOWN portal acme", "/alice"): 1,
        ("SITE DOWN shop acme", "/alice"): 1,
        ("SITE DOWN api acme", "/alice"): 1,
    }
    assert [(p.state, p.attempts) for p in outbox] == [(PageState.SENT, 2)] * 3


async def test_a_page_claimed_but_not_recorded_before_a_crash_goes_out_under_the_next_leader(
    tmp_path: Path, webhook: Webhook
) -> None:
    clock = FakeClock(T0)
    before = Service(tmp_path / "sw.db", clock, webhook)
    store = await before.open()
    await before.open_ticket("portal")
    # The crash: claimed for two minutes by a leader that then died, never recorded.
    async with store.transaction() as tx:
        [claimed] = await tx.outbox.claim(clock.now(), 10, timedelta(minutes=2), "dead/1")
    await before.close()

    after = Service(tmp_path / "sw.db", clock, webhook)
    await after.open()
    try:
        async with running((await after.dispatcher()).run()):
            # Only a leader claims, fenced: a former leader's claim can never be
            # recorded, so the next tenure releases it rather than wait two minutes.
            await poll(lambda: webhook.delivered, "the page, its old claim released", clock=clock)
            assert clock.now() - T0 < timedelta(seconds=30)
            for _ in range(5):
                await clock.advance(timedelta(minutes=15))
        [page] = await pages(after.store)
    finally:
        await after.close()

    assert page.id == claimed.id
    assert (page.state, page.attempts) == (PageState.SENT, 1)
    assert titles(webhook) == {("SITE DOWN portal acme", "/alice"): 1}


async def _all_attempted(store: SqliteStore) -> bool:
    outbox = await pages(store)
    return len(outbox) == 3 and all(p.attempts == 1 for p in outbox)
