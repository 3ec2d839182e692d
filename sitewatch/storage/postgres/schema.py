"""The PostgreSQL schema as an ordered list of migrations. Append only.

`sitewatch_schema` has one row per migration applied; the highest `version` is the
schema's version. `migrate.py` applies the missing ones when a store opens.

Conventions of the schema:
* Times are `timestamptz` (microseconds, like Python's datetime).
* Ticket, window and page ids are `bigint` identities, shown as strings.
* Enum columns are `text` without CHECK constraints: the code parses every value
  it reads, and a newer sitewatch may add values without rewriting a constraint.
* `results` is range-partitioned by day (UTC) and has no index at all: it takes
  ~29 million rows a day at 10,000 checks, nothing reads it row by row, and whole
  days are dropped when they expire (docs/postgresql.md, "Retention"). The
  `results_default` partition catches a day whose partition is not there yet;
  `results.py` moves such rows into their own partition later. `result_days`
  keeps each check's first result per day and location, so `first_results` never scans it.
* Row locks are taken `FOR NO KEY UPDATE`: as exclusive between lockers as `FOR
  UPDATE`, but they do not block the foreign-key checks of inserts that refer to
  the locked row (a page or timeline line of a ticket being acknowledged).
* Tables updated in place all the time get a fillfactor below 100 so the updates
  stay on their page (HOT) and do not touch the indexes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema's history; `version` is its position, counted from 1."""

    version: int
    summary: str
    statements: tuple[str, ...]


_VERSIONS = (
    """CREATE TABLE sitewatch_schema (
        version     integer PRIMARY KEY,
        summary     text NOT NULL,
        applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
    )""",
)

_CHECKS = (
    """CREATE TABLE location_status (
        location        text NOT NULL,
        check_id        text NOT NULL,
        state           text NOT NULL,
        since           timestamptz,
        failures        integer NOT NULL,
        successes       integer NOT NULL,
        streak_onset    timestamptz,
        streak_symptom  text,
        streak_detail   text NOT NULL,
        down_onset      timestamptz,
        down_symptom    text,
        down_detail     text,
        last_result     text,
        last_result_at  timestamptz,
        version         bigint NOT NULL,
        PRIMARY KEY (location, check_id)
    ) WITH (fillfactor = 70)""",
    "CREATE INDEX location_status_by_result ON location_status (location, last_result)",
    "CREATE INDEX location_status_down ON location_status (location) WHERE state = 'down'",
    "CREATE INDEX location_status_by_check ON location_status (check_id)",
    """CREATE TABLE verdicts (
        check_id               text PRIMARY KEY,
        state                  text NOT NULL,
        since                  timestamptz,
        outage_onset           timestamptz,
        outage_symptom         text,
        outage_classification  text,
        outage_detail          text,
        outage_window_id       text
    ) WITH (fillfactor = 80)""",
    "CREATE INDEX verdicts_by_state ON verdicts (state)",
    """CREATE TABLE results (
        started_at   timestamptz NOT NULL,
        check_id     text NOT NULL,
        location     text NOT NULL,
        kind         text NOT NULL,
        duration_us  bigint NOT NULL,
        detail       text NOT NULL
    ) PARTITION BY RANGE (started_at)""",
    "CREATE TABLE results_default PARTITION OF results DEFAULT",
    """CREATE TABLE result_days (
        day       date NOT NULL,
        check_id  text NOT NULL,
        location  text NOT NULL,
        first_at  timestamptz NOT NULL,
        PRIMARY KEY (day, check_id, location)
    )""",
)

_TICKETS = (
    """CREATE TABLE tickets (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        check_id         text NOT NULL,
        customer         text NOT NULL,
        state            text NOT NULL,
        classification   text NOT NULL,
        symptom          text NOT NULL,
        detail           text NOT NULL,
        onset_at         timestamptz NOT NULL,
        opened_at        timestamptz NOT NULL,
        acknowledged_at  timestamptz,
        acknowledged_by  text,
        recovered_at     timestamptz,
        resolved_at      timestamptz,
        resolved_by      text,
        cause            text,
        resolution_note  text NOT NULL,
        UNIQUE (check_id, onset_at)
    )""",
    "CREATE INDEX tickets_newest ON tickets (opened_at DESC, id DESC)",
    "CREATE INDEX tickets_by_state ON tickets (state, opened_at DESC, id DESC)",
    "CREATE INDEX tickets_by_onset ON tickets (onset_at)",
    "CREATE INDEX tickets_unresolved ON tickets (opened_at) WHERE state <> 'resolved'",
    """CREATE INDEX tickets_escalating ON tickets (opened_at, id)
        WHERE state = 'open' AND recovered_at IS NULL""",
    "CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE state = 'resolved'",
    """CREATE TABLE ticket_events (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        at         timestamptz NOT NULL,
        kind       text NOT NULL,
        actor      text NOT NULL,
        detail     text NOT NULL
    )""",
    "CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id)",
    # window_id has no foreign key: a bad reference must never stop a transition
    # (and with it a page) from being recorded, and windows are pruned on their own.
    """CREATE TABLE outages (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        check_id        text NOT NULL,
        customer        text NOT NULL,
        onset_at        timestamptz NOT NULL,
        classification  text NOT NULL,
        symptom         text NOT NULL,
        detail          text NOT NULL,
        window_id       text,
        overrun_at      timestamptz,
        recovered_at    timestamptz,
        ticket_id       bigint REFERENCES tickets (id) ON DELETE SET NULL,
        UNIQUE (check_id, onset_at)
    )""",
    "CREATE INDEX outages_by_onset ON outages (onset_at)",
    "CREATE INDEX outages_recovered ON outages (recovered_at) WHERE recovered_at IS NOT NULL",
    "CREATE INDEX outages_by_ticket ON outages (ticket_id) WHERE ticket_id IS NOT NULL",
)

