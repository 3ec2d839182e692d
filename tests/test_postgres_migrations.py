"""PostgreSQL schema migrations: applied once, whoever starts first; foreign or newer refused."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import AsyncConnection, sql

from sitewatch.storage.postgres import SchemaError, open_postgres_store
from sitewatch.storage.postgres.migrate import migrate
from sitewatch.storage.postgres.schema import MIGRATIONS, Migration
from sitewatch.storage.urls import DatabaseUrl, parse_database_url
from tests.pg import Databases, with_database

LATEST = len(MIGRATIONS)


@pytest.fixture
def empty_url(pg_databases: Databases) -> Iterator[DatabaseUrl]:
    """Return a new, empty database of this test's own."""
    url = pg_databases.create()
    try:
        yield parse_database_url(url, Path.cwd())
    finally:
        pg_databases.drop(url)


def versions(url: DatabaseUrl) -> list[int]:
    with psycopg.connect(url.url) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM sitewatch_schema ORDER BY 1")]


async def test_a_new_database_is_brought_to_the_latest_schema(empty_url: DatabaseUrl) -> None:
    store = await open_postgres_store(empty_url)
    await store.close()
    assert versions(empty_url) == list(range(1, LATEST + 1))


async def test_reopening_a_migrated_database_keeps_its_data_and_its_version(
    empty_url: DatabaseUrl,
) -> None:
    store = await open_postgres_store(empty_url)
    async with store.transaction() as tx:
        await tx.cluster.secret("session-key", "kept")
    await store.close()
    store = await open_postgres_store(empty_url)
    async with store.transaction() as tx:
        assert await tx.cluster.secret("session-key", "new") == "kept"
    await store.close()
    assert versions(empty_url) == list(range(1, LATEST + 1))


async def test_instances_starting_at_the_same_moment_apply_every_step_once(
    empty_url: DatabaseUrl,
) -> None:
    stores = await asyncio.gather(*(open_postgres_store(empty_url) for _ in range(4)))
    for store in stores:
        await store.close()
    assert versions(empty_url) == list(range(1, LATEST + 1))


async def test_a_slow_step_is_applied_once_while_the_others_wait_for_it(
    empty_url: DatabaseUrl,
) -> None:
    slow = Migration(
        LATEST + 1,
        "a slow step",
        ("SELECT pg_sleep(0.3)", "CREATE TABLE only_once (id integer)"),
    )

    async def start() -> int:
        async with await AsyncConnection.connect(empty_url.url, autocommit=True) as conn:
            return await migrate(conn, "test", (*MIGRATIONS, slow))

    assert await asyncio.gather(*(start() for _ in range(3))) == [LATEST + 1] * 3
    assert versions(empty_url) == list(range(1, LATEST + 2))


async def test_a_schema_written_by_a_newer_sitewatch_is_refused_naming_both_versions(
    empty_url: DatabaseUrl,
) -> None:
    store = await open_postgres_store(empty_url)
    await store.close()
    with psycopg.connect(empty_url.url, autocommit=True) as conn:
        conn.execute("INSERT INTO sitewatch_schema (version, summary) VALUES (99, 'future')")
    with pytest.raises(SchemaError) as refused:
        await open_postgres_store(empty_url)
    assert "schema version 99" in str(refused.value)
    assert f"versions up to {LATEST}" in str(refused.value)


async def test_a_database_that_is_not_sitewatchs_is_refused_untouched(
    empty_url: DatabaseUrl,
) -> None:
    with psycopg.connect(empty_url.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id integer)")
    with pytest.raises(SchemaError, match="tables that sitewatch did not create"):
        await open_postgres_store(empty_url)
    with psycopg.connect(empty_url.url) as conn:
        [[present]] = conn.execute("SELECT to_regclass('sitewatch_schema') IS NOT NULL")
    assert present is False


@pytest.fixture
def sitewatch_role(pg_databases: Databases) -> Iterator[tuple[DatabaseUrl, str]]:
    """Return a database and a login role set up as docs/postgresql.md says, no more."""
    role = f"sitewatch_role_{secrets.token_hex(4)}"
    url = pg_databases.create()
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg_databases.url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(role), sql.Identifier(role)
            )
        )
    as_role = with_database(pg_databases.url, name).replace("postgres@", f"{role}@", 1)
    try:
        yield parse_database_url(as_role, Path.cwd()), role
    finally:
        pg_databases.drop(url)
        with psycopg.connect(pg_databases.url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_a_role_owning_only_its_own_schema_is_all_sitewatch_needs(
    sitewatch_role: tuple[DatabaseUrl, str],
) -> None:
    url, role = sitewatch_role
    store = await open_postgres_store(url)
    async with store.transaction() as tx:
        await tx.cluster.secret("k", "v")
        [schema] = await tx.sql.values("SELECT current_schema()")
    await store.close()
    assert schema == role


async def test_a_role_that_may_create_nothing_gets_a_clear_start_up_error(
    sitewatch_role: tuple[DatabaseUrl, str],
) -> None:
    url, role = sitewatch_role
    with psycopg.connect(url.url.replace(f"{role}@", "postgres@"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(role)))
    with pytest.raises(SchemaError, match=r"may not change the schema|no schema"):
        await open_postgres_store(url)
