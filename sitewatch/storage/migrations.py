"""The SQLite schema as an ordered list of migrations, applied when a store opens.

`PRAGMA user_version` holds the number of migrations applied. Opening applies the
missing ones, each in its own transaction, and refuses a database written by a newer
sitewatch (its tables may mean things this code does not know) or one that is not a
sitewatch database at all.

Conventions of the schema:
* Times are INTEGER microseconds since the Unix epoch, UTC: exact to the microsecond,
  8 bytes, compared as numbers (probe_results grows by ~29 million rows a day at
  10,000 checks every 30 s, so the width matters).
* Ticket and window ids are AUTOINCREMENT integers, shown as strings: short enough
  to read on a pager, and never reused.
* Enum columns hold the enum's value without a CHECK constraint: SQLite cannot alter
  a constraint without rebuilding the table, and the code parses every value it reads.
* The open outage of a check is embedded in its check_status row (`outage_*`), so a
  status saves in one row and `save_progress` touches one table per batch.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

APPLICATION_ID = 0x53575443
"""`PRAGMA application_id` of a sitewatch database ("SWTC")."""

MINIMUM_SQLITE = (3, 37, 0)
"""STRICT tables need SQLite 3.37."""


class SchemaError(Exception):
    """The database cannot be used by this version of sitewatch."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema's history; `version` is its position, counted from 1."""

    version: int
    summary: str
    statements: tuple[str, ...]


_INITIAL = Migration(
    1,
    "check statuses, outages, tickets, windows, probe results",
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE check_status (
            check_id              TEXT PRIMARY KEY,
            state                 TEXT NOT NULL,
            since                 INTEGER,
            failures              INTEGER NOT NULL,
            successes             INTEGER NOT NULL,
            streak_onset          INTEGER,
            streak_symptom        TEXT,
            streak_detail         TEXT NOT NULL,
            outage_onset          INTEGER,
            outage_symptom        TEXT,
            outage_classification TEXT,
            outage_detail         TEXT,
            outage_window_id      TEXT,
            last_result           TEXT,
            last_result_at        INTEGER
        ) STRICT""",
        """CREATE TABLE tickets (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            check_id        TEXT NOT NULL,
            customer        TEXT NOT NULL,
            state           TEXT NOT NULL,
            classification  TEXT NOT NULL,
            symptom         TEXT NOT NULL,
            detail          TEXT NOT NULL,
            onset_at        INTEGER NOT NULL,
            opened_at       INTEGER NOT NULL,
            acknowledged_at INTEGER,
            acknowledged_by TEXT,
            recovered_at    INTEGER,
            resolved_at     INTEGER,
            resolved_by     TEXT,
            cause           TEXT,
            resolution_note TEXT NOT NULL,
            UNIQUE (check_id, onset_at)
        ) STRICT""",
        "CREATE INDEX tickets_by_state ON tickets (state, opened_at)",
        """CREATE TABLE ticket_events (
            id        INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets (id),
            at        INTEGER NOT NULL,
            kind      TEXT NOT NULL,
            actor     TEXT NOT NULL,
            detail    TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id)",
        # window_id has no foreign key: a bad reference must never stop a transition
        # (and with it a page) from being recorded.
        """CREATE TABLE outages (
            id             INTEGER PRIMARY KEY,
            check_id       TEXT NOT NULL,
            customer       TEXT NOT NULL,
            onset_at       INTEGER NOT NULL,
            classification TEXT NOT NULL,
            symptom        TEXT NOT NULL,
            detail         TEXT NOT NULL,
            window_id      TEXT,
            overrun_at     INTEGER,
            recovered_at   INTEGER,
            ticket_id      INTEGER REFERENCES tickets (id),
            UNIQUE (check_id, onset_at)
        ) STRICT""",
        "CREATE INDEX outages_by_onset ON outages (onset_at)",
        """CREATE TABLE windows (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            customer     TEXT NOT NULL,
            checks       TEXT NOT NULL,
            kind         TEXT NOT NULL,
            start_at     INTEGER NOT NULL,
            end_at       INTEGER NOT NULL,
            declared_at  INTEGER NOT NULL,
            declared_by  TEXT NOT NULL,
            note         TEXT NOT NULL,
            cancelled_at INTEGER
        ) STRICT""",
        "CREATE INDEX windows_by_start ON windows (start_at)",
        """CREATE TABLE window_changes (
            id        INTEGER PRIMARY KEY,
            window_id INTEGER NOT NULL REFERENCES windows (id),
            at        INTEGER NOT NULL,
            actor     TEXT NOT NULL,
            action    TEXT NOT NULL,
            detail    TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX window_changes_by_window ON window_changes (window_id, at)",
        """CREATE TABLE probe_results (
            id          INTEGER PRIMARY KEY,
            check_id    TEXT NOT NULL,
            started_at  INTEGER NOT NULL,
            kind        TEXT NOT NULL,
            duration_us INTEGER NOT NULL,
            detail      TEXT NOT NULL
        ) STRICT""",
        "CREATE INDEX probe_results_by_time ON probe_results (started_at)",
    ),
)

_PAGE_OUTBOX = Migration(
    2,
    "the page outbox and service metadata",
    (
        # One row per page and target. Notify URLs are not stored (they carry
        # credentials): `operator` + `url_index` name one in the config; an empty
        # operator means the fallback channels. The unique key is what makes a page
        # for a ticket, level and round go out once, whatever is replayed.
        """CREATE TABLE pages (
            id              INTEGER PRIMARY KEY,
            subject         TEXT NOT NULL,
            ticket_id       INTEGER REFERENCES tickets (id),
            kind            TEXT NOT NULL,
            level           INTEGER NOT NULL,
            round           INTEGER NOT NULL,
            operator        TEXT NOT NULL,
            url_index       INTEGER NOT NULL,
            title           TEXT NOT NULL,
            body            TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            due_at          INTEGER NOT NULL,
            state           TEXT NOT NULL,
            attempts        INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            claimed_until   INTEGER,
            last_error      TEXT NOT NULL,
            sent_at         INTEGER,
            UNIQUE (subject, kind, level, round, operator, url_index)
        ) STRICT""",
        "CREATE INDEX pages_due ON pages (state, next_attempt_at)",
        "CREATE INDEX pages_by_ticket ON pages (ticket_id)",
        """CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_INITIAL, _PAGE_OUTBOX)
"""Every step, in order. Append only: a released step is never edited."""


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
