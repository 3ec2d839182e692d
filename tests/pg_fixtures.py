"""Fixtures for tests on PostgreSQL (registered from tests/conftest.py; see tests/pg.py).

`pg_url` is the session's migrated database, emptied for one test; `postgres_store` is a store
open on it. `throwaway_pg` is a server of the test session's own, for the tests
that stop and start a server (never the machine's).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sitewatch.storage.postgres import PostgresStore, Timeouts, open_postgres_store
from sitewatch.storage.urls import DatabaseUrl, parse_database_url
from tests.pg import (
    Databases,
    ThrowawayServer,
    admin_url,
    answers,
    find_binaries,
    partitions,
    reset,
)

TEST_TIMEOUTS = Timeouts(
    connect=timedelta(seconds=3),
    acquire=timedelta(seconds=3),
    statement=timedelta(seconds=10),
    lock=timedelta(seconds=3),
    idle_in_transaction=timedelta(seconds=10),
)
"""Short enough that a test that deadlocks fails in seconds, not minutes."""


def missing_postgres(reason: str) -> None:
    """Fail under CI (the CI machine must run these tests); skip, saying why, elsewhere."""
    message = (
        f"{reason}; run scripts/install-test-deps (installs PostgreSQL) or set "
        "SITEWATCH_TEST_PG to an administrative postgresql:// URL"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def start_throwaway() -> ThrowawayServer:
    """Start a server in a temp directory; skip or fail when no binaries are installed."""
    binaries = find_binaries()
    if binaries is None:
        missing_postgres("initdb and pg_ctl are not installed")
        raise AssertionError("unreachable")
    # Not under pytest's tmp_path: its directories are private to root, and a root
    # test run starts the server as the `postgres` user.
    server = ThrowawayServer(binaries, Path(tempfile.mkdtemp(prefix="sitewatch-pg-")))
    server.init()
    server.start()
    return server


def discard(server: ThrowawayServer) -> None:
    """Stop a throwaway server (as a crash would: it holds nothing worth keeping)."""
    try:
        server.stop("immediate")
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)


def run_async(coroutine_factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to completion on a thread of its own (a fixture may run in a loop)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine_factory())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Return an administrative URL: `$SITEWATCH_TEST_PG`, or a throwaway server's."""
    url = admin_url()
    if answers(url):
        yield url
        return
    server = start_throwaway()
    try:
        yield server.url
    finally:
        discard(server)


@pytest.fixture(scope="session")
def pg_databases(pg_admin_url: str) -> Iterator[Databases]:
    """Return the session's databases (`sitewatch_test_<random>*`), dropped at the end."""
    databases = Databases(pg_admin_url)
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def pg_session_database(pg_databases: Databases) -> tuple[str, frozenset[str]]:
    """Return the session's migrated database and the partitions it was made with."""
    url = pg_databases.create()

    async def migrate() -> None:
        store = await open_postgres_store(parse_database_url(url, Path.cwd()), max_size=1)
        await store.close()

    run_async(migrate)
    return url, partitions(url)


@pytest.fixture
def pg_url(pg_session_database: tuple[str, frozenset[str]]) -> DatabaseUrl:
    """Return the URL of the session's database, emptied for this test.

    Emptying (~10 ms) is much cheaper than copying a template database per test
    (~40 ms idle, ~500 ms on a busy disk: a copy writes and syncs every block).
    """
    url, keep = pg_session_database
    reset(url, keep)
    return parse_database_url(url, Path.cwd())


@pytest.fixture
async def postgres_store(pg_url: DatabaseUrl) -> AsyncIterator[PostgresStore]:
    """Return a store open on this test's database (closed at the end)."""
    store = await open_postgres_store(pg_url, max_size=4, timeouts=TEST_TIMEOUTS)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="session")
def throwaway_pg() -> Iterator[ThrowawayServer]:
    """Return a server of this session's own, that a test may stop and start."""
    server = start_throwaway()
    try:
        yield server
    finally:
        discard(server)


__all__ = [
    "TEST_TIMEOUTS",
    "pg_admin_url",
    "pg_databases",
    "pg_session_database",
    "pg_url",
    "postgres_store",
    "throwaway_pg",
]
