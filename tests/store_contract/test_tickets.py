"""Tickets and their timelines: one ticket per outage, changes written as the rules made them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from sitewatch.model import PageKind, TicketEvent, TicketState
from sitewatch.storage import Cursor, Store
from tests.store_contract.conftest import Backend
from tests.store_contract.records import (
    CHECK,
    MINUTE,
    T0,
    acknowledged,
    draft,
    page,
    resolved,
)

HOUR = timedelta(hours=1)


async def test_opening_returns_the_ticket_with_its_id_and_timeline_and_says_it_is_new(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        ticket, new = await tx.tickets.open(draft())
    assert new is True
    assert ticket == replace(draft(), id=ticket.id)
    async with store.reading() as tx:
        assert await tx.tickets.get(ticket.id) == ticket


async def test_opening_the_same_outage_again_returns_the_existing_ticket(store: Store) -> None:
    async with store.transaction() as tx:
        first, _ = await tx.tickets.open(draft())
    async with store.transaction() as tx:
        again, new = await tx.tickets.open(draft(opened=T0 + 5 * MINUTE))
    assert (again, new) == (first, False)
    async with store.reading() as tx:
        assert await tx.tickets.count_unresolved() == 1


async def test_two_transactions_opening_one_outage_at_once_open_one_ticket(store: Store) -> None:
    async def open_one() -> tuple[str, bool]:
        async with store.transaction() as tx:
            ticket, new = await tx.tickets.open(draft())
            await asyncio.sleep(0)
            return ticket.id, new

    outcomes = await asyncio.gather(open_one(), open_one())
    assert sorted(new for _, new in outcomes) == [False, True]
    assert outcomes[0][0] == outcomes[1][0]


async def test_another_onset_of_the_same_check_is_another_ticket(store: Store) -> None:
    async with store.transaction() as tx:
        first, _ = await tx.tickets.open(draft())
        second, new = await tx.tickets.open(draft(onset=T0 + HOUR))
    assert new is True and first.id != second.id


async def test_of_outage_finds_the_ticket_by_check_and_onset(store: Store) -> None:
    async with store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
        assert await tx.tickets.of_outage(CHECK, T0) == ticket
        assert await tx.tickets.of_outage(CHECK, T0 + MINUTE) is None
        assert await tx.tickets.of_outage("other", T0) is None


async def test_saving_writes_the_changed_fields_and_appends_only_the_new_lines(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        opened, _ = await tx.tickets.open(draft())
    async with store.transaction() as tx:
        before = await tx.tickets.lock(opened.id)
        assert before is not None
        after = acknowledged(before, T0 + 5 * MINUTE)
        await tx.tickets.save(before, after)
    async with store.transaction() as tx:
        again = await tx.tickets.lock(opened.id)
        assert again == after
        await tx.tickets.save(again, again)
        final = resolved(again, T0 + HOUR)
        await tx.tickets.save(again, final)
    async with store.reading() as tx:
        assert await tx.tickets.get(opened.id) == final
        assert [e.kind for e in final.events] == ["opened", "acknowledged", "resolved"]


async def test_add_event_appends_one_line_to_the_timeline(store: Store) -> None:
    line = TicketEvent(T0 + 2 * MINUTE, "paged", "sitewatch", "SITE DOWN to alice (notify #1)")
    async with store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
        await tx.tickets.add_event(ticket.id, line)
    async with store.reading() as tx:
        stored = await tx.tickets.get(ticket.id)
    assert stored is not None and stored.events == (*ticket.events, line)


async def test_escalating_lists_open_unacknowledged_unrecovered_tickets_oldest_first(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        late, _ = await tx.tickets.open(draft("late", opened=T0 + 2 * HOUR))
        early, _ = await tx.tickets.open(draft("early", opened=T0 + HOUR))
        acked, _ = await tx.tickets.open(draft("acked"))
        await tx.tickets.save(acked, acknowledged(acked, T0 + MINUTE))
        back, _ = await tx.tickets.open(draft("back"))
        await tx.tickets.save(back, replace(back, recovered_at=T0 + MINUTE))
    async with store.transaction() as tx:
        assert await tx.tickets.escalating() == [early, late]


async def test_escalating_skips_a_ticket_another_transaction_holds(shared_store: Store) -> None:
    async with shared_store.transaction() as tx:
        held, _ = await tx.tickets.open(draft("held"))
        free, _ = await tx.tickets.open(draft("free", opened=T0 + HOUR))
    async with shared_store.transaction() as tx:
        await tx.tickets.lock(held.id)
        async with shared_store.transaction() as other:
            assert await other.tickets.escalating() == [free]


async def test_two_transactions_locking_one_ticket_run_one_after_the_other(
    backend: Backend,
) -> None:
    store = backend.store
    async with store.transaction() as tx:
        opened, _ = await tx.tickets.open(draft())

    async def second() -> TicketState | None:
        async with store.transaction() as tx:
            ticket = await tx.tickets.lock(opened.id)
            return None if ticket is None else ticket.state

    async with store.transaction() as tx:
        before = await tx.tickets.lock(opened.id)
        assert before is not None
        other = asyncio.create_task(second())
        await backend.waiting()
        assert not other.done()
        await tx.tickets.save(before, acknowledged(before, T0 + MINUTE))
    assert await other is TicketState.ACKNOWLEDGED


async def test_page_lists_newest_first_in_the_states_asked_and_goes_on_after_a_cursor(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        made = [(await tx.tickets.open(draft(f"c{n}", opened=T0 + n * HOUR)))[0] for n in range(5)]
        await tx.tickets.save(made[1], acknowledged(made[1], T0 + 2 * HOUR))
        await tx.tickets.save(made[3], resolved(made[3], T0 + 4 * HOUR))
    bare = [replace(t, events=()) for t in made]
    async with store.reading() as tx:
        everything = await tx.tickets.page(None, 100, None)
        assert [t.check for t in everything] == ["c4", "c3", "c2", "c1", "c0"]
        assert all(t.events == () for t in everything)
        first = await tx.tickets.page(None, 2, None)
        assert [t.id for t in first] == [bare[4].id, bare[3].id]
        rest = await tx.tickets.page(None, 2, Cursor(first[-1].opened_at, first[-1].id))
        assert [t.check for t in rest] == ["c2", "c1"]
        unresolved = [TicketState.OPEN, TicketState.ACKNOWLEDGED]
        assert [t.check for t in await tx.tickets.page(unresolved, 10, None)] == [
            "c4",
            "c2",
            "c1",
            "c0",
        ]
        acked = await tx.tickets.page([TicketState.ACKNOWLEDGED], 10, None)
        assert [t.check for t in acked] == ["c1"]
        assert await tx.tickets.page([], 10, None) == []


async def test_tickets_opened_at_the_same_moment_page_by_id_without_loss(store: Store) -> None:
    async with store.transaction() as tx:
        made = [(await tx.tickets.open(draft(f"c{n}", opened=T0)))[0] for n in range(3)]
    seen: list[str] = []
    cursor = None
    async with store.reading() as tx:
        while batch := await tx.tickets.page(None, 1, cursor):
            seen += [t.id for t in batch]
            cursor = Cursor(batch[-1].opened_at, batch[-1].id)
    assert seen == [t.id for t in reversed(made)]


async def test_overlapping_lists_tickets_of_outages_in_the_period_by_onset(store: Store) -> None:
    async with store.transaction() as tx:
        for check, onset in (("b", T0 + HOUR), ("a", T0 - 3 * HOUR), ("c", T0 + 5 * HOUR)):
            ticket, _ = await tx.tickets.open(draft(check, onset=onset))
            if check == "a":
                await tx.tickets.save(ticket, replace(ticket, recovered_at=T0 - 2 * HOUR))
    async with store.reading() as tx:
        found = await tx.tickets.overlapping(T0, T0 + 4 * HOUR)
    assert [t.check for t in found] == ["b"]
    assert found[0].events == ()


async def test_count_unresolved_counts_open_and_acknowledged_tickets(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.tickets.open(draft("a"))
        b, _ = await tx.tickets.open(draft("b"))
        c, _ = await tx.tickets.open(draft("c"))
        await tx.tickets.save(b, acknowledged(b, T0 + HOUR))
        await tx.tickets.save(c, resolved(c, T0 + HOUR))
        assert await tx.tickets.count_unresolved() == 2


async def test_pruning_deletes_resolved_tickets_with_timeline_and_pages_never_open_ones(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        tickets = [(await tx.tickets.open(draft(f"c{n}")))[0] for n in range(4)]
        for n, ticket in enumerate(tickets[:3]):
            await tx.tickets.save(ticket, resolved(ticket, T0 + n * MINUTE))
        for ticket in tickets:
            await tx.outbox.add([page(ticket.id), page(ticket.id, PageKind.RESOLVED)], T0)
        old_open, _ = await tx.tickets.open(draft("old", onset=T0 - 30 * HOUR))
    async with store.transaction() as tx:
        assert await tx.tickets.prune_resolved(T0 + 10 * MINUTE, 2) == 2
    async with store.transaction() as tx:
        assert await tx.tickets.prune_resolved(T0 + 10 * MINUTE, 2) == 1
        assert await tx.tickets.prune_resolved(T0 + 10 * MINUTE, 2) == 0
    async with store.reading() as tx:
        for ticket in tickets[:3]:
            assert await tx.tickets.get(ticket.id) is None
            assert await tx.outbox.rows(ticket.id) == []
        assert await tx.tickets.get(tickets[3].id) is not None
        assert await tx.tickets.get(old_open.id) == old_open
        assert len(await tx.outbox.rows(tickets[3].id)) == 2


async def test_pruning_takes_tickets_resolved_before_the_cutoff_with_their_lines_and_pages(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        early, _ = await tx.tickets.open(draft(onset=T0))
        late, _ = await tx.tickets.open(draft(onset=T0 + MINUTE))
        still_open, _ = await tx.tickets.open(draft(onset=T0 + 2 * MINUTE))
        await tx.tickets.save(early, resolved(early, T0 + HOUR))
        await tx.tickets.save(late, resolved(late, T0 + 3 * HOUR))
        await tx.outbox.add([page(early.id), page(late.id), page(still_open.id)], T0)

    async with store.transaction() as tx:
        assert await tx.tickets.prune_resolved(T0 + 2 * HOUR, 10) == 1
    async with store.reading() as tx:
        assert await tx.tickets.get(early.id) is None
        assert await tx.outbox.rows(early.id) == []
        assert await tx.tickets.get(late.id) is not None

    # In batches of at most `limit`; an open ticket is never pruned, however old.
    async with store.transaction() as tx:
        assert await tx.tickets.prune_resolved(T0 + 100 * HOUR, 1) == 1
        assert await tx.tickets.prune_resolved(T0 + 100 * HOUR, 1) == 0
    async with store.reading() as tx:
        assert await tx.tickets.get(late.id) is None
        kept = await tx.tickets.get(still_open.id)
        assert kept is not None and kept.state is TicketState.OPEN
        assert [p.row.ticket_id for p in await tx.outbox.rows(still_open.id)] == [still_open.id]
