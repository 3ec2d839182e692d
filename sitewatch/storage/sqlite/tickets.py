"""Tickets and their timelines in SQLite.

`tickets` is unique on `(check_id, onset_at)` and opened with `ON CONFLICT DO
NOTHING`, so replaying the transition that opens one (after a crash) finds the
ticket already there instead of opening a second.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from sitewatch.model import Ticket, TicketEvent, TicketState
from sitewatch.storage.repositories import Cursor
from sitewatch.storage.sqlite.codec import (
    TICKET_COLUMNS,
    TICKET_VALUES,
    from_us,
    parse_id,
    ticket_from_row,
    ticket_values,
    to_us,
)
from sitewatch.storage.sqlite.worker import SqliteWorker


class SqliteTickets:
    """The `TicketRepo` of one SQLite transaction."""

    def __init__(self, worker: SqliteWorker) -> None:
        self._worker = worker

    async def open(self, draft: Ticket) -> tuple[Ticket, bool]:
        """Insert the outage's ticket unless it has one; return it and whether it is new."""
        return await self._worker.call(_open, draft)

    async def of_outage(self, check: str, onset: datetime) -> Ticket | None:
        """Return the ticket of the outage with this onset, with its events."""
        return await self._worker.call(_of_outage, check, to_us(onset))

    async def lock(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events (the transaction holds the lock)."""
        return await self.get(ticket_id)

    async def get(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events, or None (for an id of any form)."""
        key = parse_id(ticket_id)
        return None if key is None else await self._worker.call(_load, key)

    async def save(self, before: Ticket, after: Ticket) -> None:
        """Write the fields a rule changed and the events it added."""
        if after != before:
            await self._worker.call(_save, before, after)

    async def add_event(self, ticket_id: str, event: TicketEvent) -> None:
        """Append one line to a ticket's timeline."""
        key = parse_id(ticket_id)
        if key is not None:
            await self._worker.call(_insert_events, key, [event])

    async def escalating(self) -> list[Ticket]:
        """Return open, unacknowledged, unrecovered tickets, oldest first (no events)."""
        # No limit: a cap here would silently stop paging for the oldest outages.
        return await self._worker.call(_escalating)

    async def page(
        self, states: Collection[TicketState] | None, limit: int, after: Cursor | None
    ) -> list[Ticket]:
        """Return up to `limit` tickets in these states (or all), newest first, no events."""
        where: list[str] = ["1"]
        params: list[object] = []
        if states is not None:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params += [state.value for state in states]
        if after is not None:
            key = parse_id(after.id)
            where.append("(opened_at < ? OR (opened_at = ? AND id < ?))")
            params += [to_us(after.at), to_us(after.at), key if key is not None else 0]
        sql = (
            f"SELECT * FROM tickets WHERE {' AND '.join(where)}"
            " ORDER BY opened_at DESC, id DESC LIMIT ?"
        )
        return await self._worker.call(_tickets, sql, (*params, max(0, limit)))

    async def overlapping(self, since: datetime, until: datetime) -> list[Ticket]:
        """Return the tickets of outages overlapping since..until, by onset, no events."""
        return await self._worker.call(
            _tickets,
            "SELECT * FROM tickets WHERE onset_at < ? AND (recovered_at IS NULL"
            " OR recovered_at > ?) ORDER BY onset_at, id",
            (to_us(until), to_us(since)),
        )

    async def count_unresolved(self) -> int:
        """Return how many tickets are not resolved."""
        return await self._worker.call(_count_unresolved)

    async def prune_resolved(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` tickets resolved before `before`, with what hangs on them."""
        return await self._worker.call(_prune_resolved, to_us(before), max(0, limit))


def _load(conn: sqlite3.Connection, key: int) -> Ticket | None:
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (key,)).fetchone()
    if row is None:
        return None
    events = conn.execute(
        "SELECT at, kind, actor, detail FROM ticket_events WHERE ticket_id = ? ORDER BY id",
        (key,),
    )
    timeline = tuple(
        TicketEvent(from_us(at), kind, actor, detail) for at, kind, actor, detail in events
    )
    return ticket_from_row(row, timeline)


def _escalating(conn: sqlite3.Connection) -> list[Ticket]:
    rows = conn.execute(
        "SELECT id FROM tickets WHERE state = ? AND recovered_at IS NULL ORDER BY opened_at, id",
        (TicketState.OPEN.value,),
    ).fetchall()
    return [ticket for (key,) in rows if (ticket := _load(conn, key)) is not None]


def _of_outage(conn: sqlite3.Connection, check: str, onset: int) -> Ticket | None:
    row = conn.execute(
        "SELECT id FROM tickets WHERE check_id = ? AND onset_at = ?", (check, onset)
    ).fetchone()
    return None if row is None else _load(conn, row[0])


def _open(conn: sqlite3.Connection, draft: Ticket) -> tuple[Ticket, bool]:
    onset = to_us(draft.onset_at)
    inserted = conn.execute(
        f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({TICKET_VALUES})"
        " ON CONFLICT (check_id, onset_at) DO NOTHING RETURNING id",
        ticket_values(draft),
    ).fetchall()
    if not inserted:
        existing = _of_outage(conn, draft.check, onset)
        assert existing is not None, "a conflicting ticket exists"
        return existing, False
    key = inserted[0][0]
    _insert_events(conn, key, draft.events)
    conn.execute(
        "UPDATE outages SET ticket_id = ? WHERE check_id = ? AND onset_at = ?",
        (key, draft.check, onset),
    )
    return replace(draft, id=str(key)), True


def _save(conn: sqlite3.Connection, before: Ticket, after: Ticket) -> None:
    conn.execute(
        "UPDATE tickets SET state = :state, acknowledged_at = :acknowledged_at,"
        " acknowledged_by = :acknowledged_by, recovered_at = :recovered_at,"
        " resolved_at = :resolved_at, resolved_by = :resolved_by, cause = :cause,"
        " resolution_note = :resolution_note WHERE id = :id",
        {**ticket_values(after), "id": int(after.id)},
    )
    _insert_events(conn, int(after.id), after.events[len(before.events) :])


def _insert_events(conn: sqlite3.Connection, key: int, events: Sequence[TicketEvent]) -> None:
    conn.executemany(
        "INSERT INTO ticket_events (ticket_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
        [(key, to_us(e.at), e.kind, e.by, e.detail) for e in events],
    )


def _tickets(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[Ticket]:
    return [ticket_from_row(row) for row in conn.execute(sql, params)]


def _count_unresolved(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM tickets WHERE state != ?", (TicketState.RESOLVED.value,)
    ).fetchone()
    count: int = row[0]
    return count


def _prune_resolved(conn: sqlite3.Connection, before: int, limit: int) -> int:
    keys = [
        key
        for (key,) in conn.execute(
            "SELECT id FROM tickets WHERE state = ? AND resolved_at < ? ORDER BY id LIMIT ?",
            (TicketState.RESOLVED.value, before, limit),
        )
    ]
    if not keys:
        return 0
    marks = ", ".join("?" * len(keys))
    for table, column in (("ticket_events", "ticket_id"), ("pages", "ticket_id")):
        conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", keys)
    conn.execute(f"DELETE FROM outages WHERE ticket_id IN ({marks})", keys)
    conn.execute(f"DELETE FROM tickets WHERE id IN ({marks})", keys)
    return len(keys)
