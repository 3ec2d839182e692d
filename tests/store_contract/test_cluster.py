"""Instances, the leader's lease with its fencing epoch, prober faults and shared values.

A backend that several hosts share times heartbeats and leases with its own clock,
so these tests pass the real time and wait (with a deadline) for leases to lapse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from sitewatch.model import Lease, LocationFault, Member
from sitewatch.storage.protocols import FencedError, Store
from tests.store_contract.conftest import DEADLINE, Backend
from tests.store_contract.records import T0

SHORT = timedelta(milliseconds=300)
LONG = timedelta(minutes=5)


def now() -> datetime:
    return datetime.now(UTC)


def member(instance: str, location: str = "eu", checks: int = 0) -> Member:
    return Member(instance, location, T0, T0, checks)


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll `condition` until it holds; fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not await condition():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def acquire(store: Store, instance: str, lease: timedelta = LONG) -> Lease | None:
    async with store.transaction() as tx:
        return await tx.cluster.acquire(instance, f"loc-{instance}", now(), lease)


async def test_heartbeats_register_instances_listed_by_location_and_name(store: Store) -> None:
    async with store.transaction() as tx:
        for name, location in (("b", "us"), ("c", "eu"), ("a", "us")):
            await tx.cluster.heartbeat(member(name, location, checks=7), now())
    async with store.transaction() as tx:
        await tx.cluster.heartbeat(member("c", "eu", checks=9), now())
        listed = await tx.cluster.members(now(), LONG)
    assert [(m.location, m.instance, m.checks) for m in listed] == [
        ("eu", "c", 9),
        ("us", "a", 7),
        ("us", "b", 7),
    ]
    assert all(m.started_at == T0 and abs(m.last_seen - now()) < LONG for m in listed)


async def test_an_instance_silent_for_longer_than_the_lease_is_no_member(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.cluster.heartbeat(member("quiet"), now())

    async def gone() -> bool:
        async with store.reading() as tx:
            return await tx.cluster.members(now(), SHORT) == []

    await eventually(gone)
    async with store.reading() as tx:
        assert [m.instance for m in await tx.cluster.members(now(), LONG)] == ["quiet"]


async def test_an_instance_that_leaves_is_no_member_at_once(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.cluster.heartbeat(member("a"), now())
        await tx.cluster.heartbeat(member("b"), now())
        await tx.cluster.leave("a")
        assert [m.instance for m in await tx.cluster.members(now(), LONG)] == ["b"]


async def test_the_first_instance_to_ask_takes_the_lease_and_renewing_keeps_its_epoch(
    store: Store,
) -> None:
    first = await acquire(store, "a")
    assert first is not None and (first.instance, first.location) == ("a", "loc-a")
    assert first.since < first.until
    renewed = await acquire(store, "a")
    assert renewed is not None
    assert (renewed.instance, renewed.epoch, renewed.since) == ("a", first.epoch, first.since)
    assert renewed.until >= first.until


async def test_nobody_takes_a_live_lease_from_its_holder(store: Store) -> None:
    held = await acquire(store, "a")
    assert await acquire(store, "b") == held


async def test_an_expired_lease_is_taken_over_with_the_epoch_raised_by_one(store: Store) -> None:
    held = await acquire(store, "a", SHORT)
    assert held is not None
    taken: list[Lease] = []

    async def took_over() -> bool:
        lease = await acquire(store, "b")
        taken.append(lease) if lease and lease.instance == "b" else None
        return bool(taken)

    await eventually(took_over)
    assert taken[0].epoch == held.epoch + 1
    assert taken[0].since >= held.until


async def test_releasing_lets_another_instance_take_over_at_once(store: Store) -> None:
    held = await acquire(store, "a")
    assert held is not None
    async with store.transaction() as tx:
        await tx.cluster.release("a", held.epoch)
    taken = await acquire(store, "b")
    assert taken is not None and (taken.instance, taken.epoch) == ("b", held.epoch + 1)


async def test_a_release_by_a_former_holder_changes_nothing(store: Store) -> None:
    held = await acquire(store, "a")
    assert held is not None
    async with store.transaction() as tx:
        await tx.cluster.release("a", held.epoch - 1)
        await tx.cluster.release("b", held.epoch)
    assert await acquire(store, "b") == held


async def test_the_fence_passes_only_for_the_holder_with_its_epoch(store: Store) -> None:
    held = await acquire(store, "a")
    assert held is not None
    async with store.transaction() as tx:
        await tx.cluster.fence("a", held.epoch)
    for instance, epoch in (("a", held.epoch - 1), ("a", held.epoch + 1), ("b", held.epoch)):
        with pytest.raises(FencedError):
            async with store.transaction() as tx:
                await tx.cluster.fence(instance, epoch)


async def test_nobody_passes_the_fence_before_anyone_took_the_lease(store: Store) -> None:
    with pytest.raises(FencedError):
        async with store.transaction() as tx:
            await tx.cluster.fence("a", 1)


async def test_a_takeover_waits_for_the_fenced_transaction_then_fences_the_former_leader(
    backend: Backend,
) -> None:
    store = backend.store
    held = await acquire(store, "a", SHORT)
    assert held is not None
    async with store.transaction() as tx:
        await tx.cluster.fence("a", held.epoch)
        # The lease lapses while the former leader's transaction is still open: wait
        # out its last 300 ms (nothing to poll here; the open transaction is the point).
        await asyncio.sleep((held.until - now()).total_seconds() + 0.05)
        takeover = asyncio.create_task(acquire(store, "b"))
        await backend.waiting()
        assert not takeover.done()
        await tx.cluster.secret("written-by-the-former-leader", "yes")
    taken = await takeover
    assert taken is not None and (taken.instance, taken.epoch) == ("b", held.epoch + 1)
    with pytest.raises(FencedError):
        async with store.transaction() as tx:
            await tx.cluster.fence("a", held.epoch)


async def test_prober_faults_are_recorded_per_location_and_cleared(store: Store) -> None:
    eu = LocationFault("eu", T0, "9 of 10 checks fail with connect")
    async with store.transaction() as tx:
        await tx.cluster.save_fault("eu", eu)
        await tx.cluster.save_fault("us", LocationFault("us", T0, "dns"))
        await tx.cluster.save_fault("eu", LocationFault("eu", T0 + LONG, "again"))
    async with store.transaction() as tx:
        assert await tx.cluster.faults() == {"eu": eu, "us": LocationFault("us", T0, "dns")}
        await tx.cluster.save_fault("us", None)
        await tx.cluster.save_fault("mars", None)
        assert await tx.cluster.faults() == {"eu": eu}


async def test_a_shared_value_is_stored_once_and_returned_ever_after(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.cluster.secret("session-key", "first") == "first"
    async with store.transaction() as tx:
        assert await tx.cluster.secret("session-key", "second") == "first"
        assert await tx.cluster.secret("ack-key", "other") == "other"
