"""The SQLite store: one file in WAL mode, a writer thread and a reader thread.

A write transaction (`transaction()`) holds the one writer for its whole block: it
begins with `BEGIN IMMEDIATE` (the write lock before its first statement, so a
transaction that reads and then writes never fails half-way on a lock), runs each
repository call on the writer's thread, and commits when the block ends or rolls
back if it raises or is cancelled. BEGIN and the writes whose outcome nobody awaits
travel to the thread with the next statement that is awaited (`SqliteWorker.defer`):
a batch of results costs two trips to the thread, not six. Read-only transactions
(`reading()`) run on a second connection, so the API and statistics never wait
behind the writer: WAL gives them a snapshot.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from sitewatch.storage.sqlite.checks import SqliteChecks, SqliteOutages
from sitewatch.storage.sqlite.cluster import SqliteCluster
from sitewatch.storage.sqlite.outbox import SqliteOutbox
from sitewatch.storage.sqlite.tickets import SqliteTickets
from sitewatch.storage.sqlite.windows import SqliteWindows
from sitewatch.storage.sqlite.worker import SqliteWorker


class SqliteTx:
    """One open SQLite transaction and its repositories."""

    def __init__(self, worker: SqliteWorker) -> None:
        self.checks = SqliteChecks(worker)
        self.outages = SqliteOutages(worker)
        self.tickets = SqliteTickets(worker)
        self.windows = SqliteWindows(worker)
        self.outbox = SqliteOutbox(worker)
        self.cluster = SqliteCluster(worker)


class SqliteStore:
    """The `Store` on one SQLite file. Open it with `open_sqlite_store`."""

    shared = False
    """One instance per file: several instances share a PostgreSQL database instead."""

    def __init__(
        self, path: Path, *, synchronous: str = "normal", busy_timeout: timedelta | None = None
    ) -> None:
        self.path = path
        timeout = busy_timeout or timedelta(seconds=5)
        self._writer = SqliteWorker(path, synchronous=synchronous, busy_timeout=timeout)
        self._reader = SqliteWorker(
            path, synchronous=synchronous, busy_timeout=timeout, read_only=True
        )
        # One transaction at a time per connection: a second BEGIN on the same
        # connection would fail, and its ROLLBACK end the first one's transaction.
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

    @property
    def description(self) -> str:
        """Name the database for logs."""
        return f"SQLite {self.path}"

    async def open(self) -> None:
        """Create or migrate the file, then open the reader."""
        await self._writer.open()
        await self._reader.open()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        """Open a write transaction: commit when the block ends, else roll back."""
        async with self._write_lock, _transaction(self._writer, "BEGIN IMMEDIATE") as tx:
            yield tx

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqliteTx]:
        """Open a read-only transaction on the reader connection (a WAL snapshot)."""
        async with self._read_lock, _transaction(self._reader, "BEGIN", wait=False) as tx:
            yield tx

    async def ping(self) -> None:
        """Raise unless the file answers a query now."""
        await self._reader.call(_ping)

    async def close(self) -> None:
        """Wait for the open transaction, then close both connections."""
        async with self._write_lock, self._read_lock:
            await self._reader.close()
            await self._writer.close()


@asynccontextmanager
async def _transaction(
    worker: SqliteWorker, begin: str, *, wait: bool = True
) -> AsyncIterator[SqliteTx]:
    """Run a block in a transaction; with `wait=False` its end is sent, not awaited.

    A read-only transaction has nothing to make durable: the worker ends it before
    the next call in any case, so waiting for that would only cost a wake-up.
    """
    # BEGIN travels with the block's first statement (one trip to the thread fewer).
    worker.defer(_execute, begin)
    try:
        yield SqliteTx(worker)
    except BaseException:
        # Shielded: a cancelled block must still end its transaction. The worker runs
        # calls in order, so the next BEGIN waits behind this ROLLBACK anyway.
        worker.discard_deferred()
        await asyncio.shield(worker.call(_rollback))
        raise
    if not wait:
        worker.send(_rollback)  # ends a read as COMMIT would (and if none began, is no-op)
        return
    try:
        await asyncio.shield(worker.call(_execute, "COMMIT"))
    except BaseException:
        await asyncio.shield(worker.call(_rollback))
        raise


def _execute(conn: sqlite3.Connection, sql: str) -> None:
    conn.execute(sql)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _ping(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT 1").fetchone()


async def open_sqlite_store(
    path: Path, *, synchronous: str = "normal", busy_timeout: timedelta | None = None
) -> SqliteStore:
    """Open (create, migrate) the database at `path`; its directory is created too."""
    store = SqliteStore(path, synchronous=synchronous, busy_timeout=busy_timeout)
    try:
        await store.open()
    except BaseException:
        await store.close()
        raise
    return store
