"""Bring a database to the schema this code knows, once, whoever starts first.

Several instances may start at the same moment against one database. Each reads
the version without a lock (the common case, nothing to do, costs one query); only
when a step is missing does it take a transaction-scoped advisory lock, re-read
the version under it and apply what is still missing, one transaction per step.
The lock ends with the transaction, so a crashed migrator never leaves it held.

Refused, before anything is changed: a server older than PostgreSQL 12, a schema
written by a newer sitewatch (its tables may mean things this code does not know),
and a schema that holds tables but is not sitewatch's.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection

from sitewatch.storage.postgres.schema import MIGRATIONS, Migration

MIGRATION_LOCK = 0x5357_5443_0001
"""The `pg_advisory_xact_lock` key held while migrating ("SWTC", 1)."""

MINIMUM_SERVER = 120000
"""PostgreSQL 12: default partitions and ATTACH PARTITION without blocking inserts."""


RELATION_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class"
    " WHERE relname = %s AND relnamespace = current_schema()::regnamespace)"
)
"""Whether a table of this name exists in the current schema, read from the catalog."""


class SchemaError(Exception):
    """The database cannot be used by this version of sitewatch: fix it and restart."""


async def schema_version(conn: AsyncConnection[Any]) -> int | None:
    """Return the version of the schema, or None if sitewatch never migrated it."""
    # A scan of pg_class, not to_regclass(): name lookups may answer from a cache
    # that has not yet seen a table another instance created while this one waited
    # for the migration lock.
    cursor = await conn.execute(RELATION_EXISTS, ("sitewatch_schema",))
    row = await cursor.fetchone()
    if row is None or not row[0]:
        return None
    cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM sitewatch_schema")
    row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def check_compatible(
    conn: AsyncConnection[Any], database: str, migrations: tuple[Migration, ...] = MIGRATIONS
) -> int:
    """Refuse a database this code cannot use, before changing anything; return its version."""
    if conn.info.server_version < MINIMUM_SERVER:
        raise SchemaError(
            f"{database}: sitewatch needs PostgreSQL 12 or newer; this server is "
            f"{conn.info.server_version // 10000}. Upgrade the server."
        )
    cursor = await conn.execute("SELECT current_schema()")
    row = await cursor.fetchone()
    schema = None if row is None else row[0]
    if schema is None:
        raise SchemaError(
            f"{database}: no schema of the search_path exists, so sitewatch has nowhere to "
            f"create its tables. Create one (docs/postgresql.md) or set search_path."
        )
    version = await schema_version(conn)
    latest = len(migrations)
    if version is None:
        if await _has_relations(conn):
            raise SchemaError(
                f"{database}: schema {schema!r} holds tables that sitewatch did not create. "
                f"Point `database:` at a database (or search_path at a schema) of its own."
            )
        return 0
    if version > latest:
        raise SchemaError(
            f"{database}: the database has schema version {version}, but this sitewatch knows "
            f"versions up to {latest}: a newer sitewatch wrote it. Run that newer version, or "
            f"restore the backup taken before the upgrade."
        )
    return version


async def migrate(
    conn: AsyncConnection[Any], database: str, migrations: tuple[Migration, ...] = MIGRATIONS
) -> int:
    """Apply the missing migrations on an autocommit connection; return the final version."""
    version = await check_compatible(conn, database, migrations)
    for migration in migrations[version:]:
        try:
            await _apply(conn, database, migration, migrations)
        except psycopg.errors.InsufficientPrivilege as error:
            raise SchemaError(
                f"{database}: the role may not change the schema ({error.diag.message_primary}). "
                f"Grant it CREATE on its schema (docs/postgresql.md, 'Set-up')."
            ) from None
    return await schema_version(conn) or 0


async def _apply(
    conn: AsyncConnection[Any],
    database: str,
    migration: Migration,
    migrations: tuple[Migration, ...],
) -> None:
    async with conn.transaction():
        # Another instance may hold the lock for as long as its migration takes.
        await conn.execute("SET LOCAL lock_timeout = 0")
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        if await check_compatible(conn, database, migrations) >= migration.version:
            return
        for statement in migration.statements:
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO sitewatch_schema (version, summary) VALUES (%s, %s)",
            (migration.version, migration.summary),
        )


async def _has_relations(conn: AsyncConnection[Any]) -> bool:
    cursor = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))"
    )
    row = await cursor.fetchone()
    return bool(row and row[0])
