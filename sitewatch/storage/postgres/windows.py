"""Maintenance windows and their audit trail: every write adds its audit line."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from sitewatch.model import MaintenanceKind, Window, WindowChange
from sitewatch.storage.postgres.codec import Row, parse_id, require_id
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.repositories import Cursor

_INSERT = (
    "INSERT INTO windows (customer, checks, kind, start_at, end_at, declared_at, declared_by,"
    " note, cancelled_at) VALUES (%(customer)s, %(checks)s, %(kind)s, %(start_at)s, %(end_at)s,"
    " %(declared_at)s, %(declared_by)s, %(note)s, %(cancelled_at)s) RETURNING id"
)


def window_values(window: Window) -> dict[str, object]:
    """Return a window's `windows` columns by name (all but `id`)."""
    return {
        "customer": window.customer,
        "checks": list(window.checks),
        "kind": window.kind.value,
        "start_at": window.start,
        "end_at": window.end,
        "declared_at": window.declared_at,
        "declared_by": window.declared_by,
        "note": window.note,
        "cancelled_at": window.cancelled_at,
    }


def window_from_row(row: Row) -> Window:
    """Return the window a `windows` row holds."""
    return Window(
        id=str(row["id"]),
        customer=row["customer"],
        checks=tuple(row["checks"]),
        kind=MaintenanceKind(row["kind"]),
        start=row["start_at"],
        end=row["end_at"],
        declared_at=row["declared_at"],
        declared_by=row["declared_by"],
        note=row["note"],
        cancelled_at=row["cancelled_at"],
    )


class PostgresWindowRepo:
    """`WindowRepo` on PostgreSQL: `windows` and `window_changes`."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, window: Window, change: WindowChange) -> Window:
        """Store a new window under a fresh id, with its `declared` line."""
        [key] = await self._sql.values(_INSERT, window_values(window))
        stored = replace(window, id=str(key))
        await self._audit(key, change)
        return stored

    async def lock(self, window_id: str) -> Window | None:
        """Return one window, locked; None if unknown."""
        return await self._one(window_id, " FOR NO KEY UPDATE")

    async def get(self, window_id: str) -> Window | None:
        """Return one window; None if unknown."""
        return await self._one(window_id, "")

    async def save(self, window: Window, change: WindowChange) -> None:
        """Write a window's new end or cancellation with its audit line."""
        key = require_id(window.id, "window")
        updated = await self._sql.execute(
            "UPDATE windows SET end_at = %s, cancelled_at = %s WHERE id = %s",
            (window.end, window.cancelled_at, key),
        )
        if not updated:
            raise LookupError(f"there is no maintenance window {window.id!r} to save")
        await self._audit(key, change)

    async def covering(self, customers: Collection[str], ending_after: datetime) -> list[Window]:
        """Return the customers' windows not cancelled that end after `ending_after`."""
        rows = await self._sql.rows(
            "SELECT * FROM windows WHERE customer = ANY(%s) AND end_at > %s"
            " AND cancelled_at IS NULL ORDER BY start_at, id",
            (list(customers), ending_after),
        )
        return [window_from_row(row) for row in rows]

    async def page(self, customer: str | None, limit: int, after: Cursor | None) -> list[Window]:
        """Return up to `limit` windows (of one customer, or all), latest start first."""
        where, params = ["TRUE"], dict[str, object](limit=max(0, limit))
        if customer is not None:
            where.append("customer = %(customer)s")
            params["customer"] = customer
        if after is not None:
            key = parse_id(after.id)
            if key is None:
                return []
            where.append("(start_at, id) < (%(at)s, %(id)s)")
            params.update(at=after.at, id=key)
        rows = await self._sql.rows(
            f"SELECT * FROM windows WHERE {' AND '.join(where)}"
            " ORDER BY start_at DESC, id DESC LIMIT %(limit)s",
            params,
        )
        return [window_from_row(row) for row in rows]

    async def changes(self, window_id: str) -> list[WindowChange]:
        """Return a window's audit trail, oldest first."""
        key = parse_id(window_id)
        if key is None:
            return []
        rows = await self._sql.rows(
            "SELECT * FROM window_changes WHERE window_id = %s ORDER BY at, id", (key,)
        )
        return [
            WindowChange(str(key), row["at"], row["actor"], row["action"], row["detail"])
            for row in rows
        ]

    async def count_not_ended(self, customer: str, now: datetime) -> int:
        """Return how many of the customer's windows are neither ended nor cancelled."""
        [count] = await self._sql.values(
            "SELECT count(*) FROM windows WHERE customer = %s AND end_at > %s"
            " AND cancelled_at IS NULL",
            (customer, now),
        )
        return int(count)

    async def prune_ended(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` windows that ended (or were cancelled) before `before`."""
        return await self._sql.execute(
            "DELETE FROM windows WHERE id = ANY(ARRAY(SELECT id FROM windows"
            " WHERE least(end_at, cancelled_at) < %s ORDER BY least(end_at, cancelled_at)"
            " LIMIT %s))",
            (before, max(0, limit)),
        )

    async def _one(self, window_id: str, lock: str) -> Window | None:
        key = parse_id(window_id)
        if key is None:
            return None
        row = await self._sql.row("SELECT * FROM windows WHERE id = %s" + lock, (key,))
        return None if row is None else window_from_row(row)

    async def _audit(self, key: int, change: WindowChange) -> None:
        await self._sql.execute(
            "INSERT INTO window_changes (window_id, at, actor, action, detail)"
            " VALUES (%s, %s, %s, %s, %s)",
            (key, change.at, change.by, change.action, change.detail),
        )
