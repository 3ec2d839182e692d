"""Each check's status at each location, and its verdict."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from sitewatch.model import ResultKind, State, Verdict
from sitewatch.storage.protocols import Store, StoreConflictError
from tests.store_contract.conftest import Backend
from tests.store_contract.records import T0, down_status, up_status, verdict_down


async def test_statuses_read_back_as_written_per_location(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"a": down_status(), "b": up_status()}, based_on={})
        await tx.checks.save_locations("us", {"a": up_status()}, based_on={})
    async with store.transaction() as tx:
        assert await tx.checks.lock_locations("eu", ["a", "b", "never"]) == {
            "a": down_status(),
            "b": up_status(),
        }
        assert await tx.checks.lock_locations("us", ["a", "b"]) == {"a": up_status()}


async def test_location_statuses_maps_each_check_to_its_locations(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"a": down_status(), "b": up_status()}, based_on={})
        await tx.checks.save_locations("us", {"a": up_status()}, based_on={})
    async with store.reading() as tx:
        assert await tx.checks.location_statuses(["a"]) == {
            "a": {"eu": down_status(), "us": up_status()}
        }
        assert await tx.checks.location_statuses() == {
            "a": {"eu": down_status(), "us": up_status()},
            "b": {"eu": up_status()},
        }
        assert await tx.checks.location_statuses([]) == {}


async def test_a_status_replaces_the_version_it_was_decided_on(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"a": up_status(version=1)}, based_on={})
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"a": down_status(version=2)}, based_on={"a": 1})
    async with store.reading() as tx:
        assert await tx.checks.location_statuses(["a"]) == {"a": {"eu": down_status(version=2)}}


@pytest.mark.parametrize("basis", [0, 2])
async def test_a_status_decided_on_another_version_lost_a_race(store: Store, basis: int) -> None:
    # Decided on no row (0), or on a version the row never held (2): another writer
    # moved the row on, so nothing of the transaction is written.
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"a": up_status(version=1)}, based_on={})
    with pytest.raises(StoreConflictError):
        async with store.transaction() as tx:
            await tx.checks.save_locations(
                "eu", {"b": up_status(), "a": down_status(version=3)}, based_on={"a": basis}
            )
    async with store.reading() as tx:
        assert await tx.checks.location_statuses() == {"a": {"eu": up_status(version=1)}}


async def test_failing_at_lists_the_checks_whose_last_result_there_is_of_those_kinds(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        await tx.checks.save_locations(
            "eu",
            {
                "c": up_status(last=ResultKind.DNS),
                "a": up_status(last=ResultKind.TIMEOUT),
                "b": up_status(last=ResultKind.HTTP_STATUS),
                "d": up_status(),
            },
            based_on={},
        )
        await tx.checks.save_locations("us", {"e": up_status(last=ResultKind.DNS)}, based_on={})
    async with store.reading() as tx:
        network = [ResultKind.DNS, ResultKind.CONNECT, ResultKind.TIMEOUT]
        assert await tx.checks.failing_at("eu", network) == ["a", "c"]
        assert await tx.checks.failing_at("eu", []) == []
        assert await tx.checks.failing_at("mars", network) == []


async def test_down_at_lists_the_checks_a_location_has_down(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"b": down_status(), "a": down_status()}, based_on={})
        await tx.checks.save_locations("eu", {"c": up_status()}, based_on={})
        await tx.checks.save_locations("us", {"d": down_status()}, based_on={})
    async with store.reading() as tx:
        assert await tx.checks.down_at("eu") == ["a", "b"]
        assert await tx.checks.down_at("mars") == []


async def test_verdicts_read_back_with_their_open_outage(store: Store) -> None:
    up = Verdict(State.UP, T0)
    async with store.transaction() as tx:
        await tx.checks.save_verdicts({"a": verdict_down(), "b": up})
    async with store.transaction() as tx:
        assert await tx.checks.lock_verdicts(["a", "b", "never"]) == {"a": verdict_down(), "b": up}
        assert await tx.checks.verdicts(["b"]) == {"b": up}
        assert await tx.checks.verdicts() == {"a": verdict_down(), "b": up}
        await tx.checks.save_verdicts({"a": up})
    async with store.reading() as tx:
        assert await tx.checks.verdicts(["a"]) == {"a": up}


async def test_in_maintenance_lists_the_checks_in_a_planned_outage(store: Store) -> None:
    planned = replace(verdict_down(), state=State.MAINTENANCE)
    async with store.transaction() as tx:
        await tx.checks.save_verdicts({"b": planned, "a": planned, "c": verdict_down()})
    async with store.reading() as tx:
        assert await tx.checks.in_maintenance() == ["a", "b"]


async def test_a_second_transaction_locking_the_same_statuses_waits_for_the_first(
    backend: Backend,
) -> None:
    store = backend.store
    async with store.transaction() as tx:
        await tx.checks.save_locations("eu", {"a": up_status(version=1)}, based_on={})

    async def second() -> dict[str, object]:
        async with store.transaction() as tx:
            return dict(await tx.checks.lock_locations("eu", ["a"]))

    async with store.transaction() as tx:
        await tx.checks.lock_locations("eu", ["a"])
        other = asyncio.create_task(second())
        await backend.waiting()
        assert not other.done()
        await tx.checks.save_locations("eu", {"a": down_status(version=2)}, based_on={"a": 1})
    assert await other == {"a": down_status(version=2)}


async def test_two_transactions_judging_a_new_check_at_once_cannot_both_win(
    shared_store: Store,
) -> None:
    async with shared_store.transaction() as first:
        assert await first.checks.lock_verdicts(["new"]) == {}
        async with shared_store.transaction() as second:
            assert await second.checks.lock_verdicts(["new"]) == {}
            await second.checks.save_verdicts({"new": verdict_down()})
        with pytest.raises(StoreConflictError):
            await first.checks.save_verdicts({"new": Verdict(State.UP, T0)})
    async with shared_store.reading() as tx:
        assert await tx.checks.verdicts(["new"]) == {"new": verdict_down()}
