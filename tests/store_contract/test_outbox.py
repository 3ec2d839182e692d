"""The durable outbox: each page once, claimed by one sender at a time, in order per target."""

from __future__ import annotations

from datetime import timedelta

from sitewatch.model import PageKind, PageState, Target
from sitewatch.storage.protocols import Store
from tests.store_contract.records import MINUTE, T0, draft, page, retry, sent

LEASE = timedelta(minutes=2)
SITE_DOWN, STILL_DOWN = PageKind.SITE_DOWN, PageKind.STILL_DOWN


async def open_ticket(store: Store, check: str = "acme-portal") -> str:
    async with store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft(check))
    return ticket.id


async def test_adding_the_same_rows_again_adds_nothing(store: Store) -> None:
    ticket = await open_ticket(store)
    rows = [page(ticket, operator="alice"), page(ticket, operator="bob", url_index=1)]
    async with store.transaction() as tx:
        assert await tx.outbox.add(rows, T0) == 2
    async with store.transaction() as tx:
        assert await tx.outbox.add([*rows, page(ticket, STILL_DOWN, level=1)], T0) == 1
        assert await tx.outbox.add([], T0) == 0
        stored = await tx.outbox.rows(ticket)
    assert [p.row for p in stored] == [*rows, page(ticket, STILL_DOWN, level=1)]
    assert {p.state for p in stored} == {PageState.PENDING}
    assert all(p.attempts == 0 and p.onset_at == T0 for p in stored)


async def test_planned_rounds_gives_each_tickets_escalation_levels_and_rounds(
    store: Store,
) -> None:
    one, two, three = [await open_ticket(store, f"c{n}") for n in range(3)]
    async with store.transaction() as tx:
        await tx.outbox.add([page(one), page(one, STILL_DOWN, level=1, round=2)], T0)
        await tx.outbox.add([page(two, PageKind.RECOVERED, level=3)], T0)
        planned = await tx.outbox.planned_rounds([one, two, three])
    assert planned == {one: {(0, 0), (1, 2)}, two: set(), three: set()}


async def test_paged_targets_lists_everyone_paged_for_a_ticket_once_in_order(
    store: Store,
) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add(
            [
                page(ticket, operator="bob"),
                page(ticket, operator="alice", url_index=1),
                page(ticket, STILL_DOWN, operator="bob", round=1),
                page(ticket, STILL_DOWN, operator="carol", level=1),
                page(ticket, PageKind.RECOVERED, operator="dave"),
            ],
            T0,
        )
        await tx.outbox.cancel_pending(ticket, [STILL_DOWN], "acknowledged", T0)
        assert await tx.outbox.paged_targets(ticket) == [Target("bob", 0), Target("alice", 1)]


async def test_cancel_pending_cancels_unclaimed_rows_of_those_kinds_only(store: Store) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add(
            [
                page(ticket, operator="alice"),
                page(ticket, STILL_DOWN, operator="bob", level=1),
                page(ticket, STILL_DOWN, operator="carol", level=1, due=T0 - MINUTE),
            ],
            T0,
        )
    async with store.transaction() as tx:
        [claimed] = await tx.outbox.claim(T0, 1, LEASE, "i1")
    async with store.transaction() as tx:
        assert await tx.outbox.cancel_pending(ticket, [STILL_DOWN], "acknowledged", T0) == 1
        states = {p.row.operator: (p.state, p.last_error) for p in await tx.outbox.rows(ticket)}
    assert states == {
        "alice": (PageState.PENDING, ""),
        "bob": (PageState.CANCELLED, "acknowledged"),
        "carol": (PageState.PENDING, ""),
    }
    assert claimed.row.operator == "carol"


async def test_claim_takes_due_rows_oldest_first_up_to_the_limit(store: Store) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add(
            [
                page(ticket, operator="later", due=T0 + 2 * MINUTE),
                page(ticket, operator="b", due=T0 + MINUTE),
                page(ticket, operator="a", due=T0),
                page(ticket, operator="c", due=T0 + MINUTE),
            ],
            T0,
        )
    async with store.transaction() as tx:
        claimed = await tx.outbox.claim(T0 + MINUTE, 2, LEASE, "i1")
    assert [p.row.operator for p in claimed] == ["a", "b"]
    assert claimed[0].onset_at == T0
    async with store.transaction() as tx:
        rest = await tx.outbox.claim(T0 + MINUTE, 10, LEASE, "i2")
    assert [p.row.operator for p in rest] == ["c"]


