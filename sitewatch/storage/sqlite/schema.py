"""The SQLite schema: every migration in order, from the first release on.

Append only: a released step is never edited. Conventions: times are INTEGER
microseconds since the Unix epoch, UTC (exact, 8 bytes, compared as numbers; the
results table grows by ~29 million rows a day at 10,000 checks every 30 s); ticket
and window ids are AUTOINCREMENT integers shown as strings, never reused; enum
columns hold the enum's value without a CHECK constraint (SQLite cannot alter one
without rebuilding the table; the code parses every value it reads).
"""

from __future__ import annotations

from dataclasses import dataclass

APPLICATION_ID = 0x53575443
"""`PRAGMA application_id` of a sitewatch database ("SWTC")."""


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

_LOCATIONS = Migration(
    3,
    "statuses per location and verdicts, cluster tables, claims, indexes for every lookup",
    (
        # A check's status splits in two: what each location saw (its streak, its
        # confirmed failure) and the verdict the quorum of locations makes of it (the
        # open outage). The old single status becomes location "default" and a verdict.
        """CREATE TABLE location_status (
            check_id       TEXT NOT NULL,
            location       TEXT NOT NULL,
            version        INTEGER NOT NULL,
            state          TEXT NOT NULL,
            since          INTEGER,
            failures       INTEGER NOT NULL,
            successes      INTEGER NOT NULL,
            streak_onset   INTEGER,
            streak_symptom TEXT,
            streak_detail  TEXT NOT NULL,
            down_onset     INTEGER,
            down_symptom   TEXT,
            down_detail    TEXT,
            last_result    TEXT,
            last_result_at INTEGER,
            PRIMARY KEY (check_id, location)
        ) STRICT, WITHOUT ROWID""",
        "CREATE INDEX location_status_by_result ON location_status (location, last_result)",
        """CREATE TABLE verdicts (
            check_id              TEXT PRIMARY KEY,
            state                 TEXT NOT NULL,
            since                 INTEGER,
            outage_onset          INTEGER,
            outage_symptom        TEXT,
            outage_classification TEXT,
            outage_detail         TEXT,
            outage_window_id      TEXT
        ) STRICT""",
        "CREATE INDEX verdicts_by_state ON verdicts (state)",
        """INSERT INTO location_status SELECT check_id, 'default', 1,
            CASE state WHEN 'maintenance' THEN 'down' ELSE state END, since, failures,
            successes, streak_onset, streak_symptom, streak_detail, outage_onset,
            outage_symptom, outage_detail, last_result, last_result_at FROM check_status""",
        """INSERT INTO verdicts SELECT check_id, state, since, outage_onset, outage_symptom,
            outage_classification, outage_detail, outage_window_id FROM check_status""",
        "DROP TABLE check_status",
        "ALTER TABLE probe_results ADD COLUMN location TEXT NOT NULL DEFAULT 'default'",
        "CREATE INDEX windows_by_customer_end ON windows (customer, end_at)",
        "CREATE INDEX windows_by_end ON windows (end_at)",
        "CREATE INDEX tickets_by_resolution ON tickets (resolved_at)",
        "CREATE INDEX outages_by_recovery ON outages (recovered_at)",
        "ALTER TABLE pages ADD COLUMN claimant TEXT",
        "ALTER TABLE pages ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX pages_by_subject ON pages (subject, state)",
        """CREATE TABLE instances (
            instance   TEXT PRIMARY KEY,
            location   TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            last_seen  INTEGER NOT NULL,
            checks     INTEGER NOT NULL
        ) STRICT""",
        """CREATE TABLE lease (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            instance TEXT NOT NULL,
            location TEXT NOT NULL,
            epoch    INTEGER NOT NULL,
            since    INTEGER NOT NULL,
            until    INTEGER NOT NULL
        ) STRICT""",
        """CREATE TABLE location_faults (
            location TEXT PRIMARY KEY,
            since    INTEGER NOT NULL,
            reason   TEXT NOT NULL
        ) STRICT""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_INITIAL, _PAGE_OUTBOX, _LOCATIONS)
"""Every step, in order. Append only: a released step is never edited."""
