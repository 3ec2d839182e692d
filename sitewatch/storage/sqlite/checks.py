"""Location statuses, verdicts, raw results and outages in SQLite.

Each repository method is a coroutine that runs one function of this module on the
store's worker thread, inside the transaction the `SqliteTx` holds open. SQLite has
one writer at a time, so "locked" reads are plain reads inside the write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sitewatch.model import (
    Classification,
    LocationStatus,
    OutageRecord,
    ProbeResult,
    State,
    Transition,
    TransitionKind,
    Verdict,
)
from sitewatch.storage.protocols import StoreConflictError
from sitewatch.storage.sqlite.codec import (
    LOCATION_COLUMNS,
    VERDICT_COLUMNS,
    from_us,
    location_from_row,
    location_row,
    outage_from_row,
    result_row,
    to_us,
    verdict_from_row,
    verdict_row,
)
from sitewatch.storage.sqlite.worker import SqliteWorker

_UPDATE_LOCATION = ", ".join(
    f"{column} = excluded.{column}" for column in LOCATION_COLUMNS.split(", ")[2:]
)
_UPSERT_LOCATION = (
    f"INSERT INTO location_status ({LOCATION_COLUMNS}) VALUES ({', '.join('?' * 15)})"
    f" ON CONFLICT (check_id, location) DO UPDATE SET {_UPDATE_LOCATION}"
    # Compare-and-set: only over the version the status was decided on.
    " WHERE location_status.version = ?"
)
_UPSERT_VERDICT = (
    f"INSERT OR REPLACE INTO verdicts ({VERDICT_COLUMNS}) VALUES ({', '.join('?' * 8)})"
)
_CHUNK = 500
"""Ids per `IN (...)` list: well under SQLite's limit of bound parameters."""


