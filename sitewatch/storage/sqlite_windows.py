"""Maintenance windows and their audit trail in SQLite: functions over one connection.

`SqliteStore` calls these inside its transactions (on its worker thread). Every
write to a window adds its `window_changes` line in the same transaction; cancelled
windows stay, so the trail and the statistics can still name them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime

from sitewatch.model import Window, WindowChange
from sitewatch.storage.sqlite_codec import from_us, parse_id, to_us, window_from_row, window_values


def add_window(conn: sqlite3.Connection, window: Window) -> Window:
    """Store a new window under a fresh id, with its `declared` audit line."""
    [(key,)] = conn.execute(
        "INSERT INTO windows (customer, checks, kind, start_at, end_at, declared_at,"
        " declared_by, note, cancelled_at) VALUES (:customer, :checks, :kind, :start_at,"
        " :end_at, :declared_at, :declared_by, :note, :cancelled_at) RETURNING id",
        window_values(window),
    ).fetchall()
    stored = replace(window, id=str(key))
    scope = ", ".join(window.checks) or "all checks"
    detail = f"{window.kind.value} {_iso(window.start)} .. {_iso(window.end)} ({scope})"
    _audit(
        conn, WindowChange(stored.id, window.declared_at, window.declared_by, "declared", detail)
    )
    return stored


def load_window(conn: sqlite3.Connection, key: int) -> Window | None:
    """Return one window, or None."""
    row = conn.execute("SELECT * FROM windows WHERE id = ?", (key,)).fetchone()
    return None if row is None else window_from_row(row)


def list_windows(
    conn: sqlite3.Connection, customer: str | None, ending_after: int | None
) -> list[Window]:
    """Return windows (of a customer, ending after a time in µs), oldest start first."""
    rows = conn.execute(
        "SELECT * FROM windows WHERE (?1 IS NULL OR customer = ?1) AND (?2 IS NULL OR end_at > ?2)"
        " ORDER BY start_at, id",
        (customer, ending_after),
    )
    return [window_from_row(row) for row in rows]


def change_window_end(
    conn: sqlite3.Connection, window_id: str, end: datetime, by: str, at: datetime
) -> Window:
    """Move a window's end and audit it; LookupError if there is no such window.

    A window cancelled meanwhile (the API checked an earlier read) stays as it is:
    the caller gets it back cancelled, and the audit trail never shows a change
    after a cancellation.
    """
    window = _existing_window(conn, window_id)
    if window.cancelled_at is not None:
        return window
    conn.execute("UPDATE windows SET end_at = ? WHERE id = ?", (to_us(end), int(window.id)))
    detail = f"end {_iso(window.end)} -> {_iso(end)}"
    _audit(conn, WindowChange(window.id, at, by, "changed", detail))
    return replace(window, end=end)


def cancel_window(conn: sqlite3.Connection, window_id: str, by: str, at: datetime) -> Window:
    """Cancel a window and audit it (once); LookupError if there is no such window."""
    window = _existing_window(conn, window_id)
    if window.cancelled_at is not None:
        return window
    conn.execute("UPDATE windows SET cancelled_at = ? WHERE id = ?", (to_us(at), int(window.id)))
    _audit(conn, WindowChange(window.id, at, by, "cancelled"))
    return replace(window, cancelled_at=at)


def window_changes(conn: sqlite3.Connection, key: int) -> list[WindowChange]:
    """Return a window's audit trail, oldest first."""
    rows = conn.execute(
        "SELECT at, actor, action, detail FROM window_changes WHERE window_id = ? ORDER BY at, id",
        (key,),
    )
    return [
        WindowChange(str(key), from_us(at), actor, action, detail)
        for at, actor, action, detail in rows
    ]


def _existing_window(conn: sqlite3.Connection, window_id: str) -> Window:
    key = parse_id(window_id)
    window = None if key is None else load_window(conn, key)
    if window is None:
        raise LookupError(f"there is no maintenance window {window_id!r}")
    return window


def _audit(conn: sqlite3.Connection, change: WindowChange) -> None:
    conn.execute(
        "INSERT INTO window_changes (window_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
        (int(change.window_id), to_us(change.at), change.by, change.action, change.detail),
    )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
