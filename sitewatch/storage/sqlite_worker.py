"""One SQLite connection, owned by one worker thread that runs jobs as transactions.

A `sqlite3` connection belongs to the thread that opened it, and SQLite admits one
writer at a time anyway, so one dedicated thread owns the connection and runs each
job in turn; the event loop only awaits it. If the awaiting task is cancelled, a
job still queued never starts and one already started runs to its end: it may
commit although the caller never sees the result, which is safe because every
write the store makes is idempotent on replay.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TypeVar

from sitewatch.storage.migrations import migrate

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]


class Synchronous(StrEnum):
    """How hard SQLite works to make a commit durable (`PRAGMA synchronous`)."""

    NORMAL = "NORMAL"
    """Fsync only at WAL checkpoints: commits survive a crash of the process (SIGKILL);
    the last ones may be lost if the machine loses power."""
    FULL = "FULL"
    """Fsync the WAL at every commit: commits survive power loss too, at one fsync each."""


class SqliteWorker:
    """The connection to one SQLite file and the one thread allowed to use it."""

    def __init__(self, path: Path, *, synchronous: Synchronous, busy_timeout: timedelta) -> None:
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sitewatch-sqlite")
        self._conn: sqlite3.Connection | None = None
        """Touched only on the worker thread."""
        self._closed = False

    async def open(self) -> None:
        """Connect, set the pragmas and migrate the schema, on the worker thread."""
        await self._on_thread(self._connect)

    async def transact(self, job: Job[T], *, write: bool) -> T:
        """Run `job` in one transaction on the worker thread and return its result."""
        return await self._on_thread(partial(self._run, job, write))

    async def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            # The worker is idle by now: this only joins its thread.
            self._executor.shutdown(wait=True)

    async def _on_thread(self, call: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError(f"the store on {self.path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _run(self, job: Job[T], write: bool) -> T:
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"the store on {self.path} is not open")
        # BEGIN IMMEDIATE takes the write lock up front: a transaction that reads and
        # then writes can never fail half-way with SQLITE_BUSY.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = job(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        timeout = self._busy_timeout.total_seconds()
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self._synchronous.value}")
            migrate(conn, self.path)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                log.warning("%s: WAL is not available here; SQLite uses %s", self.path, mode)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
