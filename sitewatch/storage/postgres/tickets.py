"""Tickets and their timelines: one ticket per `(check, onset)`, lines appended only."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from sitewatch.model import Ticket, TicketEvent, TicketState
from sitewatch.storage.postgres.codec import (
    TICKET_COLUMNS,
    Row,
    event_from_row,
    parse_id,
    require_id,
    ticket_from_row,
    ticket_values,
)
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.protocols import StoreConflictError
from sitewatch.storage.repositories import Cursor

_INSERT = (
    f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)})"
    f" VALUES ({', '.join(f'%({c})s' for c in TICKET_COLUMNS)})"
    " ON CONFLICT (check_id, onset_at) DO NOTHING RETURNING id"
)
_MUTABLE = (
    "state",
    "acknowledged_at",
    "acknowledged_by",
    "recovered_at",
    "resolved_at",
    "resolved_by",
    "cause",
    "resolution_note",
)
_UPDATE = f"UPDATE tickets SET {', '.join(f'{c} = %({c})s' for c in _MUTABLE)} WHERE id = %(id)s"
_ADD_EVENT = (
    "INSERT INTO ticket_events (ticket_id, at, kind, actor, detail) VALUES (%s, %s, %s, %s, %s)"
)
# FOR NO KEY UPDATE: exclusive between lockers, yet it lets inserts that refer to
# the ticket (its pages, its timeline) check their foreign key without waiting.
_LOCK = " FOR NO KEY UPDATE"


class PostgresTicketRepo:
    """`TicketRepo` on PostgreSQL: `tickets` and `ticket_events`."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def open(self, draft: Ticket) -> tuple[Ticket, bool]:
        """Insert the ticket of an outage unless it has one; return it and whether it is new."""
        inserted = await self._sql.values(_INSERT, ticket_values(draft))
        if not inserted:
            existing = await self.of_outage(draft.check, draft.onset_at)
            if existing is None:  # deleted between the insert and the read: start again
                raise StoreConflictError(f"the ticket of {draft.check} vanished while opening")
            return existing, False
        key = inserted[0]
        await self._add_events(key, draft.events)
        await self._sql.execute(
            "UPDATE outages SET ticket_id = %s WHERE check_id = %s AND onset_at = %s",
            (key, draft.check, draft.onset_at),
        )
        return replace(draft, id=str(key)), True

    async def of_outage(self, check: str, onset: datetime) -> Ticket | None:
        """Return the ticket of the outage with this onset, with its events, locked."""
        row = await self._sql.row(
            "SELECT * FROM tickets WHERE check_id = %s AND onset_at = %s" + _LOCK, (check, onset)
        )
        return None if row is None else (await self._with_events([row]))[0]

    async def lock(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events, locked; None if unknown."""
        return await self._one(ticket_id, _LOCK)

    async def get(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events; None if unknown."""
        return await self._one(ticket_id, "")

    async def save(self, before: Ticket, after: Ticket) -> None:
        """Write what a ticket rule changed: the mutable fields and the events added."""
        if after == before:
            return
        key = require_id(after.id, "ticket")
        await self._sql.execute(_UPDATE, {**ticket_values(after), "id": key})
        await self._add_events(key, after.events[len(before.events) :])

    async def add_event(self, ticket_id: str, event: TicketEvent) -> None:
        """Append one line to a ticket's timeline."""
        await self._add_events(require_id(ticket_id, "ticket"), (event,))

    async def escalating(self) -> list[Ticket]:
        """Return open, unacknowledged, unrecovered tickets, oldest first, locked.

        SKIP LOCKED: a ticket another transaction holds (being acknowledged) is left
        out rather than waited for; the next round sees it as it is then.
        """
        # No limit: a cap here would silently stop paging for the oldest outages.
        rows = await self._sql.rows(
            "SELECT * FROM tickets WHERE state = %s AND recovered_at IS NULL"
            " ORDER BY opened_at, id" + _LOCK + " SKIP LOCKED",
            (TicketState.OPEN.value,),
        )
        return await self._with_events(rows)

    async def page(
        self, states: Collection[TicketState] | None, limit: int, after: Cursor | None
    ) -> list[Ticket]:
        """Return up to `limit` tickets in these states (or all), newest first, no events."""
        where, params = ["TRUE"], dict[str, object](limit=max(0, limit))
        if states is not None:
            where.append("state = ANY(%(states)s)")
            params["states"] = [state.value for state in states]
        if after is not None:
            key = parse_id(after.id)
            if key is None:
                return []
            where.append("(opened_at, id) < (%(at)s, %(id)s)")
            params.update(at=after.at, id=key)
        rows = await self._sql.rows(
            f"SELECT * FROM tickets WHERE {' AND '.join(where)}"
            " ORDER BY opened_at DESC, id DESC LIMIT %(limit)s",
            params,
        )
        return [ticket_from_row(row) for row in rows]

    async def overlapping(self, since: datetime, until: datetime) -> list[Ticket]:
        """Return the tickets of outages overlapping since..until, by onset, no events."""
        rows = await self._sql.rows(
            "SELECT * FROM tickets WHERE onset_at < %s"
            " AND (recovered_at IS NULL OR recovered_at > %s) ORDER BY onset_at, id",
            (until, since),
        )
        return [ticket_from_row(row) for row in rows]

    async def count_unresolved(self) -> int:
        """Return how many tickets are not resolved."""
        [count] = await self._sql.values(
            "SELECT count(*) FROM tickets WHERE state <> %s", (TicketState.RESOLVED.value,)
        )
        return int(count)

    async def prune_resolved(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` tickets resolved before `before`, with their events and pages.

        Timelines and outbox rows go with them (ON DELETE CASCADE); outages keep
        their row and lose the link. Open and acknowledged tickets are never touched.
        """
        return await self._sql.execute(
            "DELETE FROM tickets WHERE id = ANY(ARRAY(SELECT id FROM tickets"
            " WHERE state = %s AND resolved_at < %s ORDER BY resolved_at LIMIT %s))",
            (TicketState.RESOLVED.value, before, max(0, limit)),
        )

    async def _one(self, ticket_id: str, lock: str) -> Ticket | None:
        key = parse_id(ticket_id)
        if key is None:
            return None
        row = await self._sql.row("SELECT * FROM tickets WHERE id = %s" + lock, (key,))
        return None if row is None else (await self._with_events([row]))[0]

    async def _with_events(self, rows: Sequence[Row]) -> list[Ticket]:
        if not rows:
            return []
        lines = await self._sql.rows(
            "SELECT * FROM ticket_events WHERE ticket_id = ANY(%s) ORDER BY ticket_id, id",
            ([row["id"] for row in rows],),
        )
        timelines: dict[int, list[TicketEvent]] = {}
        for line in lines:
            timelines.setdefault(line["ticket_id"], []).append(event_from_row(line))
        return [ticket_from_row(row, tuple(timelines.get(row["id"], ()))) for row in rows]

    async def _add_events(self, key: int, events: Sequence[TicketEvent]) -> None:
        if events:
            await self._sql.execute_many(
                _ADD_EVENT, [(key, e.at, e.kind, e.by, e.detail) for e in events]
            )
