"""The PostgreSQL store: a bounded pool of connections, one transaction per unit of work.

`open_postgres_store` migrates the schema (once, whoever starts first), opens an
`AsyncConnectionPool` and makes the coming days' result partitions. Every
`transaction()` takes one connection, runs the block at READ COMMITTED (row locks
where a decision needs them) and commits when the block ends. A connection lost
in the middle fails the transaction with `StoreUnavailableError`: nothing of it is
committed, the connection is discarded, and the pool's idle connections are
checked so that the next transaction runs on a live one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from sitewatch.model.redaction import SecretsFilter, redact
from sitewatch.storage.postgres import partitions, results
from sitewatch.storage.postgres.errors import translated
from sitewatch.storage.postgres.migrate import migrate
from sitewatch.storage.postgres.session import Timeouts, connection_kwargs
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.postgres.tx import PostgresTx
from sitewatch.storage.protocols import StoreError, StoreUnavailableError
from sitewatch.storage.urls import DatabaseUrl

log = logging.getLogger(__name__)

DRIVER_LOGGERS = ("psycopg", "psycopg.pool")
"""Loggers of the driver whose records could quote a connection string."""


class PostgresStore:
    """The `Store` on a PostgreSQL database that several instances may share."""

    def __init__(
        self, url: DatabaseUrl, pool: AsyncConnectionPool[Any], timeouts: Timeouts
    ) -> None:
        self._url = url
        self._pool = pool
        self._timeouts = timeouts
        self._secrets = secrets_of(url)
        self._partitioned: set[date] = set()
        self._known_firsts = results.KnownFirsts()
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._filter = SecretsFilter(self._secrets, level=logging.WARNING)
        for name in DRIVER_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    @property
    def description(self) -> str:
        """Name the database for logs: its URL without the password."""
        return f"PostgreSQL {self._url.redacted}"

    @property
    def shared(self) -> bool:
        """Tell that several instances may use this database at once (they may)."""
        return True

    def transaction(self) -> AbstractAsyncContextManager[PostgresTx]:
        """Open a write transaction: it commits when the block ends, else rolls back."""
        return self._unit(read_only=False)

    def reading(self) -> AbstractAsyncContextManager[PostgresTx]:
        """Open a read-only transaction."""
        return self._unit(read_only=True)

    async def ping(self) -> None:
        """Raise `StoreUnavailableError` unless the database answers now."""
        deadline = (self._timeouts.acquire + self._timeouts.statement).total_seconds()
        try:
            async with asyncio.timeout(deadline), self._unit(read_only=True) as tx:
                await tx.sql.execute("SELECT 1")
        except TimeoutError:
            raise StoreUnavailableError(
                f"{self.description}: no answer in {deadline:g} s"
            ) from None

    async def close(self) -> None:
        """Wait for open transactions, then close every connection."""
        self._closed = True
        await self._idle.wait()
        await self._pool.close()
        for name in DRIVER_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    async def prepare_partitions(self) -> None:
        """Make the partitions of today and the next days (done at open and when pruning)."""
        async with self._unit(read_only=False) as tx:
            self._partitioned = await partitions.ensure_ahead(tx.sql)

    @asynccontextmanager
    async def _unit(self, *, read_only: bool) -> AsyncIterator[PostgresTx]:
        if self._closed:
            raise StoreUnavailableError(f"{self.description}: the store is closed")
        self._active += 1
        self._idle.clear()
        try:
            with translated(self.description, self._secrets):
                async with self._pool.connection(self._timeouts.acquire.total_seconds()) as conn:
                    tx = PostgresTx(Sql(conn, self.description, self._secrets), self._known_firsts)
                    # BEGIN READ ONLY, in one statement: a SET TRANSACTION after the
                    # BEGIN cost every read a round trip more.
                    await conn.set_read_only(True if read_only else None)
                    try:
                        async with conn.transaction():
                            yield tx
                    except (psycopg.Error, StoreError):
                        if conn.broken:
                            await self._connection_lost()
                        raise
                    self._known_firsts.learn(tx.written.firsts)
                    await self._partition(tx)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def _partition(self, tx: PostgresTx) -> None:
        """Make partitions for the days a committed transaction wrote results of."""
        missing = tx.written.days - self._partitioned
        if not missing:
            return
        try:
            async with tx.sql.conn.transaction():
                self._partitioned = await partitions.ensure(tx.sql, missing)
        except StoreError as error:
            # The results are committed (in results_default); the next batch retries.
            log.warning("%s: could not make results partitions now: %s", self.description, error)
        except Exception:
            # A bug, but the caller's transaction did commit: say so, and do not
            # make the caller retry (and write its results twice).
            log.exception("%s: making results partitions failed", self.description)

    async def _connection_lost(self) -> None:
        """Check the idle connections: a restart or a cut kills them all at once."""
        try:
            async with asyncio.timeout(self._timeouts.connect.total_seconds()):
                await self._pool.check()
        except (TimeoutError, psycopg.Error) as error:
            log.info("%s: checking pooled connections: %s", self.description, error)


def secrets_of(url: DatabaseUrl) -> frozenset[str]:
    """Return what must never be shown of a URL: its password, as written and decoded."""
    try:
        written = urlsplit(url.url).password
    except ValueError:
        written = None
    return frozenset(s for s in (written, written and unquote(written)) if s)


@contextmanager
def _usable(url: DatabaseUrl) -> Iterator[None]:
    """Turn libpq's refusal of a URL into a ValueError that never shows the password."""
    try:
        yield
    except psycopg.ProgrammingError as error:
        reason = redact(str(error).strip(), secrets_of(url))
        raise ValueError(f"{url.redacted!r} is not a usable postgresql URL: {reason}") from None


async def open_postgres_store(
    url: DatabaseUrl, *, min_size: int = 1, max_size: int = 10, timeouts: Timeouts | None = None
) -> PostgresStore:
    """Open (migrating as needed) the database a `postgresql://` URL names.

    Raises ValueError for a URL libpq cannot use, `SchemaError` for a database
    this sitewatch cannot use, and `StoreUnavailableError` when the server cannot
    be reached.
    """
    if url.scheme != "postgresql":
        raise ValueError(f"{url.redacted!r} is not a postgresql:// URL")
    timeouts = timeouts or Timeouts()
    kwargs = connection_kwargs(url.options, timeouts)
    description = f"PostgreSQL {url.redacted}"
    secrets = secrets_of(url)
    with _usable(url):
        conninfo = make_conninfo(url.url, **kwargs)
    with translated(description, secrets), _usable(url):
        conn = await AsyncConnection.connect(conninfo, autocommit=True)
        async with conn:
            await migrate(conn, description)
    pool = _pool(conninfo, min_size, max_size, timeouts)
    try:
        with translated(description, secrets):
            await pool.open(wait=True, timeout=timeouts.connect.total_seconds())
    except BaseException:
        await pool.close()
        raise
    store = PostgresStore(url, pool, timeouts)
    try:
        await store.prepare_partitions()
    except BaseException:
        await store.close()
        raise
    return store


def _pool(
    conninfo: str, min_size: int, max_size: int, timeouts: Timeouts
) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(
        conninfo,
        kwargs={"autocommit": True},
        min_size=min_size,
        max_size=max_size,
        open=False,
        name="sitewatch",
        timeout=timeouts.acquire.total_seconds(),
        # Give up a reconnection attempt soon: the next client then starts a fresh
        # one at once, instead of waiting out an exponential backoff that has grown
        # during a long outage.
        reconnect_timeout=max(10.0, 2 * timeouts.connect.total_seconds()),
    )
