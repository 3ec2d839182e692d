"""Retention: the leader prunes everything that grows, in batches, never an open ticket.

The store's pruning verbs are in the contract suite; this drives the `Retention`
service itself on both backends with a fake clock: what goes, what stays, that a
backlog larger than one batch drains, and that only the leader prunes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sitewatch.clock import FakeClock
from sitewatch.cluster import retention
from sitewatch.cluster.leader import Leadership
from sitewatch.cluster.retention import Retention
from sitewatch.model import PageKind, TransitionKind
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, open_store, parse_database_url
from tests.store_contract.records import (
    declared,
    draft,
    outage,
    page,
    resolved,
    result,
    sent,
    transition,
    window,
)
from tests.storekit import leader

NOW = datetime.fromisoformat("2028-01-01T00:00:00+00:00")
DAY = timedelta(days=1)
RESULTS, HISTORY = 7 * DAY, 400 * DAY
OLD = NOW - 500 * DAY
"""Older than `HISTORY`."""


@pytest.fixture
async def store(tmp_path: Path, database: str) -> AsyncIterator[Store]:
    opened = await open_store(parse_database_url(database, tmp_path))
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_leader_prunes_old_history_and_keeps_what_is_young_or_open(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # a backlog of several batches drains
    clock = FakeClock(NOW)
    ids = await _history(store)
    pruner = Retention(
        store=store,
        clock=clock,
        leadership=await leader(store, clock),
        results=RESULTS,
        history=HISTORY,
    )

    pruned = await pruner.prune()

    assert pruned["results"] == 5 and pruned["tickets"] == 3 and pruned["windows"] == 3
    assert pruned["outages"] >= 1 and pruned["pages"] == 1
    async with store.reading() as tx:
        assert await tx.tickets.get(ids["open"]) is not None, "an open ticket is never pruned"
        assert await tx.outbox.rows(ids["open"]) != []
        assert await tx.tickets.get(ids["young"]) is not None
        for gone in ids["resolved"]:
            assert await tx.tickets.get(gone) is None
            assert await tx.outbox.rows(gone) == []
        assert await tx.windows.get(ids["window"]) is not None
        assert [o.check for o in await tx.outages.overlapping(OLD - DAY, NOW)] == ["kept"]
        assert sorted(await tx.checks.first_results()) == ["portal"]
        left = await tx.outbox.rows()
        assert all(p.row.kind is not PageKind.PROBER_FAULT for p in left)
    assert await pruner.prune() == dict.fromkeys(pruned, 0), "nothing left to prune"


async def test_an_instance_that_does_not_lead_prunes_nothing(store: Store) -> None:
    clock = FakeClock(NOW)
    await _history(store)
    follower = Leadership(
        store=store,
        clock=clock,
        instance="not-the-leader",
        location="default",
        lease=timedelta(seconds=10),
        metrics=Metrics(),
    )
    pruner = Retention(
        store=store, clock=clock, leadership=follower, results=RESULTS, history=HISTORY
    )
    assert set((await pruner.prune()).values()) == {0}
    async with store.reading() as tx:
        assert len(await tx.tickets.overlapping(OLD - DAY, NOW)) == 5


async def _history(store: Store) -> dict[str, object]:
    """Write history of every kind: some past retention, some not."""
    async with store.transaction() as tx:
        old_results = [result("gone", OLD + n * DAY) for n in range(5)]
        await tx.checks.add_results("default", [*old_results, result("portal", NOW - DAY)])

        tickets = [await tx.tickets.open(draft(onset=OLD + n * DAY)) for n in range(5)]
        done = [ticket for ticket, _ in tickets[:3]]
        for ticket in done:
            await tx.tickets.save(ticket, resolved(ticket, ticket.opened_at + DAY))
        still_open = tickets[3][0]
        young = tickets[4][0]
        await tx.tickets.save(young, resolved(young, NOW - DAY))
        await tx.outbox.add([page(t.id) for t in (*done, still_open)], OLD)

        for n in range(3):
            await tx.windows.add(window(start=OLD + n * DAY), declared(window()))
        kept = await tx.windows.add(window(start=NOW + DAY), declared(window()))

        planned = outage(OLD)
        await tx.outages.record("ended", "acme", transition(TransitionKind.STARTED, OLD, planned))
        ended = transition(TransitionKind.ENDED, OLD + DAY, planned)
        await tx.outages.record("ended", "acme", ended)
        recent = outage(NOW - DAY)
        await tx.outages.record("kept", "acme", transition(TransitionKind.STARTED, NOW, recent))

        fault = page(None, PageKind.PROBER_FAULT, due=OLD, subject="prober-fault/old")
        await tx.outbox.add([fault], OLD)
    async with store.transaction() as tx:
        for claimed in await tx.outbox.claim(OLD, 10, timedelta(minutes=1), "i1"):
            if claimed.row.kind is PageKind.PROBER_FAULT:
                await tx.outbox.record(claimed.id, "i1", sent(OLD), OLD)
    return {
        "open": still_open.id,
        "young": young.id,
        "resolved": [t.id for t in done],
        "window": kept.id,
    }
