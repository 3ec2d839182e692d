"""A transaction commits whole when its block ends, or not at all; ids of any form."""

from __future__ import annotations

import asyncio

import pytest

from sitewatch.storage.protocols import Store, StoreUnavailableError
from tests.store_contract.records import T0, declared, draft, window


async def test_what_a_transaction_writes_is_there_for_the_next_one(store: Store) -> None:
    async with store.transaction() as tx:
        stored = await tx.windows.add(window(), declared(window()))
    async with store.reading() as tx:
        assert await tx.windows.get(stored.id) == stored


async def test_a_transaction_whose_block_raises_commits_nothing_and_the_error_goes_on(
    store: Store,
) -> None:
    class BoomError(Exception):
        pass

    with pytest.raises(BoomError):
        async with store.transaction() as tx:
            ticket, _ = await tx.tickets.open(draft())
            raise BoomError
    async with store.reading() as tx:
        assert await tx.tickets.page(None, 10, None) == []
        assert await tx.tickets.get(ticket.id) is None


async def test_a_reading_transaction_sees_what_was_committed_before_it(store: Store) -> None:
    async with store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
    async with store.reading() as tx:
        assert await tx.tickets.get(ticket.id) == ticket


async def test_each_reading_transaction_sees_what_was_committed_since_the_last(
    store: Store,
) -> None:
    """A reading transaction ends with its block (SQLite: without waiting for the end)."""
    for expected in (0, 1, 2):
        async with store.reading() as tx:
            assert await tx.tickets.count_unresolved() == expected
        async with store.transaction() as tx:
            await tx.tickets.open(draft(check=f"c{expected}"))


async def test_writing_in_a_reading_transaction_fails_and_stores_nothing(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017 - each backend says it its own way
        async with store.reading() as tx:
            await tx.tickets.open(draft())
    async with store.reading() as tx:
        assert await tx.tickets.count_unresolved() == 0


@pytest.mark.parametrize(
    "odd_id",
    ["007", "-1", "+1", "abc", "1.0", " 1", "1 ", "", "0x1", "\u0661", "9" * 19, "1" * 20],
)
async def test_an_id_of_any_other_form_finds_nothing(store: Store, odd_id: str) -> None:
    async with store.transaction() as tx:
        await tx.tickets.open(draft())
        await tx.windows.add(window(), declared(window()))
        assert await tx.tickets.get(odd_id) is None
        assert await tx.tickets.lock(odd_id) is None
        assert await tx.windows.get(odd_id) is None
        assert await tx.windows.lock(odd_id) is None
        assert await tx.windows.changes(odd_id) == []
        assert await tx.outbox.rows(odd_id) == []
        assert await tx.outbox.sent_before(odd_id, 1) is False


async def test_ids_are_short_decimal_strings_that_find_their_record(store: Store) -> None:
    async with store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
        stored = await tx.windows.add(window(), declared(window()))
    for found in (ticket.id, stored.id):
        assert found.isdigit() and str(int(found)) == found
    async with store.reading() as tx:
        assert (await tx.tickets.get(ticket.id)) == ticket
        assert (await tx.windows.get(stored.id)) == stored


async def test_closing_waits_for_a_transaction_in_progress(store: Store) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def work() -> None:
        async with store.transaction() as tx:
            await tx.windows.add(window(start=T0), declared(window()))
            inside.set()
            await release.wait()

    task = asyncio.create_task(work())
    await inside.wait()
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0)
    assert not closing.done()
    release.set()
    await task
    await closing


async def test_a_working_store_answers_a_ping(store: Store) -> None:
    await store.ping()


async def test_a_closed_store_refuses_new_transactions_as_unavailable(store: Store) -> None:
    await store.close()
    with pytest.raises(StoreUnavailableError):
        async with store.transaction():
            pass
    await store.close()  # closing again changes nothing