async def test_a_row_is_due_once_its_time_came_unless_a_live_claim_holds_it(
    store: Store,
) -> None:
    ticket = await open_ticket(store)

    async def due(at: timedelta) -> bool:
        async with store.reading() as tx:
            return await tx.outbox.any_due(T0 + at)

    assert not await due(timedelta(0))  # an empty outbox
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket, due=T0 + MINUTE)], T0)
    assert [await due(at) for at in (timedelta(0), MINUTE)] == [False, True]
    async with store.transaction() as tx:
        [claimed] = await tx.outbox.claim(T0 + MINUTE, 1, LEASE, "i1")
    assert [await due(at) for at in (MINUTE, MINUTE + LEASE)] == [False, True]
    async with store.transaction() as tx:
        await tx.outbox.record(claimed.id, "i1", sent(T0 + MINUTE), T0 + MINUTE)
    assert not await due(MINUTE + LEASE)  # sent: never due again


async def test_a_row_waits_while_an_earlier_row_to_its_target_about_its_subject_is_pending(
    store: Store,
) -> None:
    ticket, other = await open_ticket(store), await open_ticket(store, "other")
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket, due=T0 + MINUTE)], T0)
        await tx.outbox.add([page(ticket, STILL_DOWN, level=1, due=T0), page(other, due=T0)], T0)
    async with store.transaction() as tx:
        first = await tx.outbox.claim(T0 + MINUTE, 10, LEASE, "i1")
    assert [(p.row.ticket_id, p.row.kind) for p in first] == [
        (other, SITE_DOWN),
        (ticket, SITE_DOWN),
    ]
    async with store.transaction() as tx:
        assert await tx.outbox.claim(T0 + MINUTE, 10, LEASE, "i1") == []
        await tx.outbox.record(first[1].id, "i1", sent(T0 + MINUTE), T0 + MINUTE)
    async with store.transaction() as tx:
        [then] = await tx.outbox.claim(T0 + MINUTE, 10, LEASE, "i1")
    assert then.row.kind is STILL_DOWN


async def test_a_claimed_row_is_claimed_again_only_once_its_claim_has_expired(
    store: Store,
) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket)], T0)
    async with store.transaction() as tx:
        [mine] = await tx.outbox.claim(T0, 10, LEASE, "i1")
    async with store.transaction() as tx:
        assert await tx.outbox.claim(T0 + LEASE - MINUTE, 10, LEASE, "i2") == []
        [theirs] = await tx.outbox.claim(T0 + LEASE, 10, LEASE, "i2")
    assert theirs.id == mine.id


async def test_recording_stores_the_outcome_for_the_claimant_and_frees_the_row(
    store: Store,
) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket), page(ticket, operator="bob")], T0)
    async with store.transaction() as tx:
        alice, bob = await tx.outbox.claim(T0, 10, LEASE, "i1")
        done = await tx.outbox.record(alice.id, "i1", sent(T0 + MINUTE), T0 + MINUTE)
        again = await tx.outbox.record(bob.id, "i1", retry(T0 + 5 * MINUTE), T0 + MINUTE)
    assert done is not None and (done.state, done.attempts, done.sent_at) == (
        PageState.SENT,
        1,
        T0 + MINUTE,
    )
    assert again is not None and (again.state, again.attempts, again.next_attempt_at) == (
        PageState.PENDING,
        1,
        T0 + 5 * MINUTE,
    )
    assert again.last_error == "503 from the gateway"
    async with store.transaction() as tx:
        assert await tx.outbox.claim(T0 + 4 * MINUTE, 10, LEASE, "i2") == []
        [retried] = await tx.outbox.claim(T0 + 5 * MINUTE, 10, LEASE, "i2")
        assert retried.id == bob.id
        assert await tx.outbox.record(alice.id, "i1", sent(T0), T0) is None


