"""The store under test, once per backend: every test here runs against each of them.

A backend joins by adding one opener to `OPENERS`. `Backend.waiting` lets a test
know that a second transaction has reached the lock the first one holds, so that
tests about locks prove an order instead of hoping for one.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sitewatch.storage.postgres import PostgresStore, open_postgres_store
from sitewatch.storage.protocols import Store
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


async def open_sqlite(directory: Path) -> Store | None:
    """Open the SQLite backend of `protocols.py`, or None while it has not landed."""
    try:
        from sitewatch.storage.sqlite import open_sqlite_store  # type: ignore[attr-defined]
    except ImportError:
        return None
    opened: Any = open_sqlite_store(directory / "db.sqlite")
    store = await opened if inspect.isawaitable(opened) else opened
    if not hasattr(store, "transaction"):  # the SQLite store of the older interface
        await store.close()
        return None
    return store  # type: ignore[no-any-return]


OPENERS: dict[str, Callable[[pytest.FixtureRequest, Path], Awaitable[Store | None]]] = {
    "sqlite": lambda request, tmp: open_sqlite(tmp),
    "postgresql": lambda request, tmp: _open_postgres(request.getfixturevalue("pg_url")),
}


async def _open_postgres(url: DatabaseUrl) -> Store:
    return await open_postgres_store(url, max_size=6, timeouts=TEST_TIMEOUTS)


@pytest.fixture(params=sorted(OPENERS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Return a fresh store of each backend in turn (closed at the end of the test)."""
    store = await OPENERS[request.param](request, tmp_path)
    if store is None:
        pytest.skip(f"the {request.param} backend of sitewatch.storage.protocols is not here yet")
    try:
        yield Backend(request.param, store)
    finally:
        await store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    """Return the store under test."""
    return backend.store


@pytest.fixture
def shared(store: Store) -> None:
    """Skip unless the backend runs several write transactions at once (several instances)."""
    if not store.shared:
        pytest.skip("only a backend that several instances share runs two writers at once")
