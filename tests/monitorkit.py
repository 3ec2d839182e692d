"""The monitor on a real SQLite store under a FakeClock, as the service wires it.

`MonitorRig.result` hands a result to the monitor; `commit` writes the queue as the
writer task would (the rig runs no background task: each test decides when).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sitewatch.clock import FakeClock
from sitewatch.cluster.leader import Leadership
from sitewatch.model import (
    CheckSpec,
    LocationStatus,
    Page,
    ProbeResult,
    ResultKind,
    Ticket,
    Verdict,
    Window,
    WindowChange,
)
from sitewatch.outages.board import CheckBoard
from sitewatch.outages.faults import FaultJudge
from sitewatch.outages.monitor import Monitor
from sitewatch.outages.proberfault import FaultPolicy
from sitewatch.outages.quorum import Quorum
from sitewatch.outages.recorder import OutageRecorder
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.ticker import Ticker
from sitewatch.paging.planner import Planner
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from tests.paging_support import planner
from tests.storekit import leader, pages

LOCATION = "default"


@dataclass
class MonitorRig:
    """One instance's monitor, board, fault judge and leader's ticker over one store."""

    clock: FakeClock
    store: SqliteStore
    checks: dict[str, CheckSpec]
    planner: Planner
    metrics: Metrics
    board: CheckBoard
    faults: FaultJudge
    recorder: OutageRecorder
    monitor: Monitor
    leadership: Leadership
    ticker: Ticker

    async def result(
        self, check: str, kind: ResultKind, *, after: float = 5, detail: str = ""
    ) -> bool:
        """Let `after` seconds pass, then hand the monitor one result; return its urgency."""
        await self.clock.advance(after)
        result = ProbeResult(check, self.clock.now(), timedelta(milliseconds=20), kind, detail)
        return await self.monitor.on_result(self.checks[check], result)

    async def results(self, check: str, *kinds: ResultKind) -> None:
        """Hand the monitor several results of one check, then commit them."""
        for kind in kinds:
            await self.result(check, kind)
        await self.commit()

    async def commit(self) -> None:
        """Commit what is queued, as the writer task does."""
        await self.monitor.flush()

    async def verdict(self, check: str) -> Verdict:
        """Return a check's committed verdict."""
        async with self.store.reading() as tx:
            return (await tx.checks.verdicts([check])).get(check, Verdict())

    async def status(self, check: str, location: str = LOCATION) -> LocationStatus:
        """Return a check's committed status at a location."""
        async with self.store.reading() as tx:
            found = await tx.checks.location_statuses([check])
        return found.get(check, {}).get(location, LocationStatus())

    async def tickets(self) -> list[Ticket]:
        """Return every ticket, newest first."""
        async with self.store.reading() as tx:
            return await tx.tickets.page(None, 100, None)

    async def pages(self) -> list[Page]:
        """Return every outbox row, oldest first."""
        return await pages(self.store)

    async def window(self, window: Window) -> Window:
        """Store a window as declared."""
        declared = WindowChange("", window.declared_at, window.declared_by, "declared")
        async with self.store.transaction() as tx:
            return await tx.windows.add(window, declared)


async def monitor_rig(
    directory: Path,
    checks: Sequence[CheckSpec],
    *,
    store: Store | None = None,
    clock: FakeClock | None = None,
    ratio: float = 0.8,
    min_checks: int = 5,
    grace: timedelta = timedelta(0),
    quorum: Quorum | None = None,
    location: str = LOCATION,
) -> MonitorRig:
    """Open a store in `directory` (or share `store`) and wire one instance over it."""
    clock = clock or FakeClock()
    store = store or await open_sqlite_store(directory / "sitewatch.db")
    assert isinstance(store, SqliteStore)
    specs = {spec.id: spec for spec in checks}
    paging, metrics = planner(), Metrics()
    board = CheckBoard(list(checks), metrics)
    faults = FaultJudge(
        specs,
        location=location,
        policy=FaultPolicy(ratio, min_checks),
        planner=paging,
        metrics=metrics,
    )
    recorder = OutageRecorder(
        specs,
        location=location,
        quorum=quorum or Quorum(),
        grace=grace,
        lease=timedelta(seconds=10),
        schedule=RecurringSchedule(()),
        planner=paging,
    )
    monitor = Monitor(
        list(checks),
        store=store,
        recorder=recorder,
        faults=faults,
        board=board,
        metrics=metrics,
        clock=clock,
        location=location,
    )
    leadership = await leader(store, clock)
    ticker = Ticker(
        store=store, recorder=recorder, leadership=leadership, clock=clock, report=monitor.report
    )
    await monitor.start()
    await faults.load(store)
    return MonitorRig(
        clock, store, specs, paging, metrics, board, faults, recorder, monitor, leadership, ticker
    )
