"""The monitor: results in, committed statuses, verdicts, tickets and pages out.

Each race the single-process design had is forced here with a barrier inside a
transaction (no sleeps): the later writer must see the earlier one's commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sitewatch.model import (
    MaintenanceKind,
    PageKind,
    Principal,
    ResultKind,
    Role,
    State,
    TicketState,
    Window,
)
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.windowdesk import WindowDesk
from sitewatch.storage.sqlite.checks import SqliteChecks
from sitewatch.storage.sqlite.outbox import SqliteOutbox
from sitewatch.storage.sqlite.windows import SqliteWindows
from tests.builders import make_check
from tests.monitorkit import MonitorRig, monitor_rig

CHECK = make_check("portal")
CONNECT, OK, HTTP = ResultKind.CONNECT, ResultKind.OK, ResultKind.HTTP_STATUS


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[MonitorRig]:
    rig = await monitor_rig(tmp_path, [CHECK])
    yield rig
    await rig.store.close()


def patched(
    monkeypatch: pytest.MonkeyPatch,
    repo: type,
    method: str,
    before: Callable[[], Awaitable[None]],
) -> None:
    """Run `before` inside the transaction each time `repo.method` is called."""
    original = getattr(repo, method)

    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        await before()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(repo, method, wrapper)


async def test_a_confirmed_outage_opens_one_ticket_and_asks_for_quick_retries(
    rig: MonitorRig,
) -> None:
    assert await rig.result("portal", CONNECT) is True
    await rig.results("portal", CONNECT, CONNECT)

    assert (await rig.verdict("portal")).state is State.DOWN
    assert (await rig.status("portal")).state is State.DOWN
    [ticket] = await rig.tickets()
    assert (ticket.check, ticket.state, ticket.symptom) == ("portal", TicketState.OPEN, CONNECT)
    [page] = await rig.pages()
    assert page.row.kind is PageKind.SITE_DOWN
    assert rig.board.view("portal").verdict.state is State.DOWN  # type: ignore[union-attr]


async def test_results_are_queued_until_committed_and_none_is_lost(rig: MonitorRig) -> None:
    await rig.result("portal", CONNECT)
    await rig.result("portal", CONNECT)

    assert rig.monitor.queued == 2
    assert (await rig.verdict("portal")).state is State.UNKNOWN, "nothing decided from memory"
    await rig.commit()
    assert rig.monitor.queued == 0
    assert (await rig.verdict("portal")).state is State.DOWN


async def test_a_restarted_monitor_resumes_the_outage_without_a_second_ticket(
    tmp_path: Path, rig: MonitorRig
) -> None:
    await rig.results("portal", HTTP, HTTP, HTTP)
    second = await monitor_rig(tmp_path, [CHECK], store=rig.store, clock=rig.clock)

    assert await second.result("portal", HTTP) is True, "resumed down: re-probe soon"
    await second.results("portal", OK, OK)

    [ticket] = await second.tickets()
    assert ticket.recovered_at == rig.clock.now()
    assert (await second.verdict("portal")).state is State.UP


async def test_the_tick_turns_a_planned_outage_into_an_overrun_when_its_window_ends(
    rig: MonitorRig,
) -> None:
    now = rig.clock.now()
    await rig.window(
        Window(
            "",
            "acme",
            (),
            MaintenanceKind.OS_UPGRADE,
            now,
            now + timedelta(minutes=1),
            now,
            "customer:acme",
        )
    )
    await rig.results("portal", CONNECT, CONNECT)
    assert (await rig.verdict("portal")).state is State.MAINTENANCE
    assert await rig.tickets() == []

    await rig.clock.advance(timedelta(minutes=1))
    await rig.ticker.tick()

    assert (await rig.verdict("portal")).state is State.DOWN
    [ticket] = await rig.tickets()
    assert ticket.classification.value == "overrun"


async def test_extending_a_window_while_the_tick_decides_opens_no_overrun(
    rig: MonitorRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = rig.clock.now()
    window = await rig.window(
        Window(
            "",
            "acme",
            (),
            MaintenanceKind.OS_UPGRADE,
            now,
            now + timedelta(minutes=1),
            now,
            "customer:acme",
        )
    )
    await rig.results("portal", CONNECT, CONNECT)
    desk = WindowDesk(
        store=rig.store,
        clock=rig.clock,
        schedule=RecurringSchedule(()),
        checks_of={"acme": ["portal"]},
        maximum=timedelta(hours=24),
        limit=200,
    )
    # The PATCH has written the new end and holds its transaction open at the
    # barrier when the window's old end passes and the tick runs.
    written, go_on = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        written.set()
        await go_on.wait()

    patched(monkeypatch, SqliteWindows, "save", hold)
    await rig.clock.advance(timedelta(seconds=40))  # 50 s into the 60 s window
    patching = asyncio.create_task(
        desk.change_end(Principal(Role.CUSTOMER, "acme"), window.id, now + timedelta(hours=1))
    )
    await asyncio.wait_for(written.wait(), 5)
    await rig.clock.advance(timedelta(seconds=15))  # past the old end
    ticking = asyncio.create_task(rig.ticker.tick())
    await asyncio.sleep(0.05)
    assert not ticking.done(), "the tick waits for the PATCH's transaction"
    go_on.set()
    changed = await patching
    await ticking

    assert isinstance(changed, Window) and changed.end == now + timedelta(hours=1)
    assert (await rig.verdict("portal")).state is State.MAINTENANCE
    assert await rig.tickets() == []


async def test_an_older_batch_never_overwrites_a_newer_committed_status(
    tmp_path: Path, rig: MonitorRig, caplog: pytest.LogCaptureFixture
) -> None:
    # Two monitors of one location over one store (a hand-over between instances):
    # the second commits the outage; the first still caches the check as unknown.
    other = await monitor_rig(tmp_path, [CHECK], store=rig.store, clock=rig.clock)
    await other.results("portal", CONNECT, CONNECT)
    assert (await rig.verdict("portal")).state is State.DOWN

    with caplog.at_level(logging.INFO):
        await rig.results("portal", CONNECT)

    # Its compare-and-set failed, and it decided again on the row read locked.
    assert "changed by another writer; deciding on fresh rows" in caplog.text

    status = await rig.status("portal")
    assert (status.state, status.failures) == (State.DOWN, 3)
    assert len(await rig.tickets()) == 1


async def test_a_batch_cancelled_mid_transaction_is_neither_lost_nor_doubled(
    rig: MonitorRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SIGTERM cancels the writer while its transaction is open.
    reached = asyncio.Event()

    async def stall() -> None:
        reached.set()
        await asyncio.Event().wait()

    await rig.result("portal", CONNECT)
    await rig.result("portal", CONNECT)
    with monkeypatch.context() as patch:
        patched(patch, SqliteChecks, "add_results", stall)
        flushing = asyncio.create_task(rig.commit())
        await reached.wait()
        flushing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flushing
    assert (await rig.verdict("portal")).state is State.UNKNOWN, "rolled back whole"
    assert rig.monitor.queued == 2, "and kept in the queue"

    await rig.commit()

    assert (await rig.status("portal")).failures == 2
    assert len(await rig.tickets()) == 1


async def test_a_prober_fault_whose_page_could_not_be_written_starts_with_its_page_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = [make_check(f"c{n}", customer=f"customer-{n % 2}") for n in range(5)]
    checks = [replace(c, steps=()) for c in checks]
    rig = await monitor_rig(tmp_path, checks)
    failures = 1

    async def full_disk() -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise OSError("disk full")

    for check in checks:
        await rig.result(check.id, CONNECT)
    with monkeypatch.context() as patch:
        patched(patch, SqliteOutbox, "add", full_disk)
        with pytest.raises(OSError, match="disk full"):
            await rig.commit()
    assert not rig.faults.active, "memory follows only what was committed"

    await rig.commit()

    assert rig.faults.active
    kinds = [page.row.kind for page in await rig.pages()]
    assert kinds == [PageKind.PROBER_FAULT]
    await rig.store.close()


async def test_an_error_while_committing_results_is_logged_counted_and_retried(
    rig: MonitorRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    left = 2

    async def broken() -> None:
        nonlocal left
        if left:
            left -= 1
            raise KeyError("a bug in result handling")

    patched(monkeypatch, SqliteChecks, "save_locations", broken)
    writer = asyncio.create_task(rig.monitor.run())
    try:
        with caplog.at_level(logging.ERROR):
            await rig.result("portal", CONNECT)
            await rig.result("portal", CONNECT)
            for _ in range(20):
                if (await rig.verdict("portal")).state is State.DOWN:
                    break
                await rig.clock.advance(1)
                await asyncio.sleep(0.01)
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer

    assert (await rig.verdict("portal")).state is State.DOWN
    assert (
        rig.metrics.registry.get_sample_value(
            "sitewatch_internal_errors_total", {"loop": "results"}
        )
        == 2
    )
    assert "committing results failed unexpectedly" in caplog.text
    assert "KeyError" in caplog.text
