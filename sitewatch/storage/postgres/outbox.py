"""The durable outbox: one row per page (or webhook call) and target.

Rows are unique on `(subject, kind, level, round, operator, url_index)` and added
with ON CONFLICT DO NOTHING, so replaying a decision never plans a page twice.
Senders claim due rows with `FOR NO KEY UPDATE SKIP LOCKED`: two senders never
wait on each other and never take the same row. A claim names its claimant and
lasts until an expiry; only the claimant still holding a row may record its outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sitewatch.model import (
    DeliveryDecision,
    Page,
    PageKind,
    PageRow,
    PageState,
    Target,
    ticket_subject,
)
from sitewatch.storage.postgres.codec import Row, parse_id, require_id
from sitewatch.storage.postgres.sql import Sql

PAGE_COLUMNS = (
    "subject, ticket_id, kind, level, round, operator, url_index, title, body, created_at,"
    " due_at, state, next_attempt_at"
)
_INSERT = (
    f"INSERT INTO pages ({PAGE_COLUMNS}) VALUES ({', '.join(['%s'] * 13)})"
    " ON CONFLICT (subject, kind, level, round, operator, url_index) DO NOTHING"
)
_ONSET = "(SELECT onset_at FROM tickets WHERE tickets.id = pages.ticket_id) AS onset_at"
_ESCALATING = [PageKind.SITE_DOWN.value, PageKind.STILL_DOWN.value]
_PENDING = PageState.PENDING.value

_ANY_DUE = """
SELECT EXISTS (
    SELECT 1 FROM pages
    WHERE state = %(pending)s AND next_attempt_at <= %(now)s
      AND (claimed_until IS NULL OR claimed_until <= %(now)s)
) AS due
"""

_CLAIM = f"""
WITH due AS (
    SELECT p.id FROM pages p
    WHERE p.state = %(pending)s AND p.next_attempt_at <= %(now)s
      AND (p.claimed_until IS NULL OR p.claimed_until <= %(now)s)
      AND NOT EXISTS (
          SELECT 1 FROM pages q
          WHERE q.state = %(pending)s AND q.subject = p.subject AND q.operator = p.operator
            AND q.url_index = p.url_index AND q.id < p.id)
    ORDER BY p.next_attempt_at, p.id
    LIMIT %(limit)s
    FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE pages SET claimed_by = %(claimant)s, claimed_until = %(until)s
FROM due WHERE pages.id = due.id
RETURNING pages.*, {_ONSET}
"""

_RECORD = f"""
UPDATE pages SET state = %(state)s, attempts = %(attempts)s,
    next_attempt_at = %(next_attempt_at)s, last_error = %(error)s,
    sent_at = CASE WHEN %(sent)s THEN %(now)s ELSE sent_at END,
    claimed_by = NULL, claimed_until = NULL
WHERE id = %(id)s AND claimed_by = %(claimant)s AND state = %(pending)s
RETURNING pages.*, {_ONSET}
"""


def page_values(row: PageRow, now: datetime) -> tuple[object, ...]:
    """Return an outbox row as values for `PAGE_COLUMNS` (a new, pending row)."""
    ticket = None if row.ticket_id is None else require_id(row.ticket_id, "ticket")
    return (
        row.subject,
        ticket,
        row.kind.value,
        row.level,
        row.round,
        row.operator,
        row.url_index,
        row.title,
        row.body,
        now,
        row.due_at,
        PageState.PENDING.value,
        row.due_at,
    )


def page_from_row(row: Row) -> Page:
    """Return the stored page a `pages` row holds (with `onset_at` of its ticket)."""
    ticket = row["ticket_id"]
    return Page(
        id=row["id"],
        row=PageRow(
            subject=row["subject"],
            kind=PageKind(row["kind"]),
            operator=row["operator"],
            url_index=row["url_index"],
            title=row["title"],
            body=row["body"],
            due_at=row["due_at"],
            ticket_id=None if ticket is None else str(ticket),
            level=row["level"],
            round=row["round"],
        ),
        state=PageState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
        onset_at=row["onset_at"],
    )


class PostgresOutboxRepo:
    """`OutboxRepo` on PostgreSQL: the `pages` table."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, rows: Sequence[PageRow], now: datetime) -> int:
        """Add rows not planned before (same key), in order; return how many are new."""
        if not rows:
            return 0
        return await self._sql.execute_many(_INSERT, [page_values(row, now) for row in rows])

    async def planned_rounds(self, ticket_ids: Collection[str]) -> dict[str, set[tuple[int, int]]]:
        """Return, for every ticket asked about, the `(level, round)` pairs of its pages."""
        planned: dict[str, set[tuple[int, int]]] = {ticket: set() for ticket in ticket_ids}
        by_subject = {ticket_subject(ticket): ticket for ticket in ticket_ids}
        rows = await self._sql.rows(
            "SELECT DISTINCT subject, level, round FROM pages"
            " WHERE subject = ANY(%s) AND kind = ANY(%s)",
            (list(by_subject), _ESCALATING),
        )
        for row in rows:
            planned[by_subject[row["subject"]]].add((row["level"], row["round"]))
        return planned

    async def paged_targets(self, ticket_id: str) -> list[Target]:
        """Return every target paged for a ticket (SITE DOWN or STILL DOWN, not cancelled)."""
        rows = await self._sql.rows(
            "SELECT operator, url_index FROM pages WHERE subject = %s AND kind = ANY(%s)"
            " AND state <> %s GROUP BY operator, url_index ORDER BY min(id)",
            (ticket_subject(ticket_id), _ESCALATING, PageState.CANCELLED.value),
        )
        return [Target(row["operator"], row["url_index"]) for row in rows]

    async def cancel_pending(
        self, ticket_id: str, kinds: Collection[PageKind], reason: str, now: datetime
    ) -> int:
        """Cancel a ticket's pending rows of these kinds not claimed now; return how many."""
        return await self._sql.execute(
            "UPDATE pages SET state = %s, last_error = %s WHERE subject = %s AND kind = ANY(%s)"
            " AND state = %s AND (claimed_until IS NULL OR claimed_until <= %s)",
            (
                PageState.CANCELLED.value,
                reason,
                ticket_subject(ticket_id),
                [kind.value for kind in kinds],
                _PENDING,
                now,
            ),
        )

    async def any_due(self, now: datetime) -> bool:
        """Tell whether a pending row is due at `now` and not held by a live claim."""
        row = await self._sql.row(_ANY_DUE, {"pending": _PENDING, "now": now})
        return bool(row is not None and row["due"])

    async def claim(self, now: datetime, limit: int, lease: timedelta, claimant: str) -> list[Page]:
        """Claim up to `limit` due rows for `claimant` until `now + lease`, oldest first."""
        rows = await self._sql.rows(
            _CLAIM,
            {
                "pending": _PENDING,
                "now": now,
                "limit": max(0, limit),
                "claimant": claimant,
                "until": now + lease,
            },
        )
        pages = [page_from_row(row) for row in rows]
        return sorted(pages, key=lambda page: (page.next_attempt_at, page.id))

    async def record(
        self, page_id: int, claimant: str, decision: DeliveryDecision, now: datetime
    ) -> Page | None:
        """Store an attempt's outcome if `claimant` still holds the row; the row, or None."""
        row = await self._sql.row(
            _RECORD,
            {
                "state": decision.state.value,
                "attempts": decision.attempts,
                "next_attempt_at": decision.next_attempt_at,
                "error": decision.error,
                "sent": decision.state is PageState.SENT,
                "now": now,
                "id": page_id,
                "claimant": claimant,
                "pending": _PENDING,
            },
        )
        return None if row is None else page_from_row(row)

    async def release_claims(self, keep: str) -> int:
        """Release every pending row's claim not made by `keep`; return how many."""
        return await self._sql.execute(
            "UPDATE pages SET claimed_by = NULL, claimed_until = NULL"
            " WHERE state = %s AND claimed_by IS NOT NULL AND claimed_by <> %s",
            (_PENDING, keep),
        )

    async def sent_before(self, ticket_id: str, page_id: int) -> bool:
        """Tell whether another page of this ticket was sent already."""
        key = parse_id(ticket_id)
        if key is None:
            return False
        [sent] = await self._sql.values(
            "SELECT EXISTS (SELECT 1 FROM pages WHERE ticket_id = %s AND state = %s AND id <> %s)",
            (key, PageState.SENT.value, page_id),
        )
        return bool(sent)

    async def rows(self, ticket_id: str | None = None) -> list[Page]:
        """Return the rows (of one ticket, or all), oldest first."""
        if ticket_id is None:
            rows = await self._sql.rows(f"SELECT pages.*, {_ONSET} FROM pages ORDER BY id")
        else:
            key = parse_id(ticket_id)
            if key is None:
                return []
            rows = await self._sql.rows(
                f"SELECT pages.*, {_ONSET} FROM pages WHERE ticket_id = %s ORDER BY id", (key,)
            )
        return [page_from_row(row) for row in rows]

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` finished rows of no ticket (prober faults) created before."""
        return await self._sql.execute(
            "DELETE FROM pages WHERE id = ANY(ARRAY(SELECT id FROM pages"
            " WHERE ticket_id IS NULL AND state <> %s AND created_at < %s"
            " ORDER BY created_at LIMIT %s))",
            (_PENDING, before, max(0, limit)),
        )
