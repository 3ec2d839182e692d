"""Maintenance windows and their audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sitewatch.model import WindowChange
from sitewatch.storage import Cursor, Store
from tests.store_contract.records import MINUTE, T0, declared, window

HOUR = timedelta(hours=1)


async def test_adding_a_window_gives_it_an_id_and_its_declared_line(store: Store) -> None:
    new = window(checks=("acme-portal", "acme-api"))
    async with store.transaction() as tx:
        stored = await tx.windows.add(new, declared(new))
    assert stored == replace(new, id=stored.id)
    async with store.reading() as tx:
        assert await tx.windows.get(stored.id) == stored
        assert await tx.windows.changes(stored.id) == [replace(declared(new), window_id=stored.id)]


async def test_saving_a_window_writes_its_new_end_or_cancellation_with_a_line_each(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        stored = await tx.windows.add(window(), declared(window()))
    longer = replace(stored, end=stored.end + HOUR)
    changed = WindowChange(stored.id, T0 + MINUTE, "customer:acme", "changed", "end +1h")
    cancelled = replace(longer, cancelled_at=T0 + 2 * MINUTE)
    gone = WindowChange(stored.id, T0 + 2 * MINUTE, "operator:alice", "cancelled")
    async with store.transaction() as tx:
        locked = await tx.windows.lock(stored.id)
        assert locked == stored
        await tx.windows.save(longer, changed)
    async with store.transaction() as tx:
        await tx.windows.save(cancelled, gone)
    async with store.reading() as tx:
        assert await tx.windows.get(stored.id) == cancelled
        trail = await tx.windows.changes(stored.id)
    assert trail == [replace(declared(window()), window_id=stored.id), changed, gone]


async def test_saving_a_window_that_does_not_exist_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError):
        async with store.transaction() as tx:
            await tx.windows.save(replace(window(), id="424242"), declared(window()))


async def test_covering_returns_the_customers_live_windows_ending_after_the_time(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        ended = await tx.windows.add(window(start=T0 - 3 * HOUR), declared(window()))
        later = await tx.windows.add(window(start=T0 + 5 * HOUR), declared(window()))
        now = await tx.windows.add(window(start=T0 - HOUR, checks=("a",)), declared(window()))
        other = await tx.windows.add(window("globex", start=T0), declared(window("globex")))
        dropped = await tx.windows.add(window(start=T0), declared(window()))
        await tx.windows.save(replace(dropped, cancelled_at=T0), declared(window()))
        await tx.windows.add(window("initech", start=T0), declared(window("initech")))
    async with store.reading() as tx:
        assert await tx.windows.covering(["acme"], T0) == [now, later]
        assert await tx.windows.covering(["acme", "globex"], T0) == [now, other, later]
        assert await tx.windows.covering([], T0) == []
        assert ended in await tx.windows.covering(["acme"], T0 - 2 * HOUR)
        assert ended not in await tx.windows.covering(["acme"], ended.end)


async def test_page_lists_latest_start_first_per_customer_and_goes_on_after_a_cursor(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        acme = [
            await tx.windows.add(window(start=T0 + n * HOUR), declared(window())) for n in range(3)
        ]
        globex = await tx.windows.add(window("globex", start=T0 + 10 * HOUR), declared(window()))
    async with store.reading() as tx:
        assert await tx.windows.page(None, 10, None) == [globex, *reversed(acme)]
        first = await tx.windows.page("acme", 2, None)
        assert first == [acme[2], acme[1]]
        after = Cursor(first[-1].start, first[-1].id)
        assert await tx.windows.page("acme", 2, after) == [acme[0]]
        assert await tx.windows.page("nobody", 10, None) == []


async def test_count_not_ended_counts_windows_neither_ended_nor_cancelled(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.windows.add(window(start=T0 - 3 * HOUR), declared(window()))
        await tx.windows.add(window(start=T0 - HOUR), declared(window()))
        await tx.windows.add(window(start=T0 + HOUR), declared(window()))
        dropped = await tx.windows.add(window(start=T0 + HOUR), declared(window()))
        await tx.windows.save(replace(dropped, cancelled_at=T0), declared(window()))
        await tx.windows.add(window("globex", start=T0), declared(window("globex")))
        assert await tx.windows.count_not_ended("acme", T0) == 2
        assert await tx.windows.count_not_ended("nobody", T0) == 0


async def test_pruning_deletes_windows_ended_or_cancelled_before_the_cutoff_with_their_trail(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        old = [
            await tx.windows.add(window(start=T0 - (n + 5) * HOUR), declared(window()))
            for n in range(2)
        ]
        cancelled = await tx.windows.add(window(start=T0 + HOUR), declared(window()))
        await tx.windows.save(replace(cancelled, cancelled_at=T0 - 2 * HOUR), declared(window()))
        live = await tx.windows.add(window(start=T0 - HOUR), declared(window()))
    async with store.transaction() as tx:
        assert await tx.windows.prune_ended(T0, 2) == 2
    async with store.transaction() as tx:
        assert await tx.windows.prune_ended(T0, 2) == 1
        assert await tx.windows.prune_ended(T0, 2) == 0
    async with store.reading() as tx:
        for gone in (*old, cancelled):
            assert await tx.windows.get(gone.id) is None
            assert await tx.windows.changes(gone.id) == []
        assert await tx.windows.get(live.id) == live
