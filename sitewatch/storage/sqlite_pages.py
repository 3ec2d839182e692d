"""The page outbox and the `meta` table in SQLite: functions over one connection.

`SqliteStore` calls these inside its transactions (on its worker thread), so a
ticket change and the pages it causes commit together. Rows are unique on
`(subject, kind, level, round, operator, url_index)` and inserted with `ON CONFLICT
DO NOTHING`: replaying a change never plans a page twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from sitewatch.model import (
    DeliveryDecision,
    DeliveryRecord,
    EscalationCandidate,
    Outcome,
    Page,
    PageKind,
    PagePlanner,
    PageRow,
    PageState,
    Target,
    TicketChange,
    TicketEvent,
    TicketState,
    Transition,
    TransitionKind,
    ticket_subject,
)
from sitewatch.storage import TransitionRecord
from sitewatch.storage.sqlite_codec import from_us, from_us_opt, ticket_from_row, to_us
from sitewatch.storage.sqlite_tickets import insert_events

_ESCALATING = (PageKind.SITE_DOWN.value, PageKind.STILL_DOWN.value)

_INSERT = (
    "INSERT INTO pages (subject, ticket_id, kind, level, round, operator, url_index, title,"
    " body, created_at, due_at, state, attempts, next_attempt_at, last_error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '')"
    " ON CONFLICT (subject, kind, level, round, operator, url_index) DO NOTHING"
)
_SELECT = (
    "SELECT pages.*, tickets.onset_at AS ticket_onset"
    " FROM pages LEFT JOIN tickets ON tickets.id = pages.ticket_id"
)


def pages_for_transition(
    conn: sqlite3.Connection,
    transition: Transition,
    record: TransitionRecord,
    planner: PagePlanner | None,
    now: datetime,
) -> None:
    """Add the pages a recorded transition causes, in its transaction.

    SITE DOWN when it opened the ticket; RECOVERED to everyone paged when it ended,
    unless the ticket is resolved (a resolved outage pages no more).
    """
    ticket = record.ticket
    if planner is None or ticket is None:
        return
    if record.opened:
        insert_pages(conn, planner.opening(ticket, now), now)
    elif transition.kind is TransitionKind.ENDED and ticket.state is not TicketState.RESOLVED:
        _cancel_repeats(conn, ticket.id, now)
        paged = paged_targets(conn, ticket.id)
        insert_pages(conn, planner.notice(PageKind.RECOVERED, ticket, paged, now), now)


def pages_for_resolution(
    conn: sqlite3.Connection, change: TicketChange, planner: PagePlanner | None, now: datetime
) -> None:
    """Add RESOLVED to everyone paged for a ticket an operator just resolved."""
    if planner is None or change.outcome is not Outcome.CHANGED:
        return
    paged = paged_targets(conn, change.ticket.id)
    insert_pages(conn, planner.notice(PageKind.RESOLVED, change.ticket, paged, now), now)


def insert_pages(conn: sqlite3.Connection, rows: Sequence[PageRow], now: datetime) -> int:
    """Insert rows not planned before; return how many were new."""
    inserted = 0
    for row in rows:
        due = to_us(row.due_at)
        cursor = conn.execute(
            _INSERT,
            (
                row.subject,
                None if row.ticket_id is None else int(row.ticket_id),
                row.kind.value,
                row.level,
                row.round,
                row.operator,
                row.url_index,
                row.title,
                row.body,
                to_us(now),
                due,
                PageState.PENDING.value,
                due,
            ),
        )
        inserted += cursor.rowcount
    return inserted


def _cancel_repeats(conn: sqlite3.Connection, ticket_id: str, now: datetime) -> None:
    """Cancel a recovered ticket's STILL DOWN pages that are not on their way yet.

    Recovery stops escalation. The first SITE DOWN still goes out (its RECOVERED
    follows it: a confirmed outage is never swallowed), and someone whose only page
    was a cancelled repeat gets no RECOVERED about an outage they never heard of.
    """
    conn.execute(
        "UPDATE pages SET state = ?, last_error = 'not sent: the site recovered first'"
        " WHERE subject = ? AND kind = ? AND state = ?"
        " AND (claimed_until IS NULL OR claimed_until <= ?)",
        (
            PageState.CANCELLED.value,
            ticket_subject(ticket_id),
            PageKind.STILL_DOWN.value,
            PageState.PENDING.value,
            to_us(now),
        ),
    )


def paged_targets(conn: sqlite3.Connection, ticket_id: str) -> list[Target]:
    """Return every target paged for a ticket (SITE DOWN or STILL DOWN, not cancelled)."""
    rows = conn.execute(
        "SELECT operator, url_index FROM pages WHERE subject = ? AND kind IN (?, ?)"
        " AND state != ? GROUP BY operator, url_index ORDER BY min(id)",
        (ticket_subject(ticket_id), *_ESCALATING, PageState.CANCELLED.value),
    )
    return [Target(operator, index) for operator, index in rows]


def escalation_candidates(conn: sqlite3.Connection) -> list[EscalationCandidate]:
    """Return open, unacknowledged, unrecovered tickets with their planned rounds."""
    # No limit: a cap here would silently stop paging for the oldest outages.
    rows = conn.execute(
        "SELECT * FROM tickets WHERE state = ? AND recovered_at IS NULL ORDER BY opened_at, id",
        (TicketState.OPEN.value,),
    )
    return [
        EscalationCandidate(ticket, _planned_rounds(conn, ticket.id))
        for ticket in map(ticket_from_row, rows.fetchall())
    ]


def add_escalation_pages(
    conn: sqlite3.Connection, ticket_id: str, rows: Sequence[PageRow], now: datetime
) -> int:
    """Insert escalation rows if the ticket still escalates; return how many were new."""
    if not _still_escalating(conn, ticket_id):
        return 0
    return insert_pages(conn, rows, now)


def _planned_rounds(conn: sqlite3.Connection, ticket_id: str) -> frozenset[tuple[int, int]]:
    """Return the `(level, round)` pairs already in the outbox for a ticket."""
    rows = conn.execute(
        "SELECT DISTINCT level, round FROM pages WHERE subject = ? AND kind IN (?, ?)",
        (ticket_subject(ticket_id), *_ESCALATING),
    )
    return frozenset((level, round_) for level, round_ in rows)


def _still_escalating(conn: sqlite3.Connection, ticket_id: str) -> bool:
    """Tell whether a ticket is open, unacknowledged and its site not recovered."""
    row = conn.execute(
        "SELECT 1 FROM tickets WHERE id = ? AND state = ? AND recovered_at IS NULL",
        (int(ticket_id), TicketState.OPEN.value),
    ).fetchone()
    return row is not None


def claim_pages(
    conn: sqlite3.Connection, now: datetime, limit: int, lease: timedelta
) -> list[Page]:
    """Cancel superseded pages, then lease and return up to `limit` due ones, oldest first.

    A row waits while an earlier row to the same target about the same subject is
    pending, so one person's pages about one ticket arrive in order.
    """
    at = to_us(now)
    conn.execute(
        "UPDATE pages SET state = ?, last_error = 'not sent: the ticket was acknowledged or"
        " resolved first' WHERE state = ? AND kind IN (?, ?)"
        " AND (claimed_until IS NULL OR claimed_until <= ?)"
        " AND EXISTS (SELECT 1 FROM tickets WHERE tickets.id = pages.ticket_id"
        " AND tickets.state != ?)",
        (
            PageState.CANCELLED.value,
            PageState.PENDING.value,
            *_ESCALATING,
            at,
            TicketState.OPEN.value,
        ),
    )
    ids = [
        key
        for (key,) in conn.execute(
            "SELECT p.id FROM pages p WHERE p.state = ?1 AND p.next_attempt_at <= ?2"
            " AND (p.claimed_until IS NULL OR p.claimed_until <= ?2)"
            " AND NOT EXISTS (SELECT 1 FROM pages q WHERE q.subject = p.subject"
            " AND q.operator = p.operator AND q.url_index = p.url_index AND q.state = ?1"
            " AND q.id < p.id)"
            " ORDER BY p.next_attempt_at, p.id LIMIT ?3",
            (PageState.PENDING.value, at, max(0, limit)),
        )
    ]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    conn.execute(
        f"UPDATE pages SET claimed_until = ? WHERE id IN ({marks})", (to_us(now + lease), *ids)
    )
    rows = conn.execute(f"{_SELECT} WHERE pages.id IN ({marks}) ORDER BY pages.id", ids)
    return [_page(row) for row in rows]


def release_claims(conn: sqlite3.Connection) -> int:
    """Release every lease (at start-up: nobody else sends from this database)."""
    cursor = conn.execute(
        "UPDATE pages SET claimed_until = NULL WHERE state = ? AND claimed_until IS NOT NULL",
        (PageState.PENDING.value,),
    )
    return cursor.rowcount


def record_delivery(
    conn: sqlite3.Connection,
    page_id: int,
    decision: DeliveryDecision,
    fallback: Sequence[PageRow],
    now: datetime,
) -> DeliveryRecord:
    """Store an attempt's outcome, its ticket event and the fallback copies; once only."""
    row = conn.execute(f"{_SELECT} WHERE pages.id = ?", (page_id,)).fetchone()
    if row is None or row["state"] != PageState.PENDING.value:
        return DeliveryRecord(recorded=False)
    page = _page(row)
    sent = decision.state is PageState.SENT
    conn.execute(
        "UPDATE pages SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?,"
        " sent_at = ?, claimed_until = NULL WHERE id = ?",
        (
            decision.state.value,
            decision.attempts,
            to_us(decision.next_attempt_at),
            decision.error,
            to_us(now) if sent else None,
            page_id,
        ),
    )
    first = False
    ticket = page.row.ticket_id
    if ticket is not None and sent:
        first = page.row.kind.escalates and _first_sent(conn, ticket, page_id)
        _ticket_event(
            conn, ticket, now, "paged", f"{page.row.title} to {page.row.target.describe()}"
        )
    elif ticket is not None and decision.gives_up:
        detail = (
            f"{page.row.title} to {page.row.target.describe()}: {decision.reason}: {decision.error}"
        )
        _ticket_event(conn, ticket, now, "page undeliverable", detail)
    insert_pages(conn, fallback, now)
    return DeliveryRecord(recorded=True, first_page_of_ticket=first)


