"""The monitor: results in, committed transitions out, on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from sitewatch.clock import FakeClock
from sitewatch.model import (
    CheckStatus,
    Classification,
    MaintenanceKind,
    PagePlanner,
    ProbeResult,
    ResultKind,
    State,
    TicketState,
    Transition,
    Window,
)
from sitewatch.outages.monitor import Monitor
from sitewatch.outages.proberfault import ProberFaultGuard
from sitewatch.outages.windowbook import WindowBook
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import TransitionRecord
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from tests.builders import make_check

CHECK = make_check("portal")


class FlakyWrites:
    """Make the store's next `record_transitions` calls fail, like a full disk would."""

    def __init__(self, store: SqliteStore) -> None:
        self.failures_left = 0
        self._record = store.record_transitions

    async def record_transitions(
        self,
        check: str,
        customer: str,
        status: CheckStatus,
        transitions: Sequence[Transition],
        planner: PagePlanner | None = None,
    ) -> list[TransitionRecord]:
        if self.failures_left:
            self.failures_left -= 1
            raise OSError("disk full")
        return await self._record(check, customer, status, transitions, planner)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_sqlite_store(tmp_path / "sitewatch.db", FakeClock())
    yield store
    await store.close()


def build_monitor(
    store: SqliteStore, clock: FakeClock, windows: WindowBook | None = None
) -> Monitor:
    return Monitor(
        [CHECK],
        store=store,
        metrics=Metrics(),
        clock=clock,
        windows=windows or WindowBook(),
        maintenance_grace=timedelta(0),
        guard=ProberFaultGuard({CHECK.id}, ratio=0.8, min_checks=5),
    )


async def probe(monitor: Monitor, clock: FakeClock, kind: ResultKind) -> bool:
    await clock.advance(5)
    return await monitor.on_result(
        CHECK, ProbeResult(CHECK.id, clock.now(), timedelta(milliseconds=20), kind)
    )


async def test_a_confirmed_outage_opens_one_ticket_and_asks_for_quick_retries(
    store: SqliteStore,
) -> None:
    clock = FakeClock()
    monitor = build_monitor(store, clock)
    await monitor.start()
    assert await probe(monitor, clock, ResultKind.CONNECT) is True
    await probe(monitor, clock, ResultKind.CONNECT)
    await probe(monitor, clock, ResultKind.CONNECT)
    assert monitor.views()[0].status.state is State.DOWN
    tickets = await store.list_tickets()
    assert [(t.check, t.state, t.symptom) for t in tickets] == [
        ("portal", TicketState.OPEN, ResultKind.CONNECT)
    ]


async def test_a_failed_commit_keeps_the_old_status_so_the_ticket_is_opened_on_the_next_result(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    flaky = FlakyWrites(store)
    monkeypatch.setattr(store, "record_transitions", flaky.record_transitions)
    monitor = build_monitor(store, clock)
    await monitor.start()
    await probe(monitor, clock, ResultKind.CONNECT)
    flaky.failures_left = 1
    with pytest.raises(OSError, match="disk full"):
        await probe(monitor, clock, ResultKind.CONNECT)
    assert monitor.views()[0].status.state is State.UNKNOWN
    assert await store.list_tickets() == []
    await probe(monitor, clock, ResultKind.CONNECT)
    assert monitor.views()[0].status.state is State.DOWN
    assert len(await store.list_tickets()) == 1


async def test_a_restarted_monitor_resumes_the_outage_without_a_second_ticket(
    store: SqliteStore,
) -> None:
    clock = FakeClock()
    first = build_monitor(store, clock)
    await first.start()
    for _ in range(3):
        await probe(first, clock, ResultKind.HTTP_STATUS)
    await first.flush()
    second = build_monitor(store, clock)
    await second.start()
    assert second.views()[0].status.state is State.DOWN
    await probe(second, clock, ResultKind.HTTP_STATUS)
    await probe(second, clock, ResultKind.OK)
    await probe(second, clock, ResultKind.OK)
    tickets = await store.list_tickets()
    assert len(tickets) == 1
    assert tickets[0].recovered_at == clock.now()


async def test_the_tick_turns_a_planned_outage_into_an_overrun_when_its_window_ends(
    store: SqliteStore,
) -> None:
    clock = FakeClock()
    window = Window(
        id="1",
        customer="acme",
        checks=(),
        kind=MaintenanceKind.OS_UPGRADE,
        start=clock.now(),
        end=clock.now() + timedelta(minutes=1),
        declared_at=clock.now(),
        declared_by="customer:acme",
    )
    monitor = build_monitor(store, clock, WindowBook([window]))
    await monitor.start()
    await probe(monitor, clock, ResultKind.CONNECT)
    await probe(monitor, clock, ResultKind.CONNECT)
    assert monitor.views()[0].status.state is State.MAINTENANCE
    assert await store.list_tickets() == []

    await clock.advance(timedelta(minutes=1))
    await monitor.tick()

    assert monitor.views()[0].status.state is State.DOWN
    [ticket] = await store.list_tickets()
    assert ticket.classification is Classification.OVERRUN
