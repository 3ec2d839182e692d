"""The `Store` contract, run against every backend; then what only SQLite promises.

A new backend joins by adding one opener to `BACKENDS`: every test above the
"SQLite only" line then runs against it too (as gatus `storage/store/store_test.go`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sitewatch.clock import Clock, FakeClock
from sitewatch.model import (
    Cause,
    CheckStatus,
    Classification,
    DeliveryDecision,
    MaintenanceKind,
    Outage,
    Outcome,
    PageKind,
    PageRow,
    PageState,
    ProbeResult,
    ResultKind,
    State,
    TicketState,
    Transition,
    TransitionKind,
    Window,
)
from sitewatch.storage import STORES, Store, StoreOpener, open_store
from sitewatch.storage.migrations import MIGRATIONS, SchemaError
from sitewatch.storage.sqlite import (
    Synchronous,
    open_sqlite_store,
    open_sqlite_url,
    parse_sqlite_url,
)
from tests.paging_support import planner

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CHECK, CUSTOMER = "acme-portal", "acme"

Opener = Callable[[Path, Clock], Awaitable[Store]]


async def open_sqlite(directory: Path, clock: Clock) -> Store:
    return await open_sqlite_store(directory / "state" / "sitewatch.db", clock)


BACKENDS: dict[str, Opener] = {"sqlite": open_sqlite}


class Backend:
    """Open stores of one backend on one place; close whatever a test leaves open."""

    def __init__(self, opener: Opener, directory: Path, clock: FakeClock) -> None:
        self.clock = clock
        self._opener = opener
        self._directory = directory
        self._opened: list[Store] = []

    async def open(self) -> Store:
        store = await self._opener(self._directory, self.clock)
        self._opened.append(store)
        return store

    async def restart(self, store: Store) -> Store:
        await store.close()
        return await self.open()

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = Backend(BACKENDS[request.param], tmp_path, FakeClock(T0 + timedelta(hours=1)))
    yield opened
    await opened.close_all()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def outage(onset: float = 0, classification: Classification = Classification.EMERGENCY) -> Outage:
    window_id = "1" if classification is not Classification.EMERGENCY else None
    return Outage(at(onset), ResultKind.LOGIN_REJECTED, classification, "step 2: 401", window_id)


def down(cause: Outage) -> CheckStatus:
    return CheckStatus(
        state=State.MAINTENANCE if cause.window_id else State.DOWN,
        since=cause.onset,
        failures=2,
        streak_onset=cause.onset,
        streak_symptom=cause.symptom,
        streak_detail=cause.detail,
        outage=cause,
        last_result=cause.symptom,
        last_result_at=cause.onset + timedelta(seconds=5),
    )


def up(since: datetime) -> CheckStatus:
    return CheckStatus(state=State.UP, since=since, successes=2, last_result=ResultKind.OK)


def started(cause: Outage) -> Transition:
    return Transition(TransitionKind.STARTED, cause.onset + timedelta(seconds=5), cause, "2 fails")


def overran(cause: Outage, minutes: float) -> Transition:
    overrun = replace(cause, classification=Classification.OVERRUN)
    return Transition(TransitionKind.OVERRAN, at(minutes), overrun, "window ended")


def ended(cause: Outage, minutes: float) -> Transition:
    return Transition(TransitionKind.ENDED, at(minutes), cause, "2 consecutive successes")


async def open_emergency(store: Store, check: str = CHECK, onset: float = 0) -> str:
    cause = outage(onset)
    record = await store.record_transition(check, CUSTOMER, down(cause), started(cause))
    assert record.ticket is not None
    return record.ticket.id


def window(
    start: float, end: float, customer: str = CUSTOMER, checks: tuple[str, ...] = ()
) -> Window:
    return Window(
        id="",
        customer=customer,
        checks=checks,
        kind=MaintenanceKind.OS_UPGRADE,
        start=at(start),
        end=at(end),
        declared_at=at(start - 30),
        declared_by=customer,
        note="kernel update",
    )


def result(minutes: float, kind: ResultKind = ResultKind.OK) -> ProbeResult:
    return ProbeResult(CHECK, at(minutes), timedelta(milliseconds=125), kind, detail=kind.value)


# --- check statuses and progress ------------------------------------------------------


async def test_a_saved_status_with_its_open_outage_reads_back_unchanged_after_a_restart(
    backend: Backend, store: Store
) -> None:
    statuses = {CHECK: down(outage(classification=Classification.PLANNED)), "b": up(at(1))}
    await store.save_progress(statuses, [result(0, ResultKind.LOGIN_REJECTED)])

    reopened = await backend.restart(store)

    assert await reopened.load_statuses() == statuses


async def test_saving_progress_again_replaces_each_checks_status(store: Store) -> None:
    await store.save_progress({CHECK: down(outage())}, [])
    await store.save_progress({CHECK: up(at(9))}, [result(9)])

    assert await store.load_statuses() == {CHECK: up(at(9))}


async def test_pruning_deletes_exactly_the_results_older_than_the_cutoff(store: Store) -> None:
    await store.save_progress({}, [result(minute) for minute in range(10)])

    assert await store.prune_results(at(4)) == 4
    assert await store.prune_results(at(4)) == 0
    assert await store.prune_results(at(60)) == 6


async def test_pruning_a_backlog_larger_than_one_batch_deletes_all_of_it(store: Store) -> None:
    await store.save_progress({}, [result(0)] * 45_000 + [result(10)])

    assert await store.prune_results(at(5)) == 45_000
    assert await store.prune_results(at(60)) == 1


# --- transitions and the tickets they open ------------------------------------------


async def test_recording_the_same_emergency_start_twice_opens_exactly_one_ticket(
    store: Store,
) -> None:
    cause = outage()
    first = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))
    second = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))

    assert first.opened and not second.opened
    assert first.ticket is not None and first.ticket == second.ticket
    assert [t.id for t in await store.list_tickets()] == [first.ticket.id]


async def test_replaying_an_emergency_start_after_a_restart_returns_the_ticket_it_opened(
    backend: Backend, store: Store
) -> None:
    ticket_id = await open_emergency(store)

    reopened = await backend.restart(store)
    replay = await reopened.record_transition(CHECK, CUSTOMER, down(outage()), started(outage()))

    assert not replay.opened
    assert replay.ticket is not None and replay.ticket.id == ticket_id
    assert await reopened.count_open_tickets() == 1


async def test_concurrent_records_of_one_start_open_one_ticket(store: Store) -> None:
    cause = outage()
    records = await asyncio.gather(
        *(store.record_transition(CHECK, CUSTOMER, down(cause), started(cause)) for _ in range(8))
    )

    assert sum(record.opened for record in records) == 1
    assert len({record.ticket.id for record in records if record.ticket}) == 1


async def test_an_emergency_ticket_opens_now_with_the_outages_facts_and_reason(
    backend: Backend, store: Store
) -> None:
    cause = outage()
    record = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))

    ticket = record.ticket
    assert ticket is not None and ticket == await store.get_ticket(ticket.id)
    assert (ticket.check, ticket.customer, ticket.state) == (CHECK, CUSTOMER, TicketState.OPEN)
    assert (ticket.classification, ticket.symptom) == (Classification.EMERGENCY, cause.symptom)
    assert (ticket.onset_at, ticket.opened_at) == (cause.onset, backend.clock.now())
    assert [(e.kind, e.detail) for e in ticket.events] == [("opened", "2 fails")]
    assert ticket.id.isdigit() and len(ticket.id) <= 8


async def test_a_planned_start_opens_no_ticket_but_records_the_outage(store: Store) -> None:
    cause = outage(classification=Classification.PLANNED)
    record = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))

    assert record.ticket is None and not record.opened
    assert await store.list_tickets() == []
    [stored] = await store.list_outages(at(-60), at(60))
    assert (stored.classification, stored.window_id, stored.ticket_id) == (
        cause.classification,
        "1",
        None,
    )


async def test_an_overrun_opens_one_overrun_ticket_and_marks_the_outage(store: Store) -> None:
    cause = outage(classification=Classification.PLANNED)
    await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))
    status = down(replace(cause, classification=Classification.OVERRUN))

    first = await store.record_transition(CHECK, CUSTOMER, status, overran(cause, 30))
    again = await store.record_transition(CHECK, CUSTOMER, status, overran(cause, 31))

    assert first.opened and not again.opened and first.ticket == again.ticket
    assert first.ticket is not None and first.ticket.classification is Classification.OVERRUN
    [stored] = await store.list_outages(at(-60), at(60))
    assert (stored.classification, stored.overrun_at) == (Classification.OVERRUN, at(30))
    assert stored.ticket_id == first.ticket.id


async def test_a_late_start_and_its_overrun_commit_together_with_one_ticket(store: Store) -> None:
    cause = outage(classification=Classification.PLANNED)
    status = down(replace(cause, classification=Classification.OVERRUN))

    records = await store.record_transitions(
        CHECK, CUSTOMER, status, (started(cause), overran(cause, 1))
    )

    assert [(r.ticket is not None, r.opened) for r in records] == [(False, False), (True, True)]
    assert await store.load_statuses() == {CHECK: status}


async def test_an_end_records_recovered_at_on_the_outage_and_its_ticket_once(
    store: Store,
) -> None:
    ticket_id = await open_emergency(store)

    first = await store.record_transition(CHECK, CUSTOMER, up(at(20)), ended(outage(), 20))
    replay = await store.record_transition(CHECK, CUSTOMER, up(at(20)), ended(outage(), 21))

    assert first.ticket is not None and first.ticket.id == ticket_id
    assert first.ticket.recovered_at == at(20) and first.ticket.state is TicketState.OPEN
    assert replay.ticket == first.ticket
    assert [e.kind for e in first.ticket.events] == ["opened", "recovered"]
    [stored] = await store.list_outages(at(-60), at(60))
    assert stored.recovered_at == at(20)
    assert await store.load_statuses() == {CHECK: up(at(20))}


async def test_the_end_of_a_planned_outage_records_recovery_without_a_ticket(
    store: Store,
) -> None:
    cause = outage(classification=Classification.PLANNED)
    await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))

    record = await store.record_transition(CHECK, CUSTOMER, up(at(9)), ended(cause, 9))

    assert record.ticket is None
    [stored] = await store.list_outages(at(-60), at(60))
    assert stored.recovered_at == at(9)


async def test_a_recovery_after_an_operator_resolved_the_ticket_is_still_recorded(
    store: Store,
) -> None:
    ticket_id = await open_emergency(store)
    await store.resolve_ticket(ticket_id, Cause.SOFTWARE, "alice", "", at(5))

    record = await store.record_transition(CHECK, CUSTOMER, up(at(20)), ended(outage(), 20))

    assert record.ticket is not None and record.ticket.recovered_at == at(20)
    assert record.ticket.state is TicketState.RESOLVED


async def test_a_new_outage_of_the_same_check_opens_a_new_ticket(store: Store) -> None:
    first = await open_emergency(store, onset=0)
    await store.record_transition(CHECK, CUSTOMER, up(at(20)), ended(outage(0), 20))

    second = await open_emergency(store, onset=30)

    assert second != first
    assert await store.count_open_tickets() == 2


# --- operators acting on tickets ----------------------------------------------------


async def test_acknowledging_records_who_and_when_and_a_second_time_changes_nothing(
    store: Store,
) -> None:
    ticket_id = await open_emergency(store)

    first = await store.acknowledge_ticket(ticket_id, "alice", "on it", at(3))
    second = await store.acknowledge_ticket(ticket_id, "bob", "", at(4))

    assert first is not None and first.outcome is Outcome.CHANGED
    assert second is not None and second.outcome is Outcome.UNCHANGED
    stored = await store.get_ticket(ticket_id)
    assert stored == first.ticket == second.ticket
    assert (stored.state, stored.acknowledged_by, stored.acknowledged_at) == (
        TicketState.ACKNOWLEDGED,
        "alice",
        at(3),
    )
    assert [(e.kind, e.by, e.detail) for e in stored.events][1:] == [
        ("acknowledged", "alice", "on it")
    ]


async def test_resolving_records_the_cause_and_a_second_resolve_conflicts(store: Store) -> None:
    ticket_id = await open_emergency(store)

    first = await store.resolve_ticket(ticket_id, Cause.NETWORK, "alice", "bad switch", at(9))
    second = await store.resolve_ticket(ticket_id, Cause.HARDWARE, "bob", "", at(10))
    late_ack = await store.acknowledge_ticket(ticket_id, "bob", "", at(11))

    assert first is not None and first.outcome is Outcome.CHANGED
    assert second is not None and second.outcome is Outcome.CONFLICT
    assert late_ack is not None and late_ack.outcome is Outcome.CONFLICT
    stored = await store.get_ticket(ticket_id)
    assert stored is not None and stored == first.ticket
    assert (stored.cause, stored.resolved_by, stored.resolved_at) == (Cause.NETWORK, "alice", at(9))
    assert stored.resolution_note == "bad switch"
    assert await store.count_open_tickets() == 0


@pytest.mark.parametrize(
    "ticket_id",
    [
        *("abc", "-1", "0", "2", "99999999999999999999", "", " 1", "1 ", "1.0", "01", "1e3"),
        *("+1", "\u0661", "\u00b2", "9223372036854775808", "1; DROP TABLE tickets", "%", "_"),
    ],
)
async def test_an_unknown_ticket_id_of_any_form_gives_none(store: Store, ticket_id: str) -> None:
    await open_emergency(store)

    assert await store.get_ticket(ticket_id) is None
    assert await store.acknowledge_ticket(ticket_id, "alice", "", at(1)) is None
    assert await store.resolve_ticket(ticket_id, Cause.UNKNOWN, "alice", "", at(1)) is None
    assert await store.count_open_tickets() == 1


async def test_tickets_list_newest_first_filtered_to_exactly_the_given_states(
    backend: Backend, store: Store
) -> None:
    ids = []
    for number, check in enumerate(["a", "b", "c"]):
        ids.append(await open_emergency(store, check=check))
        await backend.clock.advance(timedelta(minutes=1 + number))
    await store.acknowledge_ticket(ids[1], "alice", "", at(5))
    await store.resolve_ticket(ids[2], Cause.UNKNOWN, "alice", "", at(6))

    async def listed(*states: TicketState) -> list[str]:
        return [t.id for t in await store.list_tickets(states if states else None)]

    assert await listed() == ids[::-1]
    assert await listed(TicketState.OPEN, TicketState.ACKNOWLEDGED) == [ids[1], ids[0]]
    assert await listed(TicketState.RESOLVED) == [ids[2]]
    assert await store.list_tickets([]) == []
    assert [t.id for t in await store.list_tickets(limit=1)] == [ids[2]]
    assert all(t.events == () for t in await store.list_tickets())


# --- maintenance windows ---------------------------------------------------------------


async def test_adding_a_window_assigns_an_id_and_audits_the_declaration(store: Store) -> None:
    stored = await store.add_window(window(10, 70, checks=(CHECK,)))

    assert stored == replace(window(10, 70, checks=(CHECK,)), id=stored.id) != window(10, 70)
    assert await store.get_window(stored.id) == stored
    [declared] = await store.window_changes(stored.id)
    assert (declared.window_id, declared.at, declared.by, declared.action) == (
        stored.id,
        at(-20),
        CUSTOMER,
        "declared",
    )


async def test_windows_list_oldest_start_first_filtered_by_customer_and_end(
    store: Store,
) -> None:
    late = await store.add_window(window(100, 160))
    early = await store.add_window(window(10, 70))
    other = await store.add_window(window(20, 30, customer="globex"))

    assert await store.list_windows() == [early, other, late]
    assert await store.list_windows(CUSTOMER) == [early, late]
    assert await store.list_windows(ending_after=at(30)) == [early, late]
    assert await store.list_windows("globex", ending_after=at(29)) == [other]


async def test_changing_and_cancelling_a_window_keep_an_audit_trail(store: Store) -> None:
    stored = await store.add_window(window(10, 70))

    longer = await store.change_window_end(stored.id, at(90), "alice", at(12))
    cancelled = await store.cancel_window(stored.id, "acme", at(13))

    assert longer == replace(stored, end=at(90))
    assert cancelled == replace(stored, end=at(90), cancelled_at=at(13))
    assert await store.list_windows() == [cancelled]
    changes = await store.window_changes(stored.id)
    assert [(c.action, c.by, c.at) for c in changes] == [
        ("declared", "acme", at(-20)),
        ("changed", "alice", at(12)),
        ("cancelled", "acme", at(13)),
    ]


async def test_a_cancelled_window_never_changes_afterwards(store: Store) -> None:
    stored = await store.add_window(window(10, 70))
    cancelled = await store.cancel_window(stored.id, "acme", at(1))

    unchanged = await store.change_window_end(stored.id, at(90), "alice", at(2))

    assert unchanged == cancelled
    changes = await store.window_changes(stored.id)
    assert [c.action for c in changes] == ["declared", "cancelled"]


@pytest.mark.parametrize("window_id", ["2", "abc", "-1", "", "99999999999999999999", "01"])
async def test_an_unknown_window_id_of_any_form_is_reported_not_crashed_on(
    store: Store, window_id: str
) -> None:
    await store.add_window(window(10, 70))

    assert await store.get_window(window_id) is None
    assert await store.window_changes(window_id) == []
    with pytest.raises(LookupError):
        await store.change_window_end(window_id, at(90), "alice", at(12))
    with pytest.raises(LookupError):
        await store.cancel_window(window_id, "alice", at(12))


# --- outages for statistics ---------------------------------------------------------

OUTAGES = {  # check: (onset, recovered, classification), minutes after T0
    "a": (0, 10, Classification.EMERGENCY),
    "d": (5, 6, Classification.PLANNED),
    "b": (20, None, Classification.EMERGENCY),
    "c": (30, 40, Classification.EMERGENCY),
}


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        pytest.param(0, 5, ["a"], id="an onset at the end of the period is outside"),
        pytest.param(10, 20, [], id="a recovery at the start of the period is outside"),
        pytest.param(15, 35, ["b", "c"], id="still open and starting inside"),
        pytest.param(50, 60, ["b"], id="an outage still open overlaps every later period"),
        pytest.param(-10, 100, ["a", "d", "b", "c"], id="all of them, by onset"),
    ],
)
async def test_outages_are_listed_when_they_overlap_the_period(
    store: Store, since: float, until: float, expected: list[str]
) -> None:
    for check, (onset, recovered, classification) in OUTAGES.items():
        cause = outage(onset, classification)
        await store.record_transition(check, CUSTOMER, down(cause), started(cause))
        if recovered is not None:
            await store.record_transition(
                check, CUSTOMER, up(at(recovered)), ended(cause, recovered)
            )

    listed = await store.list_outages(at(since), at(until))

    assert [o.check for o in listed] == expected


async def test_tickets_are_listed_when_their_outage_overlaps_the_period(store: Store) -> None:
    for check, (onset, recovered, classification) in OUTAGES.items():
        cause = outage(onset, classification)
        await store.record_transition(check, CUSTOMER, down(cause), started(cause))
        if recovered is not None:
            await store.record_transition(
                check, CUSTOMER, up(at(recovered)), ended(cause, recovered)
            )

    listed = await store.list_tickets_overlapping(at(8), at(35))

    # "d" is planned (no ticket); "a" recovers at 10, "b" is still down, "c" starts at 30.
    assert [(t.check, t.recovered_at) for t in listed] == [
        ("a", at(10)),
        ("b", None),
        ("c", at(40)),
    ]
    assert await store.list_tickets_overlapping(at(10), at(20)) == []


async def test_first_results_are_each_checks_earliest_held_probe_result(store: Store) -> None:
    assert await store.first_results() == {}
    later, other = result(7), replace(result(9), check_id="b")
    await store.save_progress({}, [later, result(3, ResultKind.TIMEOUT), other])
    await store.prune_results(at(1))

    assert await store.first_results() == {CHECK: at(3), "b": at(9)}


# --- the page outbox -------------------------------------------------------------------


def page_row(
    subject: str = "ticket/1", operator: str = "alice", kind: PageKind = PageKind.STILL_DOWN
) -> PageRow:
    return PageRow(subject, kind, operator, 0, f"{kind.prefix} {CHECK} {CUSTOMER}", "body", at(0))


async def test_opening_a_ticket_commits_its_site_down_pages_with_it_once(store: Store) -> None:
    cause = outage()
    first = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause), planner())
    await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause), planner())

    assert first.ticket is not None
    [page] = await store.list_pages(first.ticket.id)
    assert (page.row.kind, page.row.operator, page.row.level, page.row.round) == (
        PageKind.SITE_DOWN,
        "alice",
        0,
        0,
    )
    assert (page.state, page.attempts, page.onset_at) == (PageState.PENDING, 0, cause.onset)
    assert page.row.due_at == first.ticket.opened_at == page.next_attempt_at


async def test_recovery_and_resolution_page_everyone_paged_for_the_ticket(store: Store) -> None:
    cause = outage()
    record = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause), planner())
    assert record.ticket is not None
    ticket_id = record.ticket.id
    [candidate] = await store.escalation_candidates()
    plan = planner().escalation(candidate, record.ticket.opened_at + timedelta(minutes=10))
    assert await store.add_escalation_pages(ticket_id, plan.rows) == 1
    for page in await store.claim_pages(at(75), 10, timedelta(minutes=2)):
        sent = DeliveryDecision(PageState.SENT, 1, at(75), "", "")
        await store.record_delivery(page.id, sent, [])

    await store.record_transition(CHECK, CUSTOMER, up(at(78)), ended(cause, 78), planner())
    await store.record_transition(CHECK, CUSTOMER, up(at(78)), ended(cause, 79), planner())
    await store.resolve_ticket(ticket_id, Cause.SOFTWARE, "alice", "", at(80), planner())
    await store.resolve_ticket(ticket_id, Cause.SOFTWARE, "bob", "", at(81), planner())

    pages = [(p.row.kind, p.row.operator) for p in await store.list_pages(ticket_id)]
    assert pages == [
        (PageKind.SITE_DOWN, "alice"),
        (PageKind.STILL_DOWN, "bob"),
        (PageKind.RECOVERED, "alice"),
        (PageKind.RECOVERED, "bob"),
        (PageKind.RESOLVED, "alice"),
        (PageKind.RESOLVED, "bob"),
    ]
    assert await store.escalation_candidates() == []


async def test_a_recovery_after_the_ticket_was_resolved_pages_nobody(store: Store) -> None:
    cause = outage()
    record = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause), planner())
    assert record.ticket is not None
    await store.resolve_ticket(record.ticket.id, Cause.NETWORK, "alice", "", at(5))

    await store.record_transition(CHECK, CUSTOMER, up(at(20)), ended(cause, 20), planner())

    kinds = [p.row.kind for p in await store.list_pages(record.ticket.id)]
    assert kinds == [PageKind.SITE_DOWN]


async def test_the_same_page_for_a_subject_kind_level_round_and_target_is_added_once(
    store: Store,
) -> None:
    assert await store.add_pages([page_row(), page_row(operator="bob")]) == 2
    assert await store.add_pages([page_row(), page_row(subject="ticket/2")]) == 1
    assert len(await store.list_pages()) == 3


async def test_a_due_page_is_claimed_once_until_its_lease_ends(store: Store) -> None:
    await store.add_pages([page_row()])
    lease = timedelta(minutes=2)

    [claimed] = await store.claim_pages(at(1), 10, lease)
    assert await store.claim_pages(at(2), 10, lease) == []
    assert await store.claim_pages(at(-1), 10, lease) == []
    [again] = await store.claim_pages(at(3), 10, lease)

    assert claimed.id == again.id


async def test_released_claims_are_due_again_at_once(backend: Backend, store: Store) -> None:
    await store.add_pages([page_row()])
    await store.claim_pages(at(1), 10, timedelta(hours=1))

    reopened = await backend.restart(store)
    assert await reopened.release_page_claims() == 1

    assert len(await reopened.claim_pages(at(1), 10, timedelta(hours=1))) == 1


async def test_pages_to_one_target_about_one_subject_are_claimed_in_order(store: Store) -> None:
    await store.add_pages([page_row(kind=PageKind.SITE_DOWN)])
    await store.add_pages([page_row(kind=PageKind.RECOVERED), page_row(operator="bob")])
    lease = timedelta(minutes=10)

    first = await store.claim_pages(at(1), 10, lease)
    assert [(p.row.kind, p.row.operator) for p in first] == [
        (PageKind.SITE_DOWN, "alice"),
        (PageKind.STILL_DOWN, "bob"),
    ]
    retry = DeliveryDecision(PageState.PENDING, 1, at(5), "HTTP 500", "retry")
    await store.record_delivery(first[0].id, retry, [])
    assert await store.claim_pages(at(2), 10, lease) == []  # RECOVERED waits for SITE DOWN

    sent = DeliveryDecision(PageState.SENT, 2, at(5), "", "sent")
    [site_down] = await store.claim_pages(at(5), 10, lease)
    await store.record_delivery(site_down.id, sent, [])
    [recovered] = await store.claim_pages(at(5), 10, lease)
    assert recovered.row.kind is PageKind.RECOVERED


async def test_pending_escalation_pages_of_an_acknowledged_ticket_are_cancelled(
    store: Store,
) -> None:
    cause = outage()
    record = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause), planner())
    assert record.ticket is not None
    await store.acknowledge_ticket(record.ticket.id, "alice", "", at(1))

    assert await store.claim_pages(at(90), 10, timedelta(minutes=2)) == []
    [page] = await store.list_pages(record.ticket.id)
    assert page.state is PageState.CANCELLED
    assert "acknowledged or resolved" in page.last_error


async def test_a_recovery_cancels_pending_repeats_but_not_the_first_page(store: Store) -> None:
    cause = outage()
    record = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause), planner())
    assert record.ticket is not None
    [candidate] = await store.escalation_candidates()
    plan = planner().escalation(candidate, record.ticket.opened_at + timedelta(minutes=10))
    await store.add_escalation_pages(record.ticket.id, plan.rows)
    await store.record_transition(CHECK, CUSTOMER, up(at(70)), ended(cause, 70), planner())

    claimed = await store.claim_pages(at(90), 10, timedelta(minutes=2))

    assert [(p.row.kind, p.row.operator) for p in claimed] == [(PageKind.SITE_DOWN, "alice")]
    states = {p.row.kind: p.state for p in await store.list_pages(record.ticket.id)}
    assert states[PageKind.STILL_DOWN] is PageState.CANCELLED
    assert states[PageKind.RECOVERED] is PageState.PENDING


async def test_an_outcome_is_recorded_once_with_the_fallback_copies(store: Store) -> None:
    await store.add_pages([page_row()])
    [page] = await store.claim_pages(at(1), 10, timedelta(minutes=2))
    gave_up = DeliveryDecision(PageState.UNDELIVERABLE, 8, at(1), "HTTP 500", "gave up")
    copy = replace(page_row(subject=f"fallback/{page.id}", operator=""), body="copy")

    first = await store.record_delivery(page.id, gave_up, [copy])
    second = await store.record_delivery(page.id, gave_up, [copy])

    assert first.recorded and not second.recorded
    stored, fallback = await store.list_pages()
    assert (stored.state, stored.attempts, stored.last_error) == (
        PageState.UNDELIVERABLE,
        8,
        "HTTP 500",
    )
    assert (fallback.row.operator, fallback.row.body, fallback.state) == (
        "",
        "copy",
        PageState.PENDING,
    )


async def test_pending_pages_and_the_meta_values_survive_a_restart(
    backend: Backend, store: Store
) -> None:
    await store.add_pages([page_row(), page_row(operator="bob")])
    assert await store.meta_value("ack_signing_key", "first") == "first"

    reopened = await backend.restart(store)

    assert [p.state for p in await reopened.list_pages()] == [PageState.PENDING] * 2
    assert await reopened.meta_value("ack_signing_key", "second") == "first"


# --- times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 26, 10, 0, 0, 123457, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC),
    ],
)
async def test_times_round_trip_exactly_to_the_microsecond_in_utc(
    store: Store, moment: datetime
) -> None:
    declared = replace(window(0, 1), start=moment, end=moment, declared_at=moment)

    stored = await store.get_window((await store.add_window(declared)).id)

    assert stored is not None and stored.start == moment
    assert stored.start.utcoffset() == timedelta(0)
    assert stored.start.isoformat() == moment.astimezone(UTC).isoformat()


# --- SQLite only: files, durability, migrations, URLs ---------------------------------


async def test_a_naive_time_is_refused_rather_than_guessed(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "sw.db")
    try:
        with pytest.raises(ValueError, match="no time zone"):
            await store.add_window(replace(window(0, 1), start=datetime(2026, 11, 26, 10)))
    finally:
        await store.close()


async def test_the_database_directory_is_created_and_the_journal_is_wal(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "sw.db"

    store = await open_sqlite_store(path, synchronous=Synchronous.FULL)
    await store.close()
    await store.close()

    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_commit_survives_the_process_being_killed(tmp_path: Path) -> None:
    path, onset = tmp_path / "sw.db", at(0)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_WRITER,
        str(path),
        onset.isoformat(),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    output, _ = await child.communicate()
    assert child.returncode == -signal.SIGKILL

    store = await open_sqlite_store(path)
    try:
        cause = Outage(onset, ResultKind.CONNECT, Classification.EMERGENCY)
        replay = await store.record_transition(CHECK, CUSTOMER, down(cause), started(cause))
        assert not replay.opened
        assert replay.ticket is not None and replay.ticket.id == output.decode().strip()
    finally:
        await store.close()


PROJECT_ROOT = Path(__file__).resolve().parent.parent
KILLED_WRITER = """
import asyncio, os, signal, sys
from datetime import datetime
from pathlib import Path
from sitewatch.model import Classification, ResultKind, State
from sitewatch.model import CheckStatus, Outage, Transition, TransitionKind
from sitewatch.storage.sqlite import open_sqlite_store

