"""Escalation: which page rounds are due when, as a table; then the escalator over a store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitewatch.clock import FakeClock
from sitewatch.model import (
    PageKind,
    PageState,
    Rotation,
    Schedule,
    TicketState,
    Transition,
    TransitionKind,
)
from sitewatch.paging.escalation import Level, due_rounds
from sitewatch.paging.escalator import Escalator
from sitewatch.stats.metrics import Metrics
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from sitewatch.tickets.desk import TicketDesk
from tests.paging_support import T0, at, planner, poll, running, ticket
from tests.storekit import emergency, leader, open_ticket, pages, record

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
    plan = planner().escalation(ticket(), frozenset(), at(15))

    assert [(r.kind, r.operator, r.level, r.round, r.due_at) for r in plan.rows] == [
        (PageKind.SITE_DOWN, "alice", 0, 0, at(0)),
        (PageKind.STILL_DOWN, "bob", 1, 0, at(10)),
        (PageKind.STILL_DOWN, "bob", 1, 1, at(15)),
    ]


def test_rounds_already_planned_are_not_planned_again() -> None:
    planned = frozenset({(0, 0), (1, 0)})

    plan = planner().escalation(ticket(), planned, at(15))

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

    today = on_call.escalation(ticket(), (), at(0)).rows
    tomorrow = on_call.escalation(ticket(), (), at(24 * 60)).rows

    assert [row.operator for row in today] == ["alice"]
    # Planned a day late, the first round and the latest repeat both go to bob.
    assert {row.operator for row in tomorrow} == {"bob"}


def test_a_level_that_reaches_nobody_goes_to_the_fallback_and_is_reported() -> None:
    levels = (Level(timedelta(0), ("alice",)), Level(timedelta(minutes=10), ("nobody-team",)))
    fallback_planner = planner(levels=levels, fallback=["json://127.0.0.1:9/fallback"])

    plan = fallback_planner.escalation(ticket(), frozenset({(0, 0)}), at(10))

    assert [(r.operator, r.url_index, r.level) for r in plan.rows] == [("", 0, 1)]
    assert "Acknowledge:" not in plan.rows[0].body
    [miss] = plan.unreached
    assert (miss.level, miss.reached_anyone) == (1, False)
    assert [(name.target, name.reason.value) for name in miss.names] == [
        ("nobody-team", "unknown-target")
    ]


# --- the escalator over a real store -------------------------------------------------


@dataclass
class Rig:
    """A store, its leader's escalator and ticket desk, on one fake clock."""

    clock: FakeClock
    store: SqliteStore
    escalator: Escalator
    desk: TicketDesk

    async def pages(self, ticket_id: str) -> list[tuple[PageKind, str, int, int, PageState]]:
        return [
            (p.row.kind, p.row.operator, p.row.level, p.row.round, p.state)
            for p in await pages(self.store, ticket_id)
        ]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = FakeClock(T0)
    store = await open_sqlite_store(tmp_path / "sitewatch.db")
    leadership = await leader(store, clock)
    metrics = Metrics()
    escalator = Escalator(
        store=store, planner=planner(), clock=clock, metrics=metrics, leadership=leadership
    )
    desk = TicketDesk(store=store, planner=planner(), clock=clock, metrics=metrics)
    yield Rig(clock, store, escalator, desk)
    await store.close()


async def test_the_escalator_pages_each_level_when_it_is_reached_until_acknowledged(
    rig: Rig,
) -> None:
    ticket = await open_ticket(rig.store, planner(), rig.clock.now())

    assert await rig.pages(ticket.id) == [(SITE_DOWN, "alice", 0, 0, PENDING)]
    for _ in range(3):
        assert await rig.escalator.tick() == 0  # nothing new yet, however often it runs
    await rig.clock.advance(timedelta(minutes=5))
    assert await rig.escalator.tick() == 1
    await rig.clock.advance(timedelta(minutes=5))
    assert await rig.escalator.tick() == 1
    assert await rig.pages(ticket.id) == [
        (SITE_DOWN, "alice", 0, 0, PENDING),
        (STILL_DOWN, "alice", 0, 1, PENDING),
        (STILL_DOWN, "bob", 1, 0, PENDING),
    ]

    await rig.desk.acknowledge(ticket.id, "bob", "")
    await rig.clock.advance(timedelta(hours=1))
    assert await rig.escalator.tick() == 0
    # Acknowledging stops what has not gone out yet, in its own transaction.
    assert [state for *_, state in await rig.pages(ticket.id)] == [CANCELLED] * 3


async def test_the_escalator_runs_under_the_clock_and_stops_when_the_site_recovers(
    rig: Rig,
) -> None:
    ticket = await open_ticket(rig.store, planner(), rig.clock.now())

    async def count() -> int:
        return len(await pages(rig.store, ticket.id))

    async with running(rig.escalator.run()):
        await rig.clock.advance(timedelta(minutes=5))
        await poll(lambda: _equals(count(), 2), "the first repeat", clock=rig.clock)
        ended = Transition(TransitionKind.ENDED, rig.clock.now(), emergency(ticket.onset_at), "ok")
        await record(rig.store, planner(), "acme-portal", "acme", ended, rig.clock.now())
        await rig.clock.advance(timedelta(minutes=30))
        for _ in range(3):
            await rig.clock.advance(timedelta(seconds=1))
    kinds = [(kind, state) for kind, *_, state in await rig.pages(ticket.id)]
    assert kinds == [(SITE_DOWN, PENDING), (STILL_DOWN, CANCELLED), (RECOVERED, PENDING)]
    async with rig.store.reading() as tx:
        assert await tx.tickets.escalating() == []


async def test_an_acknowledgement_racing_the_escalator_leaves_no_page_behind(rig: Rig) -> None:
    ticket = await open_ticket(rig.store, planner(), rig.clock.now())
    await rig.clock.advance(timedelta(minutes=10))
    # The escalator decides on the ticket it reads; the acknowledgement commits first.
    async with rig.store.reading() as tx:
        [read] = await tx.tickets.escalating()
    await rig.desk.acknowledge(ticket.id, "alice", "")

    assert read.id == ticket.id
    assert await rig.escalator.tick() == 0
    assert [state for *_, state in await rig.pages(ticket.id)] == [CANCELLED]


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


SITE_DOWN, STILL_DOWN, RECOVERED = PageKind.SITE_DOWN, PageKind.STILL_DOWN, PageKind.RECOVERED
PENDING, CANCELLED = PageState.PENDING, PageState.CANCELLED