_WINDOWS = (
    """CREATE TABLE windows (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer      text NOT NULL,
        checks        text[] NOT NULL,
        kind          text NOT NULL,
        start_at      timestamptz NOT NULL,
        end_at        timestamptz NOT NULL,
        declared_at   timestamptz NOT NULL,
        declared_by   text NOT NULL,
        note          text NOT NULL,
        cancelled_at  timestamptz
    )""",
    "CREATE INDEX windows_in_force ON windows (customer, end_at) WHERE cancelled_at IS NULL",
    "CREATE INDEX windows_by_customer ON windows (customer, start_at DESC, id DESC)",
    "CREATE INDEX windows_by_start ON windows (start_at DESC, id DESC)",
    "CREATE INDEX windows_finished ON windows ((least(end_at, cancelled_at)))",
    """CREATE TABLE window_changes (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        window_id  bigint NOT NULL REFERENCES windows (id) ON DELETE CASCADE,
        at         timestamptz NOT NULL,
        actor      text NOT NULL,
        action     text NOT NULL,
        detail     text NOT NULL
    )""",
    "CREATE INDEX window_changes_by_window ON window_changes (window_id, at, id)",
)

_OUTBOX = (
    # One row per page and target. Notify URLs are not stored (they carry
    # credentials): `operator` + `url_index` name one in the config. The unique key
    # is what makes a page for a ticket, level and round go out once.
    """CREATE TABLE pages (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject          text NOT NULL,
        ticket_id        bigint REFERENCES tickets (id) ON DELETE CASCADE,
        kind             text NOT NULL,
        level            integer NOT NULL,
        round            integer NOT NULL,
        operator         text NOT NULL,
        url_index        integer NOT NULL,
        title            text NOT NULL,
        body             text NOT NULL,
        created_at       timestamptz NOT NULL,
        due_at           timestamptz NOT NULL,
        state            text NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL,
        claimed_by       text,
        claimed_until    timestamptz,
        last_error       text NOT NULL DEFAULT '',
        sent_at          timestamptz,
        UNIQUE (subject, kind, level, round, operator, url_index)
    ) WITH (fillfactor = 80)""",
    "CREATE INDEX pages_due ON pages (next_attempt_at, id) WHERE state = 'pending'",
    """CREATE INDEX pages_pending_by_target ON pages (subject, operator, url_index, id)
        WHERE state = 'pending'""",
    "CREATE INDEX pages_by_ticket ON pages (ticket_id, id) WHERE ticket_id IS NOT NULL",
    """CREATE INDEX pages_finished_orphans ON pages (created_at)
        WHERE ticket_id IS NULL AND state <> 'pending'""",
)

_CLUSTER = (
    """CREATE TABLE members (
        instance    text PRIMARY KEY,
        location    text NOT NULL,
        started_at  timestamptz NOT NULL,
        last_seen   timestamptz NOT NULL,
        checks      integer NOT NULL
    ) WITH (fillfactor = 50)""",
    # One row at most: who leads, with the fencing epoch of its tenure.
    """CREATE TABLE leader_lease (
        singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        instance   text NOT NULL,
        location   text NOT NULL,
        epoch      bigint NOT NULL,
        since      timestamptz NOT NULL,
        until      timestamptz NOT NULL
    ) WITH (fillfactor = 50)""",
    """CREATE TABLE location_faults (
        location  text PRIMARY KEY,
        since     timestamptz NOT NULL,
        reason    text NOT NULL
    )""",
    """CREATE TABLE service_values (
        name   text PRIMARY KEY,
        value  text NOT NULL
    )""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "statuses, verdicts, results by day, outages, tickets, windows, outbox, cluster",
        (*_VERSIONS, *_CHECKS, *_TICKETS, *_WINDOWS, *_OUTBOX, *_CLUSTER),
    ),
)
"""Every step, in order. Append only: a released step is never edited."""