async def main():
    store = await open_sqlite_store(Path(sys.argv[1]))
    onset = datetime.fromisoformat(sys.argv[2])
    outage = Outage(onset, ResultKind.CONNECT, Classification.EMERGENCY)
    status = CheckStatus(state=State.DOWN, since=onset, outage=outage)
    started = Transition(TransitionKind.STARTED, onset, outage, "confirmed")
    record = await store.record_transition("acme-portal", "acme", status, started)
    print(record.ticket.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def schema_and_version(path: Path) -> tuple[list[tuple[str, str]], int]:
    with closing(sqlite3.connect(path)) as conn:
        schema = conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        return schema, conn.execute("PRAGMA user_version").fetchone()[0]


async def test_reopening_a_current_database_changes_neither_schema_nor_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sw.db"
    store = await open_sqlite_store(path)
    ticket_id = await open_emergency(store)
    await store.close()
    before = schema_and_version(path)

    store = await open_sqlite_store(path)
    try:
        assert schema_and_version(path) == before
        assert before[1] == len(MIGRATIONS)
        assert [t.id for t in await store.list_tickets()] == [ticket_id]
    finally:
        await store.close()


def sqlite_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sitewatch-sqlite")]


async def test_a_database_from_a_newer_sitewatch_is_refused_with_a_clear_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sw.db"
    await (await open_sqlite_store(path)).close()
    newer = len(MIGRATIONS) + 1
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")

    message = f"schema version {newer}, but this sitewatch knows versions up to {newer - 1}"
    with pytest.raises(SchemaError, match=message):
        await open_sqlite_store(path)
    assert sqlite_workers() == []


async def test_a_file_that_is_not_a_sitewatch_database_is_refused_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    before = schema_and_version(path)

    with pytest.raises(SchemaError, match="not a sitewatch database"):
        await open_sqlite_store(path)

    assert schema_and_version(path) == before
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


@pytest.mark.parametrize(
    ("url", "path", "synchronous"),
    [
        ("sqlite:///var/sw.db", "/etc/sitewatch/var/sw.db", Synchronous.NORMAL),
        ("sqlite:////srv/sw.db", "/srv/sw.db", Synchronous.NORMAL),
        (
            "sqlite:///my%20data/sw.db?synchronous=full",
            "/etc/sitewatch/my data/sw.db",
            Synchronous.FULL,
        ),
    ],
)
def test_sqlite_urls_are_relative_to_the_config_directory_unless_absolute(
    url: str, path: str, synchronous: Synchronous
) -> None:
    assert parse_sqlite_url(url, Path("/etc/sitewatch")) == (Path(path), synchronous)


@pytest.mark.parametrize(
    "url",
    [
        *("sqlite://sw.db", "sqlite:///", "sqlite:////", "sqlite:///?synchronous=full"),
        *("sqlite:///sw.db?journal=off", "sqlite:///a?synchronous=off"),
    ],
)
def test_a_malformed_sqlite_url_is_refused_with_the_expected_forms(url: str) -> None:
    with pytest.raises(ValueError, match="database 'sqlite:"):
        parse_sqlite_url(url, Path("/etc/sitewatch"))


async def test_the_registry_opens_a_store_by_url_scheme(tmp_path: Path) -> None:
    opener: StoreOpener = open_sqlite_url  # checked by mypy: it fits the registry
    assert STORES["sqlite"] == f"{opener.__module__}:{open_sqlite_url.__name__}"
    store = await open_store("sqlite:///state/sw.db", base=tmp_path)
    await store.close()
    assert (tmp_path / "state" / "sw.db").exists()

    with pytest.raises(ValueError, match="unknown kind of database; use one of sqlite:"):
        await open_store("mysql://db/sitewatch", base=tmp_path)
