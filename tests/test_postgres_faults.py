"""Faults on PostgreSQL: connections killed, a server restarting, a lock that never comes.

Whatever happens, a transaction either commits whole or fails with a `StoreError`
naming the database; the next one runs on a fresh connection; nothing committed is
lost; and no call hangs longer than the timeouts the store was opened with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from sitewatch.storage.postgres import PostgresStore, Timeouts, open_postgres_store
from sitewatch.storage.protocols import StoreConflictError, StoreUnavailableError
from sitewatch.storage.urls import DatabaseUrl, parse_database_url
from tests.pg import Databases, ThrowawayServer, with_database
from tests.store_contract.records import T0, declared, draft, window

QUICK = Timeouts(
    connect=timedelta(seconds=2),
    acquire=timedelta(seconds=2),
    statement=timedelta(milliseconds=800),
    lock=timedelta(milliseconds=300),
    idle_in_transaction=timedelta(milliseconds=500),
)


def terminate(url: DatabaseUrl, *, pid: int | None = None) -> int:
    """End the store's connections to its database (or one backend); return how many."""
    with psycopg.connect(url.url, autocommit=True) as admin:
        [[count]] = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'sitewatch'"
            " AND pid <> pg_backend_pid() AND (%(pid)s::int IS NULL OR pid = %(pid)s)",
            {"pid": pid},
        )
    return int(count)


@pytest.fixture
async def quick_store(pg_url: DatabaseUrl) -> AsyncIterator[PostgresStore]:
    store = await open_postgres_store(pg_url, max_size=3, timeouts=QUICK)
    try:
        yield store
    finally:
        await store.close()


async def ticket_ids(store: PostgresStore) -> list[str]:
    async with store.reading() as tx:
        return [t.id for t in await tx.tickets.page(None, 100, None)]


async def test_connections_killed_between_transactions_fail_one_and_lose_nothing(
    quick_store: PostgresStore, pg_url: DatabaseUrl
) -> None:
    async with quick_store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
    assert terminate(pg_url) >= 1
    with pytest.raises(StoreUnavailableError) as failed:
        async with quick_store.transaction() as tx:
            await tx.tickets.open(draft("second"))
    assert "terminat" in str(failed.value) or "closed" in str(failed.value)
    assert await ticket_ids(quick_store) == [ticket.id]


async def test_a_connection_killed_during_a_transaction_rolls_it_back_whole(
    quick_store: PostgresStore, pg_url: DatabaseUrl
) -> None:
    with pytest.raises(StoreUnavailableError):
        async with quick_store.transaction() as tx:
            await tx.tickets.open(draft("lost"))
            [pid] = await tx.sql.values("SELECT pg_backend_pid()")
            assert terminate(pg_url, pid=pid) == 1
            await tx.windows.add(window(), declared(window()))
    async with quick_store.transaction() as tx:
        kept, _ = await tx.tickets.open(draft("kept"))
    assert await ticket_ids(quick_store) == [kept.id]


async def test_a_statement_waiting_for_a_lock_gives_up_within_the_lock_timeout(
    quick_store: PostgresStore, pg_url: DatabaseUrl
) -> None:
    async with quick_store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
    with psycopg.connect(pg_url.url) as holder:
        holder.execute("SELECT 1 FROM tickets FOR UPDATE")  # held until this block ends
        started = time.monotonic()
        with pytest.raises(StoreConflictError, match="55P03"):
            async with quick_store.transaction() as tx:
                await tx.tickets.lock(ticket.id)
        assert time.monotonic() - started < 2
    async with quick_store.transaction() as tx:
        assert await tx.tickets.lock(ticket.id) == ticket


async def test_a_statement_that_runs_too_long_is_cancelled_as_unavailable(
    quick_store: PostgresStore,
) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="57014"):
        async with quick_store.transaction() as tx:
            await tx.sql.execute("SELECT pg_sleep(30)")
    assert time.monotonic() - started < 3


