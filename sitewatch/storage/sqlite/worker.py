"""One SQLite connection, owned by one worker thread that runs every call on it.

A `sqlite3` connection belongs to the thread that opened it, so one dedicated thread
owns it and runs each call in turn; the event loop only awaits. Calls run in the
order they were submitted, so a rollback submitted by a cancelled transaction still
runs before the next transaction's BEGIN. A call already started runs to its end
even if its awaiting task is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sitewatch.storage.protocols import StoreConflictError, StoreUnavailableError
from sitewatch.storage.sqlite.migrations import migrate

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Query = Callable[Concatenate[sqlite3.Connection, P], T]
"""A function run on the connection: the connection first, then its arguments."""


class SqliteWorker:
    """The connection to one SQLite file and the one thread allowed to use it."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str,
        busy_timeout: timedelta,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._read_only = read_only
        name = "sitewatch-sqlite-read" if read_only else "sitewatch-sqlite"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        """Touched only on the worker thread."""
        self._deferred: list[Callable[[sqlite3.Connection], object]] = []
        """Statements waiting to travel with the next call (`defer`)."""
        self._closed = False

    async def open(self) -> None:
        """Connect and set the pragmas; the writer also migrates the schema."""
        await self._submit(self._connect)

    def defer(self, query: Query[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run `query(conn, *args)` on the thread just before the next call's query.

        For statements whose outcome nobody awaits (a BEGIN, a write): they travel
        with the next call instead of costing a trip to the thread each (~50 µs of
        the event loop's CPU here). An error they raise is raised by that call, inside
        the same transaction, which then rolls back as if they had been awaited.
        """
        self._deferred.append(lambda conn: query(conn, *args, **kwargs))

    def send(self, query: Query[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run the deferred statements, then `query(conn, *args)`, without waiting.

        For the end of a transaction nothing depends on (a read-only one's COMMIT):
        the calls after it run after it, as always, and the event loop is not woken
        when it is done (each wake-up costs about as much CPU as a small query). An
        error is logged; it cannot go unseen, since a connection left inside a
        transaction fails the next BEGIN.
        """
        if self._closed:
            return
        deferred, self._deferred = self._deferred, []

        def run() -> None:
            conn = self._conn
            if conn is not None:
                for statement in deferred:
                    statement(conn)
                query(conn, *args, **kwargs)

        self._executor.submit(run).add_done_callback(self._sent)

    def _sent(self, done: Future[None]) -> None:
        error = done.exception()
        if error is not None:
            log.error("%s: a statement sent without waiting failed: %s", self.path, error)

    def discard_deferred(self) -> None:
        """Forget the statements not sent yet (their transaction is rolling back)."""
        self._deferred.clear()

    async def call(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the deferred statements, then `query(conn, *args)`, on the worker thread."""
        deferred, self._deferred = self._deferred, []

        def run() -> T:
            conn = self._conn
            if conn is None:
                raise RuntimeError(f"the store on {self.path} is not open")
            try:
                for statement in deferred:
                    statement(conn)
                return query(conn, *args, **kwargs)
            except sqlite3.OperationalError as error:
                mapped = _mapped(error, self.path)
                if mapped is None:
                    raise
                raise mapped from error

        return await self._submit(run)

    async def close(self) -> None:
        """Finish queued calls, close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            # The worker is idle by now: this only joins its thread.
            self._executor.shutdown(wait=True)

    async def _submit(self, call: Callable[[], T]) -> T:
        if self._closed:
            raise StoreUnavailableError(f"the store on {self.path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _connect(self) -> None:
        timeout = self._busy_timeout.total_seconds()
        if self._read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, timeout=timeout, isolation_level=None, uri=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
            if not self._read_only:
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


def _mapped(error: sqlite3.OperationalError, path: Path) -> Exception | None:
    """Return the store error an operational failure means, or None for a bug."""
    message = str(error).lower()
    if "locked" in message or "busy" in message:
        return StoreConflictError(f"{path}: {message}")
    if any(word in message for word in ("disk", "i/o", "full", "unable to open")):
        return StoreUnavailableError(f"{path}: {message}")
    return None
