"""What a takeover needs of a store: the lease as it stands, claims released, the dead forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sitewatch.model import Member
from sitewatch.storage.protocols import Store
from tests.store_contract.records import T0, draft, page

LEASE = timedelta(minutes=2)


async def test_a_new_leader_releases_every_claim_but_its_own(store: Store) -> None:
    async with store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
        rows = [page(ticket.id, operator=name) for name in ("alice", "bob", "carol")]
        await tx.outbox.add(rows, T0)
        [first] = await tx.outbox.claim(T0, 1, LEASE, "old/1")
        [second] = await tx.outbox.claim(T0, 1, LEASE, "new/2")
        assert await tx.outbox.claim(T0, 5, LEASE, "new/2") != []  # the third row
    async with store.transaction() as tx:
        assert await tx.outbox.release_claims("new/2") == 1
        [again] = await tx.outbox.claim(T0, 5, LEASE, "new/2")
        assert await tx.outbox.release_claims("new/2") == 0
    assert again.id == first.id != second.id


async def test_the_lease_reads_as_it_stands_also_once_expired(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.cluster.lease() is None
        now = datetime.now(UTC)
        taken = await tx.cluster.acquire("a", "east", now, timedelta(milliseconds=1))
    async with store.transaction() as tx:
        read = await tx.cluster.lease()
    assert taken is not None and read is not None
    assert (read.instance, read.location, read.epoch) == ("a", "east", taken.epoch)


async def test_instances_silent_since_before_a_moment_are_forgotten(store: Store) -> None:
    now = datetime.now(UTC)
    async with store.transaction() as tx:
        for name in ("a", "b"):
            await tx.cluster.heartbeat(Member(name, "east", T0, T0), now)
    async with store.transaction() as tx:
        assert await tx.cluster.forget(now - timedelta(hours=1)) == 0
        assert await tx.cluster.forget(now + timedelta(hours=1)) == 2
        assert await tx.cluster.members(now, timedelta(days=1)) == []
