"""The outbox in SQLite: one row per page and target, claimed, sent, recorded.

Rows are unique on `(subject, kind, level, round, operator, url_index)` and inserted
with `ON CONFLICT DO NOTHING`: replaying a change never plans a page twice. A claim
names its claimant and lasts until `claimed_until`; an outcome is recorded only by
the claimant that still holds the row.
"""

from __future__ import annotations

import sqlite3
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
from sitewatch.storage.sqlite.codec import from_us, from_us_opt, parse_id, to_us
from sitewatch.storage.sqlite.worker import SqliteWorker

_ESCALATING = (PageKind.SITE_DOWN.value, PageKind.STILL_DOWN.value)
_INSERT = (
    "INSERT INTO pages (subject, ticket_id, kind, level, round, operator, url_index, title,"
    " body, reason, created_at, due_at, state, attempts, next_attempt_at, last_error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '')"
    " ON CONFLICT (subject, kind, level, round, operator, url_index) DO NOTHING"
)
_SELECT = (
    "SELECT pages.*, tickets.onset_at AS ticket_onset"
    " FROM pages LEFT JOIN tickets ON tickets.id = pages.ticket_id"
)


class SqliteOutbox:
    """The `OutboxRepo` of one SQLite transaction."""

    def __init__(self, worker: SqliteWorker) -> None:
        self._worker = worker

    async def add(self, rows: Sequence[PageRow], now: datetime) -> int:
        """Add rows not planned before; return how many are new."""
        return await self._worker.call(_add, list(rows), to_us(now)) if rows else 0

    async def planned_rounds(self, ticket_ids: Collection[str]) -> dict[str, set[tuple[int, int]]]:
        """Return, per ticket, the `(level, round)` pairs already in the outbox."""
        return await self._worker.call(_planned_rounds, sorted(ticket_ids))

    async def paged_targets(self, ticket_id: str) -> list[Target]:
        """Return every target paged for a ticket (SITE DOWN or STILL DOWN, not cancelled)."""
        return await self._worker.call(_paged_targets, ticket_subject(ticket_id))

    async def cancel_pending(
        self, ticket_id: str, kinds: Collection[PageKind], reason: str, now: datetime
    ) -> int:
        """Cancel a ticket's pending rows of these kinds that nobody holds now."""
        if not kinds:
            return 0
        return await self._worker.call(
            _cancel, ticket_subject(ticket_id), sorted(k.value for k in kinds), reason, to_us(now)
        )

    async def any_due(self, now: datetime) -> bool:
        """Tell whether a pending row is due at `now` and not held by a live claim."""
        return await self._worker.call(_any_due, to_us(now))

    async def claim(self, now: datetime, limit: int, lease: timedelta, claimant: str) -> list[Page]:
        """Claim up to `limit` due rows for `claimant`, oldest first, in order per target."""
        return await self._worker.call(
            _claim, to_us(now), max(0, limit), to_us(now + lease), claimant
        )

    async def record(
        self, page_id: int, claimant: str, decision: DeliveryDecision, now: datetime
    ) -> Page | None:
        """Store an attempt's outcome if `claimant` still holds the row."""
        return await self._worker.call(_record, page_id, claimant, decision, to_us(now))

    async def release_claims(self, keep: str) -> int:
        """Release every pending row's claim not made by `keep`; return how many."""
        return await self._worker.call(_release_claims, keep)

    async def sent_before(self, ticket_id: str, page_id: int) -> bool:
        """Tell whether another page of this ticket was sent already."""
        key = parse_id(ticket_id)
        return key is not None and await self._worker.call(_sent_before, key, page_id)

    async def rows(self, ticket_id: str | None = None) -> list[Page]:
        """Return the rows (of one ticket, or all), oldest first."""
        if ticket_id is None:
            return await self._worker.call(_pages, f"{_SELECT} ORDER BY pages.id", ())
        key = parse_id(ticket_id)
        if key is None:
            return []
        query = f"{_SELECT} WHERE pages.ticket_id = ? ORDER BY pages.id"
        return await self._worker.call(_pages, query, (key,))

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` finished rows of no ticket created before `before`."""
        return await self._worker.call(_prune, to_us(before), max(0, limit))


def _add(conn: sqlite3.Connection, rows: list[PageRow], now: int) -> int:
    inserted = 0
    for row in rows:
        due = to_us(row.due_at)
        ticket = None if row.ticket_id is None else parse_id(row.ticket_id)
        cursor = conn.execute(
            _INSERT,
            (
                row.subject,
                ticket,
                row.kind.value,
                row.level,
                row.round,
                row.operator,
                row.url_index,
                row.title,
                row.body,
                row.reason,
                now,
                due,
                PageState.PENDING.value,
                due,
            ),
        )
        inserted += cursor.rowcount
    return inserted


def _planned_rounds(conn: sqlite3.Connection, ids: list[str]) -> dict[str, set[tuple[int, int]]]:
    found: dict[str, set[tuple[int, int]]] = {ticket: set() for ticket in ids}
    for ticket in ids:
        rows = conn.execute(
            "SELECT DISTINCT level, round FROM pages WHERE subject = ? AND kind IN (?, ?)",
            (ticket_subject(ticket), *_ESCALATING),
        )
        found[ticket].update((level, round_) for level, round_ in rows)
    return found


def _paged_targets(conn: sqlite3.Connection, subject: str) -> list[Target]:
    rows = conn.execute(
        "SELECT operator, url_index FROM pages WHERE subject = ? AND kind IN (?, ?)"
        " AND state != ? GROUP BY operator, url_index ORDER BY min(id)",
        (subject, *_ESCALATING, PageState.CANCELLED.value),
    )
    return [Target(operator, index) for operator, index in rows]


def _cancel(conn: sqlite3.Connection, subject: str, kinds: list[str], reason: str, now: int) -> int:
    marks = ", ".join("?" * len(kinds))
    cursor = conn.execute(
        f"UPDATE pages SET state = ?, last_error = ? WHERE subject = ? AND kind IN ({marks})"
        " AND state = ? AND (claimed_until IS NULL OR claimed_until <= ?)",
        (
            PageState.CANCELLED.value,
            reason,
            subject,
            *kinds,
            PageState.PENDING.value,
            now,
        ),
    )
    return cursor.rowcount


def _any_due(conn: sqlite3.Connection, now: int) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pages WHERE state = ?1 AND next_attempt_at <= ?2"
        " AND (claimed_until IS NULL OR claimed_until <= ?2))",
        (PageState.PENDING.value, now),
    ).fetchone()
    return bool(row[0])


def _claim(conn: sqlite3.Connection, now: int, limit: int, until: int, claimant: str) -> list[Page]:
    ids = [
        key
        for (key,) in conn.execute(
            "SELECT p.id FROM pages p WHERE p.state = ?1 AND p.next_attempt_at <= ?2"
            " AND (p.claimed_until IS NULL OR p.claimed_until <= ?2)"
            " AND NOT EXISTS (SELECT 1 FROM pages q WHERE q.subject = p.subject"
            " AND q.operator = p.operator AND q.url_index = p.url_index AND q.state = ?1"
            " AND q.id < p.id)"
            " ORDER BY p.next_attempt_at, p.id LIMIT ?3",
            (PageState.PENDING.value, now, limit),
        )
    ]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    conn.execute(
        f"UPDATE pages SET claimed_until = ?, claimant = ? WHERE id IN ({marks})",
        (until, claimant, *ids),
    )
    query = f"{_SELECT} WHERE pages.id IN ({marks}) ORDER BY pages.next_attempt_at, pages.id"
    return _pages(conn, query, tuple(ids))


def _release_claims(conn: sqlite3.Connection, keep: str) -> int:
    cursor = conn.execute(
        "UPDATE pages SET claimed_until = NULL, claimant = NULL"
        " WHERE state = ? AND claimant IS NOT NULL AND claimant != ?",
        (PageState.PENDING.value, keep),
    )
    return cursor.rowcount


def _record(
    conn: sqlite3.Connection, page_id: int, claimant: str, decision: DeliveryDecision, now: int
) -> Page | None:
    sent = decision.state is PageState.SENT
    cursor = conn.execute(
        "UPDATE pages SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?,"
        " sent_at = ?, claimed_until = NULL, claimant = NULL"
        " WHERE id = ? AND state = ? AND claimant = ?",
        (
            decision.state.value,
            decision.attempts,
            to_us(decision.next_attempt_at),
            decision.error,
            now if sent else None,
            page_id,
            PageState.PENDING.value,
            claimant,
        ),
    )
    if cursor.rowcount == 0:
        return None
    found = _pages(conn, f"{_SELECT} WHERE pages.id = ?", (page_id,))
    return found[0] if found else None


def _sent_before(conn: sqlite3.Connection, ticket: int, page_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pages WHERE ticket_id = ? AND state = ? AND id != ? LIMIT 1",
        (ticket, PageState.SENT.value, page_id),
    ).fetchone()
    return row is not None


def _prune(conn: sqlite3.Connection, before: int, limit: int) -> int:
    cursor = conn.execute(
        "DELETE FROM pages WHERE id IN (SELECT id FROM pages WHERE ticket_id IS NULL"
        " AND state != ? AND created_at < ? LIMIT ?)",
        (PageState.PENDING.value, before, limit),
    )
    return cursor.rowcount


def _pages(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[Page]:
    return [_page(row) for row in conn.execute(sql, params)]


def _page(row: sqlite3.Row) -> Page:
    ticket, onset, sent = row["ticket_id"], row["ticket_onset"], row["sent_at"]
    return Page(
        id=row["id"],
        row=PageRow(
            subject=row["subject"],
            kind=PageKind(row["kind"]),
            operator=row["operator"],
            url_index=row["url_index"],
            title=row["title"],
            body=row["body"],
            due_at=from_us(row["due_at"]),
            ticket_id=None if ticket is None else str(ticket),
            level=row["level"],
            round=row["round"],
            reason=row["reason"],
        ),
        state=PageState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=from_us(row["next_attempt_at"]),
        last_error=row["last_error"],
        sent_at=from_us_opt(sent),
        onset_at=from_us_opt(onset),
    )
