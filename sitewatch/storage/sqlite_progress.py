"""Check statuses and raw probe results in SQLite: functions over one connection.

`SqliteStore` calls these inside its transactions (on its worker thread). Rows are
built by `sqlite_codec` on the event loop before the transaction starts, so the
caller may go on changing its own mapping and list meanwhile.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from sitewatch.model import CheckStatus
from sitewatch.storage.sqlite_codec import STATUS_COLUMNS, from_us, status_from_row

PRUNE_CHUNK = 20_000
"""Results deleted per transaction: a large backlog never holds the write lock long."""

_UPDATE_STATUS = ", ".join(f"{c} = excluded.{c}" for c in STATUS_COLUMNS.split(", ")[1:])
_UPSERT_STATUS = (
    f"INSERT INTO check_status ({STATUS_COLUMNS}) VALUES ({', '.join('?' * 15)})"
    f" ON CONFLICT (check_id) DO UPDATE SET {_UPDATE_STATUS}"
)


def load_statuses(conn: sqlite3.Connection) -> dict[str, CheckStatus]:
    """Return every check's saved status by check id."""
    rows = conn.execute("SELECT * FROM check_status")
    return {row["check_id"]: status_from_row(row) for row in rows}


def upsert_statuses(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    """Insert or replace `check_status` rows built by `sqlite_codec.status_row`."""
    conn.executemany(_UPSERT_STATUS, rows)


def save_progress(
    conn: sqlite3.Connection,
    status_rows: list[tuple[object, ...]],
    result_rows: list[tuple[object, ...]],
) -> None:
    """Upsert status rows and insert result rows (`sqlite_codec.result_row`)."""
    upsert_statuses(conn, status_rows)
    conn.executemany(
        "INSERT INTO probe_results (check_id, started_at, kind, duration_us, detail)"
        " VALUES (?, ?, ?, ?, ?)",
        result_rows,
    )


def prune_chunk(conn: sqlite3.Connection, cutoff: int) -> int:
    """Delete up to `PRUNE_CHUNK` results started before `cutoff` (µs); return how many."""
    cursor = conn.execute(
        "DELETE FROM probe_results WHERE id IN"
        " (SELECT id FROM probe_results WHERE started_at < ? LIMIT ?)",
        (cutoff, PRUNE_CHUNK),
    )
    return cursor.rowcount


def first_results(conn: sqlite3.Connection) -> dict[str, datetime]:
    """Return each check's earliest result still held (one pass over the table)."""
    rows = conn.execute("SELECT check_id, min(started_at) FROM probe_results GROUP BY check_id")
    return {check: from_us(first) for check, first in rows}
