"""Escalation: which page rounds are due when, as a table; then the escalator over a store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitewatch.clock import FakeClock
from sitewatch.model import (
    CheckStatus,
    Classification,
    EscalationCandidate,
    Outage,
    PageKind,
    ResultKind,
    Rotation,
    Schedule,
    State,
    TicketState,
    Transition,
    TransitionKind,
)
from sitewatch.paging.escalation import Level, due_rounds
from sitewatch.paging.escalator import Escalator
from sitewatch.stats.metrics import Metrics
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from tests.paging_support import T0, at, planner, poll, running, ticket

LEVELS = (
    Level(timedelta(0), ("alice",)),
    Level(timedelta(minutes=10), ("bob",)),
    Level(timedelta(minutes=30), ("carol",)),
)
EVERY_5M = timedelta(minutes=5)


def rounds(
    minutes: float,
    *,
    state: TicketState = TicketState.OPEN,
    recovered: float | None = None,
    repeat_every: timedelta = EVERY_5M,
    levels: tuple[Level, ...] = LEVELS,
) -> list[tuple[int, int, float]]:
    """Return the due (level, round, due minute) at `minutes` after a ticket opened at T0."""
    decision = due_rounds(
        opened_at=T0,
        state=state,
        recovered_at=None if recovered is None else at(recovered),
        levels=levels,
        repeat_every=repeat_every,
        now=at(minutes),
    )
    assert decision.reason
    assert all(r.reason for r in decision.rounds)
    return [(r.level, r.round, (r.due_at - T0) / timedelta(minutes=1)) for r in decision.rounds]


@pytest.mark.parametrize(
    ("minutes", "options", "expected"),
    [
        pytest.param(0, {}, [(0, 0, 0)], id="a new ticket pages level 0 at once"),
        pytest.param(4.9, {}, [(0, 0, 0)], id="before the first repeat only the first round"),
        pytest.param(5, {}, [(0, 0, 0), (0, 1, 5)], id="repeat_every re-pages level 0"),
        pytest.param(9.9, {}, [(0, 0, 0), (0, 1, 5)], id="one repeat before level 1"),
        pytest.param(
            10, {}, [(0, 0, 0), (1, 0, 10)], id="reaching level 1 pages it and stops level 0"
        ),
        pytest.param(
            15, {}, [(0, 0, 0), (1, 0, 10), (1, 1, 15)], id="repeats count from reaching a level"
        ),
        pytest.param(
            29,
            {},
            [(0, 0, 0), (1, 0, 10), (1, 3, 25)],
            id="only the latest repeat is due, not the missed ones",
        ),
        pytest.param(
            31,
            {},
            [(0, 0, 0), (1, 0, 10), (2, 0, 30)],
            id="after the last level every level was reached once",
        ),
        pytest.param(
            61, {}, [(0, 0, 0), (1, 0, 10), (2, 0, 30), (2, 6, 60)], id="the last level repeats"
        ),
        pytest.param(
            61,
            {"repeat_every": timedelta(0)},
            [(0, 0, 0), (1, 0, 10), (2, 0, 30)],
            id="repeat_every 0s never repeats",
        ),
        pytest.param(
            4,
            {"levels": (Level(timedelta(minutes=5), ("alice",)),)},
            [],
            id="a first level with a delay pages nobody before it",
        ),
        pytest.param(
            40, {"state": TicketState.ACKNOWLEDGED}, [], id="acknowledged: nothing is due"
        ),
        pytest.param(40, {"state": TicketState.RESOLVED}, [], id="resolved: nothing is due"),
        pytest.param(40, {"recovered": 3}, [], id="the site recovered: nothing is due"),
        pytest.param(40, {"levels": ()}, [], id="no levels: nothing is due"),
    ],
)
def test_due_rounds(minutes: float, options: dict[str, object], expected: list[object]) -> None:
    assert rounds(minutes, **options) == expected  # type: ignore[arg-type]


def test_the_reason_says_why_nothing_is_due() -> None:
    def reason(**options: object) -> str:
        return due_rounds(
            opened_at=T0,
            levels=LEVELS,
            repeat_every=EVERY_5M,
            now=at(12),
            **{"state": TicketState.OPEN, "recovered_at": None, **options},  # type: ignore[arg-type]
        ).reason

    assert reason(state=TicketState.ACKNOWLEDGED) == "acknowledged: escalation stopped"
    assert reason(recovered_at=at(3)) == "the site recovered at 2026-11-26T10:03:00+00:00"
    assert reason() == "2 of 3 levels reached"


# --- the planner's view of escalation ----------------------------------------------


def test_the_first_round_is_site_down_and_later_ones_are_still_down() -> None:
    plan = planner().escalation(EscalationCandidate(ticket(), frozenset()), at(15))

    assert [(r.kind, r.operator, r.level, r.round, r.due_at) for r in plan.rows] == [
        (PageKind.SITE_DOWN, "alice", 0, 0, at(0)),
        (PageKind.STILL_DOWN, "bob", 1, 0, at(10)),
        (PageKind.STILL_DOWN, "bob", 1, 1, at(15)),
    ]


def test_rounds_already_planned_are_not_planned_again() -> None:
    planned = frozenset({(0, 0), (1, 0)})

    plan = planner().escalation(EscalationCandidate(ticket(), planned), at(15))

    assert [(r.level, r.round) for r in plan.rows] == [(1, 1)]


def test_a_level_naming_a_schedule_pages_whoever_is_on_call_when_it_is_planned() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    rotation = Rotation(
        operators=("alice", "bob"),
        shift=timedelta(days=1),
        handoff=time(9, 0),
        start=date(2026, 11, 26),
        timezone=berlin,
    )
    levels = (Level(timedelta(0), ("primary",)),)
    on_call = planner(levels=levels, schedules=[Schedule("primary", berlin, rotation)])

    today = on_call.opening(ticket(), at(0))
    tomorrow = on_call.opening(ticket(), at(24 * 60))

    assert [row.operator for row in today] == ["alice"]
    # Planned a day late, the first round and the latest repeat both go to bob.
    assert {row.operator for row in tomorrow} == {"bob"}


def test_a_level_that_reaches_nobody_goes_to_the_fallback_and_is_reported() -> None:
    levels = (Level(timedelta(0), ("alice",)), Level(timedelta(minutes=10), ("nobody-team",)))
    fallback_planner = planner(levels=levels, fallback=["json://127.0.0.1:9/fallback"])

    plan = fallback_planner.escalation(EscalationCandidate(ticket(), frozenset({(0, 0)})), at(10))

    assert [(r.operator, r.url_index, r.level) for r in plan.rows] == [("", 0, 1)]
    assert "Acknowledge:" not in plan.rows[0].body
    [miss] = plan.unreached
    assert (miss.level, miss.reached_anyone) == (1, False)
    assert [(name.target, name.reason.value) for name in miss.names] == [
        ("nobody-team", "unknown-target")
    ]


# --- the escalator over a real store -------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_sqlite_store(tmp_path / "sitewatch.db", FakeClock(T0))
    yield store
    await store.close()


async def open_ticket(store: SqliteStore, clock: FakeClock) -> str:
    onset = clock.now() - timedelta(seconds=10)
    outage = Outage(onset, ResultKind.CONNECT, Classification.EMERGENCY, "step 1: refused")
    status = CheckStatus(state=State.DOWN, since=onset, outage=outage)
    started = Transition(TransitionKind.STARTED, clock.now(), outage, "2 failures")
    record = await store.record_transition("acme-portal", "acme", status, started, planner())
    assert record.ticket is not None
    return record.ticket.id


async def test_the_escalator_pages_each_level_when_it_is_reached_until_acknowledged(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    store = await open_sqlite_store(tmp_path / "sw.db", clock)
    try:
        escalator = Escalator(store=store, planner=planner(), clock=clock, metrics=Metrics())
        ticket_id = await open_ticket(store, clock)

        async def pages() -> list[tuple[PageKind, str, int, int]]:
            return [
                (p.row.kind, p.row.operator, p.row.level, p.row.round)
                for p in await store.list_pages(ticket_id)
            ]

        assert await pages() == [(PageKind.SITE_DOWN, "alice", 0, 0)]
        for _ in range(3):
            assert await escalator.tick() == 0  # nothing new yet, however often it runs
        await clock.advance(timedelta(minutes=5))
        assert await escalator.tick() == 1
        await clock.advance(timedelta(minutes=5))
        assert await escalator.tick() == 1
        assert await pages() == [
            (PageKind.SITE_DOWN, "alice", 0, 0),
            (PageKind.STILL_DOWN, "alice", 0, 1),
            (PageKind.STILL_DOWN, "bob", 1, 0),
        ]

        await store.acknowledge_ticket(ticket_id, "bob", "", clock.now())
        await clock.advance(timedelta(hours=1))
        assert await escalator.tick() == 0
        assert len(await pages()) == 3
    finally:
        await store.close()


async def test_the_escalator_runs_under_the_clock_and_stops_when_the_site_recovers(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    store = await open_sqlite_store(tmp_path / "sw.db", clock)
    try:
        escalator = Escalator(store=store, planner=planner(), clock=clock, metrics=Metrics())
        ticket_id = await open_ticket(store, clock)

        async def count() -> int:
            return len(await store.list_pages(ticket_id))

        async with running(escalator.run()):
            await clock.advance(timedelta(minutes=5))
            await poll(lambda: _equals(count(), 2), "the first repeat", clock=clock)
            [candidate] = await store.escalation_candidates()
            outage = Outage(candidate.ticket.onset_at, ResultKind.CONNECT, Classification.EMERGENCY)
            ended = Transition(TransitionKind.ENDED, clock.now(), outage, "2 successes")
            await store.record_transition("acme-portal", "acme", CheckStatus(), ended, planner())
            await clock.advance(timedelta(minutes=30))
            for _ in range(3):
                await clock.advance(timedelta(seconds=1))
        kinds = [p.row.kind for p in await store.list_pages(ticket_id)]
        assert kinds == [PageKind.SITE_DOWN, PageKind.STILL_DOWN, PageKind.RECOVERED]
        assert await store.escalation_candidates() == []
    finally:
        await store.close()


async def test_escalation_pages_are_not_added_once_the_ticket_was_acknowledged(
    store: SqliteStore,
) -> None:
    clock = FakeClock(T0)
    ticket_id = await open_ticket(store, clock)
    [candidate] = await store.escalation_candidates()
    plan = planner().escalation(candidate, at(10))
    await store.acknowledge_ticket(ticket_id, "alice", "", at(9))

    assert plan.rows
    assert await store.add_escalation_pages(ticket_id, plan.rows) == 0
    assert len(await store.list_pages(ticket_id)) == 1


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
