"""Applying the schema (`schema.py`) when a SQLite store opens, once, safely.

`PRAGMA user_version` holds the number of migrations applied. Opening applies the
missing ones, each in its own transaction, and refuses a database written by a newer
sitewatch (its tables may mean things this code does not know) or one that is not a
sitewatch database at all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sitewatch.storage.sqlite.schema import APPLICATION_ID, MIGRATIONS, Migration

MINIMUM_SQLITE = (3, 37, 0)
"""STRICT tables need SQLite 3.37."""


class SchemaError(Exception):
    """The database cannot be used by this version of sitewatch."""


def schema_version(conn: sqlite3.Connection) -> int:
    """Return how many migrations the database has had."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def check_compatible(
    conn: sqlite3.Connection, path: Path, migrations: tuple[Migration, ...] = MIGRATIONS
) -> int:
    """Refuse a database this code cannot use, before changing anything; return its version."""
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        needed = ".".join(map(str, MINIMUM_SQLITE))
        raise SchemaError(
            f"{path}: sitewatch needs SQLite {needed} or newer (STRICT tables); this Python "
            f"links SQLite {sqlite3.sqlite_version}. Use a newer Python build or base image."
        )
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = schema_version(conn)
    has_tables = conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None
    if application_id not in (0, APPLICATION_ID) or (version == 0 and has_tables):
        raise SchemaError(
            f"{path}: this file is not a sitewatch database (it has tables sitewatch did "
            f"not create). Point `database:` at a new file or at a sitewatch database."
        )
    latest = len(migrations)
    if version > latest:
        raise SchemaError(
            f"{path}: the database has schema version {version}, but this sitewatch knows "
            f"versions up to {latest}: a newer sitewatch wrote it. Run that newer version, "
            f"or restore the backup taken before the upgrade."
        )
    return version


def migrate(
    conn: sqlite3.Connection, path: Path, migrations: tuple[Migration, ...] = MIGRATIONS
) -> int:
    """Apply the missing migrations, one transaction each; return the final version.

    The connection must be in autocommit mode (`isolation_level=None`). Each step
    re-reads the version under the write lock, so two processes opening the same
    file at once apply every step exactly once.
    """
    version = check_compatible(conn, path, migrations)
    for migration in migrations[version:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return schema_version(conn)
