"""The store under test, once per backend: every test here runs against each of them.

A backend joins by adding one opener to `OPENERS`. `Backend.waiting` lets a test
know that a second transaction has reached the lock the first one holds, so that
tests about locks prove an order instead of hoping for one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from sitewatch.storage.postgres import PostgresStore, open_postgres_store
from sitewatch.storage.protocols import Store
from sitewatch.storage.sqlite import open_sqlite_store
from sitewatch.storage.urls import DatabaseUrl
from tests.pg_fixtures import TEST_TIMEOUTS

DEADLINE = 10.0
"""How long a test polls for something that should happen in milliseconds."""


class Backend:
    """One backend's store for a test, and how to observe its locks."""

    def __init__(self, name: str, store: Store) -> None:
        self.name = name
        self.store = store

    async def waiting(self, count: int = 1) -> None:
        """Return once `count` transactions wait for a lock another one holds.

        A backend with a single writer makes the second transaction wait before it
        starts, which nothing outside shows: there this only lets the others run.
        """
        if not isinstance(self.store, PostgresStore):
            for _ in range(10):
                await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while loop.time() < deadline:
            async with self.store.reading() as tx:
                [waiting] = await tx.sql.values(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE NOT l.granted AND a.datname = current_database()"
                )
            if waiting >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {count} transaction(s) waited for a lock in {DEADLINE} s")


async def open_sqlite(directory: Path) -> Store:
    """Open the SQLite backend on a new file."""
    return await open_sqlite_store(directory / "db.sqlite")


OPENERS: dict[str, Callable[[pytest.FixtureRequest, Path], Awaitable[Store | None]]] = {
    "sqlite": lambda request, tmp: open_sqlite(tmp),
    "postgresql": lambda request, tmp: _open_postgres(request.getfixturevalue("pg_url")),
}


async def _open_postgres(url: DatabaseUrl) -> Store:
    return await open_postgres_store(url, max_size=6, timeouts=TEST_TIMEOUTS)


SHARED = ["postgresql"]
"""The backends several instances share: they run several write transactions at once."""


@pytest.fixture(params=sorted(OPENERS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Return a fresh store of each backend in turn (closed at the end of the test)."""
    async for opened in _opened(request, tmp_path):
        yield opened


@pytest.fixture(params=SHARED)
async def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Return a fresh store of each backend that runs two writers at once."""
    async for opened in _opened(request, tmp_path):
        yield opened


@pytest.fixture
def shared_store(shared_backend: Backend) -> Store:
    """Return the store under test, of a backend that runs two writers at once."""
    return shared_backend.store


async def _opened(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store = await OPENERS[request.param](request, tmp_path)
    assert store is not None
    try:
        yield Backend(request.param, store)
    finally:
        await store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    """Return the store under test."""
    return backend.store
