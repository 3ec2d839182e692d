"""Raw probe results: kept for statistics, pruned by age a whole day at a time at most."""

from __future__ import annotations

from datetime import timedelta

from sitewatch.model import ResultKind
from sitewatch.storage.protocols import Store
from tests.store_contract.records import MINUTE, T0, result

DAY = timedelta(days=1)


async def test_first_results_gives_each_checks_earliest_result_at_any_location(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        await tx.checks.add_results("eu", [result("a", T0), result("a", T0 - MINUTE)])
        await tx.checks.add_results("us", [result("a", T0 - 2 * MINUTE), result("b", T0)])
    async with store.transaction() as tx:
        await tx.checks.add_results("eu", [result("a", T0 + MINUTE, ResultKind.DNS)])
    async with store.reading() as tx:
        assert await tx.checks.first_results() == {"a": T0 - 2 * MINUTE, "b": T0}


async def test_adding_no_results_changes_nothing(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.add_results("eu", [])
    async with store.reading() as tx:
        assert await tx.checks.first_results() == {}


async def test_pruning_deletes_results_a_day_older_than_the_cutoff_and_keeps_newer_ones(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        await tx.checks.add_results(
            "eu", [result("a", T0 - 3 * DAY), result("b", T0 - 3 * DAY), result("b", T0)]
        )
        await tx.checks.add_results("us", [result("a", T0 - 3 * DAY + MINUTE)])
        await tx.checks.add_results("eu", [result("a", T0 - MINUTE), result("a", T0)])
    async with store.transaction() as tx:
        assert await tx.checks.prune_results(T0 - DAY, 1000) == 3
    async with store.reading() as tx:
        assert await tx.checks.first_results() == {"a": T0 - MINUTE, "b": T0}


async def test_pruning_until_it_returns_zero_deletes_every_old_result(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.add_results(
            "eu", [result(f"c{n}", T0 - 5 * DAY + n * MINUTE) for n in range(7)]
        )
        await tx.checks.add_results("eu", [result("a", T0)])
    deleted, rounds = 0, 0
    while True:
        async with store.transaction() as tx:
            count = await tx.checks.prune_results(T0 - DAY, 3)
        deleted, rounds = deleted + count, rounds + 1
        if count == 0:
            break
        assert rounds < 10
    assert deleted == 7
    async with store.reading() as tx:
        assert await tx.checks.first_results() == {"a": T0}


async def test_results_at_or_after_the_cutoff_are_never_pruned(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.add_results("eu", [result("a", T0), result("a", T0 + DAY)])
    async with store.transaction() as tx:
        assert await tx.checks.prune_results(T0, 1000) == 0
    async with store.reading() as tx:
        assert await tx.checks.first_results() == {"a": T0}
