"""Outage transitions, outages and tickets in SQLite: functions over one connection.

`SqliteStore` calls these inside its transactions (on its worker thread). They
decide nothing: what a transition does to tickets, and what acknowledge, resolve
and recovery change, are the pure rules of `sitewatch.tickets`, applied here to the
ticket read in the same transaction. `outages` and `tickets` are both unique on
`(check_id, onset_at)` and inserted with `ON CONFLICT DO NOTHING`, so replaying a
transition changes nothing and an outage never gets a second ticket.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sitewatch.model import (
    Classification,
    OutageRecord,
    Ticket,
    TicketChange,
    TicketEvent,
    TicketState,
    Transition,
    TransitionKind,
)
from sitewatch.tickets import rules as tickets
from sitewatch.storage import TransitionRecord
from sitewatch.storage.sqlite_codec import (
    TICKET_COLUMNS,
    TICKET_VALUES,
    from_us,
    outage_from_row,
    ticket_from_row,
    ticket_values,
    to_us,
)


def apply_transition(
    conn: sqlite3.Connection, check: str, customer: str, transition: Transition, now: datetime
) -> TransitionRecord:
    """Write one transition; every step is idempotent, so a replay changes nothing."""
    outage, at, onset = transition.outage, to_us(transition.at), to_us(transition.outage.onset)
    key = (check, onset)
    # Inserted whatever the kind, so a transition whose predecessor never reached
    # the database (a bug elsewhere) still leaves an outage row behind.
    conn.execute(
        "INSERT INTO outages (check_id, customer, onset_at, classification, symptom, detail,"
        " window_id) VALUES (:check, :customer, :onset, :classification, :symptom, :detail,"
        " :window) ON CONFLICT (check_id, onset_at) DO NOTHING",
        {
            "check": check,
            "customer": customer,
            "onset": onset,
            "classification": outage.classification.value,
            "symptom": outage.symptom.value,
            "detail": outage.detail,
            "window": outage.window_id,
        },
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
    effect = tickets.on_transition(transition).effect
    if effect is tickets.TicketEffect.OPEN:
        return _open_ticket(conn, check, customer, transition, now)
    if effect is tickets.TicketEffect.RECORD_RECOVERY:
        ticket = _load_ticket_of_outage(conn, *key)
        if ticket is not None:
            recovered = tickets.record_recovery(ticket, transition.at, transition.reason)
            save_ticket_change(conn, ticket, recovered.ticket)
            return TransitionRecord(recovered.ticket, opened=False)
    return TransitionRecord(None, opened=False)


def load_ticket(conn: sqlite3.Connection, key: int) -> Ticket | None:
    """Return one ticket with its events, or None."""
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


def change_ticket(
    conn: sqlite3.Connection, key: int, rule: Callable[[Ticket], TicketChange]
) -> TicketChange | None:
    """Apply a pure ticket rule to a stored ticket and write its change; None if unknown."""
    ticket = load_ticket(conn, key)
    if ticket is None:
        return None
    change = rule(ticket)
    save_ticket_change(conn, ticket, change.ticket)
    return change


def save_ticket_change(conn: sqlite3.Connection, before: Ticket, after: Ticket) -> None:
    """Write what a ticket rule changed: the mutable fields and the new events."""
    if after == before:
        return
    conn.execute(
        "UPDATE tickets SET state = :state, acknowledged_at = :acknowledged_at,"
        " acknowledged_by = :acknowledged_by, recovered_at = :recovered_at,"
        " resolved_at = :resolved_at, resolved_by = :resolved_by, cause = :cause,"
        " resolution_note = :resolution_note WHERE id = :id",
        {**ticket_values(after), "id": int(after.id)},
    )
    insert_events(conn, int(after.id), after.events[len(before.events) :])


def insert_events(conn: sqlite3.Connection, key: int, events: Sequence[TicketEvent]) -> None:
    """Append lines to a ticket's timeline."""
    conn.executemany(
        "INSERT INTO ticket_events (ticket_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
        [(key, to_us(e.at), e.kind, e.by, e.detail) for e in events],
    )


def list_tickets(
    conn: sqlite3.Connection, states: tuple[TicketState, ...] | None, limit: int
) -> list[Ticket]:
    """Return tickets (in these states, or all), newest first, without their events."""
    where, params = "", [state.value for state in states or ()]
    if states is not None:
        where = f" WHERE state IN ({', '.join('?' * len(states))})"
    rows = conn.execute(
        f"SELECT * FROM tickets{where} ORDER BY opened_at DESC, id DESC LIMIT ?",
        (*params, max(0, limit)),
    )
    return [ticket_from_row(row) for row in rows]


def count_open_tickets(conn: sqlite3.Connection) -> int:
    """Return how many tickets are not resolved."""
    row = conn.execute(
        "SELECT count(*) FROM tickets WHERE state != ?", (TicketState.RESOLVED.value,)
    ).fetchone()
    count: int = row[0]
    return count


def list_outages(conn: sqlite3.Connection, until: int, since: int) -> list[OutageRecord]:
    """Return outages begun before `until` and not recovered by `since` (µs), by onset."""
    rows = conn.execute(
        "SELECT * FROM outages WHERE onset_at < ? AND (recovered_at IS NULL OR recovered_at > ?)"
        " ORDER BY onset_at, id",
        (until, since),
    )
    return [outage_from_row(row) for row in rows]


def tickets_overlapping(conn: sqlite3.Connection, until: int, since: int) -> list[Ticket]:
    """Return the tickets of outages overlapping since..until (µs), by onset, no events."""
    rows = conn.execute(
        "SELECT * FROM tickets WHERE onset_at < ? AND (recovered_at IS NULL OR recovered_at > ?)"
        " ORDER BY onset_at, id",
        (until, since),
    )
    return [ticket_from_row(row) for row in rows]


def _open_ticket(
    conn: sqlite3.Connection, check: str, customer: str, transition: Transition, now: datetime
) -> TransitionRecord:
    draft = tickets.open_ticket("", check, customer, transition.outage, now, transition.reason)
    inserted = conn.execute(
        f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({TICKET_VALUES})"
        " ON CONFLICT (check_id, onset_at) DO NOTHING RETURNING id",
        ticket_values(draft),
    ).fetchall()
    if not inserted:
        existing = _load_ticket_of_outage(conn, check, to_us(draft.onset_at))
        return TransitionRecord(existing, opened=False)
    key = inserted[0][0]
    insert_events(conn, key, draft.events)
    conn.execute(
        "UPDATE outages SET ticket_id = ? WHERE check_id = ? AND onset_at = ?",
        (key, check, to_us(draft.onset_at)),
    )
    return TransitionRecord(replace(draft, id=str(key)), opened=True)


def _load_ticket_of_outage(conn: sqlite3.Connection, check: str, onset: int) -> Ticket | None:
    row = conn.execute(
        "SELECT id FROM tickets WHERE check_id = ? AND onset_at = ?", (check, onset)
    ).fetchone()
    return None if row is None else load_ticket(conn, row[0])
