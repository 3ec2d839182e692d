"""Maintenance windows and their audit trail in SQLite.

Every write to a window adds its `window_changes` line in the same transaction;
cancelled windows stay, so the trail and the statistics can still name them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from sitewatch.model import Window, WindowChange
from sitewatch.storage.repositories import Cursor
from sitewatch.storage.sqlite.codec import (
    from_us,
    parse_id,
    to_us,
    to_us_opt,
    window_from_row,
    window_values,
)
from sitewatch.storage.sqlite.worker import SqliteWorker


class SqliteWindows:
    """The `WindowRepo` of one SQLite transaction."""

    def __init__(self, worker: SqliteWorker) -> None:
        self._worker = worker

    async def add(self, window: Window, change: WindowChange) -> Window:
        """Store a new window under a fresh id, with its `declared` line."""
        return await self._worker.call(_add, window, change)

    async def lock(self, window_id: str) -> Window | None:
        """Return one window (the transaction holds the lock)."""
        return await self.get(window_id)

    async def get(self, window_id: str) -> Window | None:
        """Return one window, or None (for an id of any form)."""
        key = parse_id(window_id)
        return None if key is None else await self._worker.call(_load, key)

    async def save(self, window: Window, change: WindowChange) -> None:
        """Write a window's end and cancellation with its audit line."""
        await self._worker.call(_save, window, change)

    async def covering(self, customers: Collection[str], ending_after: datetime) -> list[Window]:
        """Return the customers' windows not cancelled that end after `ending_after`."""
        return await self._worker.call(_covering, sorted(customers), to_us(ending_after))

    async def page(self, customer: str | None, limit: int, after: Cursor | None) -> list[Window]:
        """Return up to `limit` windows (of one customer, or all), latest start first."""
        key = None if after is None else parse_id(after.id)
        at = None if after is None else to_us(after.at)
        return await self._worker.call(_page, customer, max(0, limit), at, key)

    async def changes(self, window_id: str) -> list[WindowChange]:
        """Return a window's audit trail, oldest first."""
        key = parse_id(window_id)
        return [] if key is None else await self._worker.call(_changes, key)

    async def count_not_ended(self, customer: str, now: datetime) -> int:
        """Return how many of the customer's windows are neither ended nor cancelled."""
        return await self._worker.call(_count_not_ended, customer, to_us(now))

    async def prune_ended(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` windows that ended or were cancelled before `before`."""
        return await self._worker.call(_prune, to_us(before), max(0, limit))


def _add(conn: sqlite3.Connection, window: Window, change: WindowChange) -> Window:
    [(key,)] = conn.execute(
        "INSERT INTO windows (customer, checks, kind, start_at, end_at, declared_at,"
        " declared_by, note, cancelled_at) VALUES (:customer, :checks, :kind, :start_at,"
        " :end_at, :declared_at, :declared_by, :note, :cancelled_at) RETURNING id",
        window_values(window),
    ).fetchall()
    _audit(conn, key, change)
    return replace(window, id=str(key))


def _load(conn: sqlite3.Connection, key: int) -> Window | None:
    row = conn.execute("SELECT * FROM windows WHERE id = ?", (key,)).fetchone()
    return None if row is None else window_from_row(row)


def _save(conn: sqlite3.Connection, window: Window, change: WindowChange) -> None:
    key = parse_id(window.id)
    updated = conn.execute(
        "UPDATE windows SET end_at = ?, cancelled_at = ? WHERE id = ?",
        (to_us(window.end), to_us_opt(window.cancelled_at), key),
    ).rowcount
    if key is None or not updated:
        raise LookupError(f"there is no maintenance window {window.id!r}")
    _audit(conn, key, change)


def _covering(conn: sqlite3.Connection, customers: list[str], after: int) -> list[Window]:
    marks = ", ".join("?" * len(customers))
    rows = conn.execute(
        f"SELECT * FROM windows WHERE customer IN ({marks}) AND end_at > ?"
        " AND cancelled_at IS NULL ORDER BY start_at, id",
        (*customers, after),
    )
    return [window_from_row(row) for row in rows]


def _page(
    conn: sqlite3.Connection, customer: str | None, limit: int, at: int | None, key: int | None
) -> list[Window]:
    rows = conn.execute(
        "SELECT * FROM windows WHERE (?1 IS NULL OR customer = ?1)"
        " AND (?2 IS NULL OR start_at < ?2 OR (start_at = ?2 AND id < ?3))"
        " ORDER BY start_at DESC, id DESC LIMIT ?4",
        (customer, at, key or 0, limit),
    )
    return [window_from_row(row) for row in rows]


def _changes(conn: sqlite3.Connection, key: int) -> list[WindowChange]:
    rows = conn.execute(
        "SELECT at, actor, action, detail FROM window_changes WHERE window_id = ? ORDER BY at, id",
        (key,),
    )
    return [
        WindowChange(str(key), from_us(at), actor, action, detail)
        for at, actor, action, detail in rows
    ]


def _count_not_ended(conn: sqlite3.Connection, customer: str, now: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM windows WHERE customer = ? AND end_at > ? AND cancelled_at IS NULL",
        (customer, now),
    ).fetchone()
    count: int = row[0]
    return count


def _prune(conn: sqlite3.Connection, before: int, limit: int) -> int:
    keys = [
        key
        for (key,) in conn.execute(
            "SELECT id FROM windows WHERE end_at < ?1 OR cancelled_at < ?1 ORDER BY id LIMIT ?2",
            (before, limit),
        )
    ]
    if not keys:
        return 0
    marks = ", ".join("?" * len(keys))
    conn.execute(f"DELETE FROM window_changes WHERE window_id IN ({marks})", keys)
    conn.execute(f"DELETE FROM windows WHERE id IN ({marks})", keys)
    return len(keys)


def _audit(conn: sqlite3.Connection, key: int, change: WindowChange) -> None:
    conn.execute(
        "INSERT INTO window_changes (window_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
        (key, to_us(change.at), change.by, change.action, change.detail),
    )
