"""Prober fault pages: the monitor's guard pages the first level once, and once when it clears."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from sitewatch.clock import FakeClock
from sitewatch.model import PageKind, ProbeResult, ResultKind
from sitewatch.outages.monitor import Monitor
from sitewatch.outages.proberfault import ProberFaultGuard
from sitewatch.outages.windowbook import WindowBook
from sitewatch.paging.faults import FaultPager
from sitewatch.stats.metrics import Metrics
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from tests.builders import make_check
from tests.paging_support import T0, planner

BASE = make_check("check-0")
CHECKS = [replace(BASE, id=f"check-{n}") for n in range(5)]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_sqlite_store(tmp_path / "sitewatch.db", FakeClock(T0))
    yield store
    await store.close()


async def test_a_prober_fault_pages_level_0_once_and_says_when_it_clears(
    store: SqliteStore,
) -> None:
    clock = FakeClock(T0)
    paging = planner()
    faults = FaultPager(store=store, planner=paging, clock=clock)
    monitor = Monitor(
        CHECKS,
        store=store,
        metrics=Metrics(),
        clock=clock,
        windows=WindowBook(),
        maintenance_grace=timedelta(0),
        guard=ProberFaultGuard({c.id for c in CHECKS}, ratio=0.8, min_checks=5),
        planner=paging,
        on_fault=faults.on_change,
    )
    await monitor.start()

    async def results(kind: ResultKind) -> None:
        for check in CHECKS:
            await clock.advance(1)
            result = ProbeResult(check.id, clock.now(), timedelta(milliseconds=5), kind)
            await monitor.on_result(check, result)

    for _ in range(3):
        await results(ResultKind.CONNECT)
    await results(ResultKind.OK)

    pages = await store.list_pages()
    assert [(p.row.kind, p.row.operator, p.row.title) for p in pages] == [
        (PageKind.PROBER_FAULT, "alice", "PROBER FAULT"),
        (PageKind.PROBER_OK, "alice", "PROBER OK"),
    ]
    assert pages[0].row.subject == pages[1].row.subject == "prober-fault/2026-11-26T10:00:04Z"
    assert pages[0].row.body.startswith("4 of 5 checks failing with network-level kinds")
    assert await store.list_tickets() == []
