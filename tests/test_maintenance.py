"""Window rules and the window book: what may change, and what the book keeps in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import MONITOR, STORE, WINDOWS
from sitewatch.clock import FakeClock
from sitewatch.config.recurring import RecurringMaintenance
from sitewatch.model import (
    CheckStatus,
    Classification,
    MaintenanceKind,
    Outage,
    ResultKind,
    State,
    TicketState,
    Window,
)
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.windowbook import WindowBook
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


def test_refresh_forgets_windows_that_ended_before_since_unless_kept() -> None:
    book = WindowBook(
        [
            window("1", NOW - 3 * DAY, NOW - 2 * DAY),
            window("2", NOW - 3 * DAY, NOW - 2 * DAY),
            window("3", NOW - 2 * DAY, NOW - timedelta(hours=2)),
            window("4", NOW + DAY, NOW + 2 * DAY, cancelled_at=NOW - 3 * DAY),
            window("5", NOW - 5 * DAY, NOW - 4 * DAY, cancelled_at=NOW - 6 * DAY),
        ]
    )
    forgotten = book.refresh(NOW, since=NOW - DAY, keep={"2"})
    assert forgotten == 2
    assert sorted(w.id for w in book.of_customer("acme")) == ["2", "3", "4"]


def test_refresh_keeps_windows_an_old_failure_streak_may_still_fall_in() -> None:
    book = WindowBook([window("1", NOW - 3 * DAY, NOW - 2 * DAY)])
    book.refresh(NOW, since=NOW - 4 * DAY, keep=set())
    assert book.get("1") is not None


def test_refresh_adds_the_recurring_occurrences_of_the_next_two_days_once() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    book = WindowBook(schedule=sundays())
    book.refresh(saturday, since=saturday - DAY, keep=set())
    book.refresh(saturday + timedelta(hours=1), since=saturday - DAY, keep=set())
    assert [w.start for w in book.recurring()] == [datetime(2026, 11, 29, 2, 0, tzinfo=UTC)]
    assert book.recurring("globex") == []
    [occurrence] = book.recurring("acme")
    assert book.covering("portal", "acme") == [occurrence]


def test_a_recurring_occurrence_beyond_the_book_is_still_found_by_id() -> None:
    book = WindowBook(schedule=sundays())
    [far] = sundays().between(NOW + 30 * DAY, NOW + 37 * DAY)
    assert book.get(far.id) is None
    assert book.find(far.id) == far


def test_the_book_never_offers_a_cancelled_window_to_the_rules() -> None:
    book = WindowBook([window("1", NOW, NOW + DAY, cancelled_at=NOW - DAY)])
    assert book.covering("portal", "acme") == []
    assert [w.id for w in book.of_customer("acme")] == ["1"]


async def test_a_restart_brings_back_the_long_ended_window_of_an_open_planned_outage(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    """sitewatch was stopped for days during a planned outage: on restart it overruns."""
    clock = FakeClock(NOW)
    store = await open_sqlite_store(tmp_path / "sitewatch.db", clock)
    try:
        ended = await store.add_window(window("", NOW - 4 * DAY, NOW - 3 * DAY))
        onset = NOW - 4 * DAY + timedelta(hours=1)
        outage = Outage(onset, ResultKind.CONNECT, Classification.PLANNED, window_id=ended.id)
        status = CheckStatus(State.MAINTENANCE, since=onset, failures=9, outage=outage)
        await store.save_progress({"portal": status}, [])
    finally:
        await store.close()

    api = await start_api(tmp_path, aiohttp_client, clock=clock)
    assert api.app[WINDOWS].get(ended.id) == ended
    await api.app[MONITOR].tick()
    [ticket] = await api.app[STORE].list_tickets()
    assert (ticket.classification, ticket.state) == (Classification.OVERRUN, TicketState.OPEN)
    [record] = await api.app[STORE].list_outages(NOW - 5 * DAY, NOW)
    assert record.overrun_at == ended.end