def list_pages(conn: sqlite3.Connection, ticket_id: str | None) -> list[Page]:
    """Return the outbox rows (of one ticket, or all), oldest first."""
    if ticket_id is None:
        rows = conn.execute(f"{_SELECT} ORDER BY pages.id")
    else:
        rows = conn.execute(
            f"{_SELECT} WHERE pages.ticket_id = ? ORDER BY pages.id", (int(ticket_id),)
        )
    return [_page(row) for row in rows]


def meta_value(conn: sqlite3.Connection, key: str, default: str) -> str:
    """Return the stored value of `key`, storing `default` first if there is none."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, default)
    )
    value: str = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
    return value


def _first_sent(conn: sqlite3.Connection, ticket_id: str, page_id: int) -> bool:
    earlier = conn.execute(
        "SELECT 1 FROM pages WHERE ticket_id = ? AND state = ? AND id != ? LIMIT 1",
        (int(ticket_id), PageState.SENT.value, page_id),
    ).fetchone()
    return earlier is None


def _ticket_event(
    conn: sqlite3.Connection, ticket_id: str, at: datetime, kind: str, detail: str
) -> None:
    insert_events(conn, int(ticket_id), [TicketEvent(at, kind, "sitewatch", detail)])


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
        ),
        state=PageState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=from_us(row["next_attempt_at"]),
        last_error=row["last_error"],
        sent_at=from_us_opt(sent),
        onset_at=from_us_opt(onset),
    )