class SqliteChecks:
    """The `CheckRepo` of one SQLite transaction."""

    def __init__(self, worker: SqliteWorker) -> None:
        self._worker = worker

    async def lock_locations(
        self, location: str, check_ids: Collection[str]
    ) -> dict[str, LocationStatus]:
        """Return the statuses of these checks at `location` (the transaction holds the lock)."""
        return await self._worker.call(_locations, location, sorted(check_ids))

    async def save_locations(
        self,
        location: str,
        statuses: Mapping[str, LocationStatus],
        *,
        based_on: Mapping[str, int],
    ) -> None:
        """Write these statuses at `location` over the versions they were decided on.

        Deferred: a conflict is raised by the transaction's next statement or commit.
        """
        rows = [
            (*location_row(check, location, status), based_on.get(check, 0))
            for check, status in statuses.items()
        ]
        self._worker.defer(_save_locations, location, rows)

    async def location_statuses(
        self, check_ids: Collection[str] | None = None
    ) -> dict[str, dict[str, LocationStatus]]:
        """Return `{check: {location: status}}` for these checks (or all)."""
        ids = None if check_ids is None else sorted(check_ids)
        return await self._worker.call(_all_locations, ids)

    async def failing_at(self, location: str, kinds: Collection[str]) -> list[str]:
        """Return the checks whose last result at `location` is one of these kinds."""
        return await self._worker.call(_failing_at, location, sorted(kinds))

    async def down_at(self, location: str) -> list[str]:
        """Return the checks that `location` has down."""
        return await self._worker.call(_down_at, location)

    async def lock_verdicts(self, check_ids: Collection[str]) -> dict[str, Verdict]:
        """Return these checks' verdicts (the transaction holds the lock)."""
        return await self._worker.call(_verdicts, sorted(check_ids))

    async def verdicts(self, check_ids: Collection[str] | None = None) -> dict[str, Verdict]:
        """Return the verdicts of these checks (or all)."""
        return await self._worker.call(_verdicts, None if check_ids is None else sorted(check_ids))

    async def in_maintenance(self) -> list[str]:
        """Return the checks whose verdict is `maintenance`."""
        return await self._worker.call(_in_state, State.MAINTENANCE.value)

    async def save_verdicts(self, verdicts: Mapping[str, Verdict]) -> None:
        """Write these verdicts."""
        rows = [verdict_row(check, verdict) for check, verdict in verdicts.items()]
        self._worker.defer(_executemany, _UPSERT_VERDICT, rows)

    async def add_results(self, location: str, results: Sequence[ProbeResult]) -> None:
        """Keep these raw results."""
        rows = [result_row(location, result) for result in results]
        self._worker.defer(
            _executemany,
            "INSERT INTO probe_results (check_id, location, started_at, kind, duration_us,"
            " detail) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def first_results(self) -> dict[str, datetime]:
        """Return each check's earliest result still held (one pass over the table)."""
        return await self._worker.call(_first_results)

    async def prune_results(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` results older than `before`."""
        return await self._worker.call(
            _delete_some,
            "DELETE FROM probe_results WHERE id IN"
            " (SELECT id FROM probe_results WHERE started_at < ? LIMIT ?)",
            (to_us(before), max(0, limit)),
        )


class SqliteOutages:
    """The `OutageRepo` of one SQLite transaction."""

    def __init__(self, worker: SqliteWorker) -> None:
        self._worker = worker

    async def record(self, check: str, customer: str, transition: Transition) -> None:
        """Record a transition on its outage row; a replay changes nothing."""
        self._worker.defer(_record_outage, check, customer, transition)

    async def overlapping(self, since: datetime, until: datetime) -> list[OutageRecord]:
        """Return outages begun before `until` and not recovered by `since`, by onset."""
        return await self._worker.call(_outages_overlapping, to_us(until), to_us(since))

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` outages without a ticket recovered before `before`.

        An outage with a ticket goes with its ticket (`SqliteTickets.prune_resolved`).
        """
        return await self._worker.call(
            _delete_some,
            "DELETE FROM outages WHERE id IN (SELECT id FROM outages WHERE recovered_at < ?"
            " AND ticket_id IS NULL LIMIT ?)",
            (to_us(before), max(0, limit)),
        )


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _locations(
    conn: sqlite3.Connection, location: str, ids: list[str]
) -> dict[str, LocationStatus]:
    found = {}
    for chunk in _chunks(ids):
        marks = _marks(len(chunk))
        rows = conn.execute(
            f"SELECT * FROM location_status WHERE location = ? AND check_id IN ({marks})",
            (location, *chunk),
        )
        found.update({row["check_id"]: location_from_row(row) for row in rows})
    return found


def _all_locations(
    conn: sqlite3.Connection, ids: list[str] | None
) -> dict[str, dict[str, LocationStatus]]:
    found: dict[str, dict[str, LocationStatus]] = {}
    if ids is None:
        rows: list[sqlite3.Row] = conn.execute("SELECT * FROM location_status").fetchall()
    else:
        rows = []
        for chunk in _chunks(ids):
            query = f"SELECT * FROM location_status WHERE check_id IN ({_marks(len(chunk))})"
            rows += conn.execute(query, chunk).fetchall()
    for row in rows:
        found.setdefault(row["check_id"], {})[row["location"]] = location_from_row(row)
    return found


def _failing_at(conn: sqlite3.Connection, location: str, kinds: list[str]) -> list[str]:
    rows = conn.execute(
        "SELECT check_id FROM location_status WHERE location = ?"
        f" AND last_result IN ({_marks(len(kinds))}) ORDER BY check_id",
        (location, *kinds),
    )
    return [check for (check,) in rows]


def _down_at(conn: sqlite3.Connection, location: str) -> list[str]:
    rows = conn.execute(
        "SELECT check_id FROM location_status WHERE location = ? AND down_onset IS NOT NULL"
        " ORDER BY check_id",
        (location,),
    )
    return [check for (check,) in rows]


def _verdicts(conn: sqlite3.Connection, ids: list[str] | None) -> dict[str, Verdict]:
    if ids is None:
        rows: list[sqlite3.Row] = conn.execute("SELECT * FROM verdicts").fetchall()
    else:
        rows = []
        for chunk in _chunks(ids):
            query = f"SELECT * FROM verdicts WHERE check_id IN ({_marks(len(chunk))})"
            rows += conn.execute(query, chunk).fetchall()
    return {row["check_id"]: verdict_from_row(row) for row in rows}


def _in_state(conn: sqlite3.Connection, state: str) -> list[str]:
    rows = conn.execute("SELECT check_id FROM verdicts WHERE state = ? ORDER BY check_id", (state,))
    return [check for (check,) in rows]


def _save_locations(
    conn: sqlite3.Connection, location: str, rows: list[tuple[object, ...]]
) -> None:
    written = conn.executemany(_UPSERT_LOCATION, rows).rowcount
    if written != len(rows):
        # A row that no longer holds the version decided on: another writer got there.
        raise StoreConflictError(
            f"{len(rows) - written} status(es) at {location} were changed by another writer"
        )


def _executemany(conn: sqlite3.Connection, sql: str, rows: list[tuple[object, ...]]) -> int:
    return conn.executemany(sql, rows).rowcount


def _delete_some(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> int:
    return conn.execute(sql, params).rowcount


def _first_results(conn: sqlite3.Connection) -> dict[str, datetime]:
    rows = conn.execute("SELECT check_id, min(started_at) FROM probe_results GROUP BY check_id")
    return {check: from_us(first) for check, first in rows}


def _record_outage(
    conn: sqlite3.Connection, check: str, customer: str, transition: Transition
) -> None:
    outage, at = transition.outage, to_us(transition.at)
    key = (check, to_us(outage.onset))
    # Inserted whatever the kind, so a transition whose predecessor never reached the
    # database (a bug elsewhere) still leaves an outage row behind.
    conn.execute(
        "INSERT INTO outages (check_id, customer, onset_at, classification, symptom, detail,"
        " window_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (check_id, onset_at) DO NOTHING",
        (
            *key[:1],
            customer,
            key[1],
            outage.classification.value,
            outage.symptom.value,
            outage.detail,
            outage.window_id,
        ),
    )
    if transition.kind is TransitionKind.OVERRAN:
        conn.execute(
            "UPDATE outages SET classification = ?, overrun_at = coalesce(overrun_at, ?)"
            " WHERE check_id = ? AND onset_at = ?",
            (Classification.OVERRUN.value, at, *key),
        )
    elif transition.kind is TransitionKind.ENDED:
        conn.execute(
            "UPDATE outages SET recovered_at = coalesce(recovered_at, ?)"
            " WHERE check_id = ? AND onset_at = ?",
            (at, *key),
        )


def _outages_overlapping(conn: sqlite3.Connection, until: int, since: int) -> list[OutageRecord]:
    rows = conn.execute(
        "SELECT * FROM outages WHERE onset_at < ? AND (recovered_at IS NULL OR recovered_at > ?)"
        " ORDER BY onset_at, id",
        (until, since),
    )
    return [outage_from_row(row) for row in rows]
