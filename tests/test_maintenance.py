"""Window rules, and windows found again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import SERVICE
from sitewatch.clock import FakeClock
from sitewatch.config.recurring import RecurringMaintenance
from sitewatch.model import (
    Classification,
    MaintenanceKind,
    Outage,
    ResultKind,
    State,
    TicketState,
    Verdict,
    Window,
    WindowChange,
)
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.windows import (
    Declaration,
    Rejection,
    cancel,
    change_end,
    config_rejection,
    declare,
)
from sitewatch.storage.sqlite import open_sqlite_store
from tests.api_harness import start_api

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def window(window_id: str, start: datetime, end: datetime, **fields: object) -> Window:
    values: dict[str, object] = {
        "id": window_id,
        "customer": "acme",
        "checks": (),
        "kind": MaintenanceKind.OTHER,
        "start": start,
        "end": end,
        "declared_at": start - DAY,
        "declared_by": "customer:acme",
    } | fields
    return Window(**values)  # type: ignore[arg-type]


def sundays(customer: str = "acme") -> RecurringSchedule:
    rule = RecurringMaintenance.model_validate(
        {"customer": customer, "kind": "other", "duration": "2h", "every": "sunday", "at": "02:00"}
    )
    return RecurringSchedule([rule])


def test_a_declaration_starting_in_the_slack_starts_now_and_is_a_planned_event() -> None:
    request = Declaration("acme", (), MaintenanceKind.OTHER, NOW - timedelta(seconds=45), NOW + DAY)
    declared = declare(request, by="customer:acme", now=NOW, customer_checks=[], maximum=DAY)
    assert isinstance(declared, Window)
    assert (declared.start, declared.declared_at) == (NOW, NOW)
    assert declared.is_planned_event


def test_a_recurring_window_refuses_every_change_through_the_api() -> None:
    [occurrence] = sundays().between(NOW + 2 * DAY, NOW + 3 * DAY)
    expected = Rejection(409, config_rejection(occurrence).message)  # type: ignore[union-attr]
    assert "comes from the config" in expected.message
    assert change_end(occurrence, occurrence.end, now=NOW, maximum=DAY) == expected
    assert cancel(occurrence, now=NOW) == expected
    declared = window("5", NOW + DAY, NOW + 2 * DAY)
    assert config_rejection(declared) is None


def test_a_recurring_occurrence_far_ahead_is_found_by_its_id() -> None:
    [far] = sundays().between(NOW + 30 * DAY, NOW + 37 * DAY)
    assert sundays().find(far.id) == far


async def test_a_restart_finds_the_long_ended_window_of_an_open_planned_outage(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    """sitewatch was stopped for days during a planned outage: on restart it overruns."""
    clock = FakeClock(NOW)
    store = await open_sqlite_store(tmp_path / "sitewatch.db")
    try:
        declared = window("", NOW - 4 * DAY, NOW - 3 * DAY)
        async with store.transaction() as tx:
            ended = await tx.windows.add(
                declared, WindowChange("", declared.declared_at, "customer:acme", "declared")
            )
            onset = NOW - 4 * DAY + timedelta(hours=1)
            outage = Outage(onset, ResultKind.CONNECT, Classification.PLANNED, window_id=ended.id)
            await tx.checks.save_verdicts({"portal": Verdict(State.MAINTENANCE, onset, outage)})
    finally:
        await store.close()

    api = await start_api(tmp_path, aiohttp_client, clock=clock)
    service = api.app[SERVICE]
    async with service.store.transaction() as tx:
        judged = await service.recorder.judge(tx, ["portal"], now=clock.now(), tick=True)
    assert [t.kind.value for r in judged.recorded for t in [r.transition]] == ["overran"]
    [ticket], _ = await service.tickets.page(None, 10)
    assert (ticket.classification, ticket.state) == (Classification.OVERRUN, TicketState.OPEN)
    async with service.store.reading() as tx:
        [record] = await tx.outages.overlapping(NOW - 5 * DAY, NOW)
    assert record.overrun_at == ended.end