async def test_a_transaction_left_idle_is_ended_by_the_server_and_frees_its_locks(
    quick_store: PostgresStore,
) -> None:
    # A holder stopped mid-transaction (SIGSTOP, a stuck loop) must not hold its
    # row locks for ever: the server ends it after idle_in_transaction.
    async with quick_store.transaction() as tx:
        ticket, _ = await tx.tickets.open(draft())
    locked, stalled_until = asyncio.Event(), asyncio.Event()

    async def stalled() -> None:
        async with quick_store.transaction() as tx:
            await tx.tickets.lock(ticket.id)
            locked.set()
            await stalled_until.wait()
            await tx.tickets.lock(ticket.id)

    holder = asyncio.create_task(stalled())
    await locked.wait()
    conflicts = 0
    async with asyncio.timeout(5):
        while True:
            try:
                async with quick_store.transaction() as tx:
                    assert await tx.tickets.lock(ticket.id) == ticket
                break
            except StoreConflictError:
                conflicts += 1
    assert conflicts >= 1, "the stalled transaction should have held the lock for a while"
    stalled_until.set()
    with pytest.raises(StoreUnavailableError):
        await holder


async def test_pinging_a_store_whose_connections_died_reconnects(
    quick_store: PostgresStore, pg_url: DatabaseUrl
) -> None:
    terminate(pg_url)
    async with asyncio.timeout(5):
        while True:
            try:
                await quick_store.ping()
                break
            except StoreUnavailableError:
                continue


# --- a server of the test's own, stopped and started -----------------------------------


@pytest.fixture
def restartable(throwaway_pg: ThrowawayServer) -> Iterator[tuple[ThrowawayServer, DatabaseUrl]]:
    databases = Databases(throwaway_pg.url)
    url = databases.create()
    try:
        yield throwaway_pg, parse_database_url(url, Path.cwd())
    finally:
        throwaway_pg.start() if not _answers(throwaway_pg) else None
        databases.drop_all()


def _answers(server: ThrowawayServer) -> bool:
    try:
        with psycopg.connect(with_database(server.url, "postgres"), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


async def test_a_server_restart_fails_transactions_meanwhile_and_loses_nothing_committed(
    restartable: tuple[ThrowawayServer, DatabaseUrl],
) -> None:
    server, url = restartable
    timeouts = replace(QUICK, acquire=timedelta(milliseconds=500))
    store = await open_postgres_store(url, max_size=3, timeouts=timeouts)
    try:
        async with store.transaction() as tx:
            ticket, _ = await tx.tickets.open(draft())
        server.stop()
        started = time.monotonic()
        for _ in range(2):
            with pytest.raises(StoreUnavailableError):
                async with store.transaction() as tx:
                    await tx.tickets.open(draft("while-down"))
        with pytest.raises(StoreUnavailableError):
            await store.ping()
        assert time.monotonic() - started < 3 * timeouts.acquire.total_seconds() + 1
        server.start()
        async with asyncio.timeout(10):
            while True:
                try:
                    async with store.transaction() as tx:
                        after, _ = await tx.tickets.open(draft("after", onset=T0))
                    break
                except StoreUnavailableError:
                    await asyncio.sleep(0.05)
        assert sorted(await ticket_ids(store)) == sorted([ticket.id, after.id])
    finally:
        await store.close()


async def test_after_a_lost_connection_the_next_transaction_runs_on_a_live_one(
    pg_url: DatabaseUrl,
) -> None:
    store = await open_postgres_store(pg_url, min_size=3, max_size=3, timeouts=QUICK)
    try:
        with pytest.raises(StoreUnavailableError):
            async with store.transaction() as tx:
                await tx.tickets.open(draft())
                # Every connection dies at once, this one mid-transaction (a restart).
                assert terminate(pg_url) == 3
                await tx.tickets.open(draft("lost"))
        for check in ("first", "second", "third"):
            async with store.transaction() as tx:
                await tx.tickets.open(draft(check))
    finally:
        await store.close()