async def test_recording_is_refused_once_another_claimant_took_the_row(store: Store) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket)], T0)
    async with store.transaction() as tx:
        [lost] = await tx.outbox.claim(T0, 10, LEASE, "i1")
    async with store.transaction() as tx:
        [taken] = await tx.outbox.claim(T0 + LEASE, 10, LEASE, "i2")
    async with store.transaction() as tx:
        assert await tx.outbox.record(lost.id, "i1", sent(T0 + LEASE), T0 + LEASE) is None
        assert await tx.outbox.record(taken.id, "i2", sent(T0 + LEASE), T0 + LEASE) is not None
        assert await tx.outbox.record(taken.id, "i3", sent(T0 + LEASE), T0 + LEASE) is None
    async with store.reading() as tx:
        [row] = await tx.outbox.rows(ticket)
    assert (row.state, row.attempts) == (PageState.SENT, 1)


async def test_two_claimants_at_once_take_different_rows_without_waiting(
    shared_store: Store,
) -> None:
    ticket = await open_ticket(shared_store)
    async with shared_store.transaction() as tx:
        await tx.outbox.add([page(ticket, operator=name) for name in "abcd"], T0)
    async with shared_store.transaction() as first:
        mine = await first.outbox.claim(T0, 2, LEASE, "i1")
        async with shared_store.transaction() as second:
            theirs = await second.outbox.claim(T0, 10, LEASE, "i2")
    assert [p.row.operator for p in mine] == ["a", "b"]
    assert [p.row.operator for p in theirs] == ["c", "d"]


async def test_sent_before_tells_whether_another_page_of_the_ticket_went_out(
    store: Store,
) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket), page(ticket, operator="bob")], T0)
        alice, bob = await tx.outbox.claim(T0, 10, LEASE, "i1")
        assert await tx.outbox.sent_before(ticket, alice.id) is False
        await tx.outbox.record(alice.id, "i1", sent(T0), T0)
        assert await tx.outbox.sent_before(ticket, alice.id) is False
        assert await tx.outbox.sent_before(ticket, bob.id) is True


async def test_rows_lists_a_tickets_rows_or_all_oldest_first(store: Store) -> None:
    one, two = await open_ticket(store, "one"), await open_ticket(store, "two")
    fault = page(None, PageKind.PROBER_FAULT, subject="prober-fault/eu/2026")
    async with store.transaction() as tx:
        await tx.outbox.add([page(two), fault, page(one)], T0)
        everything = await tx.outbox.rows()
        assert [p.row.ticket_id for p in everything] == [two, None, one]
        assert [p.row for p in await tx.outbox.rows(one)] == [page(one)]
        assert everything[1].onset_at is None


async def test_pruning_deletes_finished_rows_of_no_ticket_created_before_the_cutoff(
    store: Store,
) -> None:
    ticket = await open_ticket(store)
    faults = [page(None, PageKind.PROBER_FAULT, subject=f"prober-fault/{n}") for n in range(3)]
    async with store.transaction() as tx:
        await tx.outbox.add([*faults, page(ticket)], T0)
        await tx.outbox.add(
            [page(None, PageKind.PROBER_OK, subject="prober-fault/late")], T0 + 1 * LEASE
        )
        for row in await tx.outbox.claim(T0 + LEASE, 10, LEASE, "i1"):
            if row.row.subject != "prober-fault/2":
                await tx.outbox.record(row.id, "i1", sent(T0 + LEASE), T0 + LEASE)
    async with store.transaction() as tx:
        assert await tx.outbox.prune(T0 + MINUTE, 1) == 1
        assert await tx.outbox.prune(T0 + MINUTE, 10) == 1
        assert await tx.outbox.prune(T0 + MINUTE, 10) == 0
        left = sorted(p.row.subject for p in await tx.outbox.rows())
    assert left == ["prober-fault/2", "prober-fault/late", f"ticket/{ticket}"]


async def test_releasing_every_claim_lets_a_new_claimant_take_the_rows_at_once(
    store: Store,
) -> None:
    ticket = await open_ticket(store)
    async with store.transaction() as tx:
        await tx.outbox.add([page(ticket, due=T0)], T0)
        [claimed] = await tx.outbox.claim(T0, 10, LEASE, "died")
    async with store.transaction() as tx:
        assert await tx.outbox.release_claims("restarted") == 1
        [again] = await tx.outbox.claim(T0, 10, LEASE, "restarted")
        assert await tx.outbox.record(claimed.id, "died", sent(T0), T0) is None
    assert again.id == claimed.id
