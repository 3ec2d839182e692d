"""The SQLite store: one file in WAL mode, every transaction on one worker thread.

A `sqlite3` connection belongs to the thread that opened it, and SQLite admits one
writer at a time anyway, so one dedicated thread owns the connection and runs each
public method's transaction in turn; the event loop only awaits it. If the awaiting
task is cancelled, a transaction still queued never starts and one already started
runs to its end: it may commit although the caller never sees the result, which is
safe because every write here is idempotent on replay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote

from sitewatch import tickets
from sitewatch.clock import Clock, SystemClock
from sitewatch.model import (
    Cause,
    Classification,
    MaintenanceKind,
    OutageRecord,
    ProbeResult,
    ResultKind,
    State,
    Ticket,
    TicketEvent,
    TicketState,
    Window,
    WindowChange,
)
from sitewatch.outages import CheckStatus, Outage, Transition, TransitionKind
from sitewatch.paging.pages import (
    DeliveryDecision,
    DeliveryRecord,
    EscalationCandidate,
    Page,
    PagePlanner,
    PageRow,
)
from sitewatch.storage import TransitionRecord, sqlite_pages
from sitewatch.storage.migrations import migrate
from sitewatch.tickets import TicketChange

log = logging.getLogger(__name__)

T = TypeVar("T")
Row = sqlite3.Row
Job = Callable[[sqlite3.Connection], T]


class Synchronous(StrEnum):
    """How hard SQLite works to make a commit durable (`PRAGMA synchronous`)."""

    NORMAL = "NORMAL"
    """Fsync only at WAL checkpoints: commits survive a crash of the process (SIGKILL);
    the last ones may be lost if the machine loses power."""
    FULL = "FULL"
    """Fsync the WAL at every commit: commits survive power loss too, at one fsync each."""


class SqliteStore:
    """The `Store` on one SQLite file. Open it with `open_sqlite_store`."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        *,
        synchronous: Synchronous = Synchronous.NORMAL,
        busy_timeout: timedelta = timedelta(seconds=5),
    ) -> None:
        self.path = path
        self._clock = clock
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sitewatch-sqlite")
        self._conn: sqlite3.Connection | None = None
        """Touched only on the worker thread."""
        self._closed = False

    async def close(self) -> None:
        """Finish queued transactions, close the connection and stop the worker."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._worker, self._disconnect)
        finally:
            # The worker is idle by now: this only joins its thread.
            self._worker.shutdown(wait=True)

    async def load_statuses(self) -> dict[str, CheckStatus]:
        """Return every check's last saved status."""
        return await self._transact(_load_statuses, write=False)

    async def save_progress(
        self, statuses: Mapping[str, CheckStatus], results: Sequence[ProbeResult]
    ) -> None:
        """Upsert the statuses and insert the results in one transaction."""
        # Rows are built before the first await, so the caller may go on changing its
        # mapping and list while the transaction runs.
        status_rows = [_status_row(check, status) for check, status in statuses.items()]
        result_rows = [_result_row(result) for result in results]
        await self._transact(lambda conn: _save_progress(conn, status_rows, result_rows))

    async def record_transition(
        self,
        check: str,
        customer: str,
        status: CheckStatus,
        transition: Transition,
        planner: PagePlanner | None = None,
    ) -> TransitionRecord:
        """Commit one transition with its status, outage row, ticket and pages."""
        [record] = await self.record_transitions(check, customer, status, (transition,), planner)
        return record

    async def record_transitions(
        self,
        check: str,
        customer: str,
        status: CheckStatus,
        transitions: Sequence[Transition],
        planner: PagePlanner | None = None,
    ) -> list[TransitionRecord]:
        """Commit every transition of one decision, in order, in one transaction."""
        now = self._clock.now()
        row = _status_row(check, status)

        def job(conn: sqlite3.Connection) -> list[TransitionRecord]:
            _upsert_statuses(conn, [row])
            records = []
            for transition in transitions:
                record = _apply_transition(conn, check, customer, transition, now)
                sqlite_pages.pages_for_transition(conn, transition, record, planner, now)
                records.append(record)
            return records

        return await self._transact(job)

    async def prune_results(self, older_than: datetime) -> int:
        """Delete results older than this, in chunks so other transactions interleave."""
        cutoff = _us(older_than)
        deleted = 0
        while True:
            count = await self._transact(lambda conn: _prune_chunk(conn, cutoff))
            deleted += count
            if count < _PRUNE_CHUNK:
                return deleted

    async def add_window(self, window: Window) -> Window:
        """Store a new window under a fresh id, with its `declared` audit line."""
        return await self._transact(lambda conn: _add_window(conn, window))

    async def get_window(self, window_id: str) -> Window | None:
        """Return one window, or None (for an id of any form)."""
        key = _parse_id(window_id)
        if key is None:
            return None
        return await self._transact(lambda conn: _load_window(conn, key), write=False)

    async def list_windows(
        self, customer: str | None = None, *, ending_after: datetime | None = None
    ) -> list[Window]:
        """Return windows (cancelled ones too), oldest start first."""
        end = None if ending_after is None else _us(ending_after)
        return await self._transact(lambda conn: _list_windows(conn, customer, end), write=False)

    async def change_window_end(
        self, window_id: str, end: datetime, by: str, at: datetime
    ) -> Window:
        """Move a window's end and audit it; LookupError if there is no such window."""
        return await self._transact(lambda conn: _change_window_end(conn, window_id, end, by, at))

    async def cancel_window(self, window_id: str, by: str, at: datetime) -> Window:
        """Cancel a window and audit it; LookupError if there is no such window."""
        return await self._transact(lambda conn: _cancel_window(conn, window_id, by, at))

    async def window_changes(self, window_id: str) -> list[WindowChange]:
        """Return a window's audit trail, oldest first (empty for an unknown id)."""
        key = _parse_id(window_id)
        if key is None:
            return []
        return await self._transact(lambda conn: _window_changes(conn, key), write=False)

    async def list_tickets(
        self, states: Sequence[TicketState] | None = None, *, limit: int = 100
    ) -> list[Ticket]:
        """Return tickets, newest first, without their events."""
        wanted = None if states is None else tuple(states)
        return await self._transact(lambda conn: _list_tickets(conn, wanted, limit), write=False)

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events, or None (for an id of any form)."""
        key = _parse_id(ticket_id)
        if key is None:
            return None
        return await self._transact(lambda conn: _load_ticket(conn, key), write=False)

    async def acknowledge_ticket(
        self, ticket_id: str, by: str, note: str, now: datetime
    ) -> TicketChange | None:
        """Apply `tickets.acknowledge` in one transaction; None if unknown."""
        return await self._change_ticket(
            ticket_id, lambda ticket: tickets.acknowledge(ticket, by, note, now)
        )

    async def resolve_ticket(
        self,
        ticket_id: str,
        cause: Cause,
        by: str,
        note: str,
        now: datetime,
        planner: PagePlanner | None = None,
    ) -> TicketChange | None:
        """Apply `tickets.resolve` (and add RESOLVED pages) in one transaction."""
        return await self._change_ticket(
            ticket_id,
            lambda ticket: tickets.resolve(ticket, cause, by, note, now),
            lambda conn, change: sqlite_pages.pages_for_resolution(conn, change, planner, now),
        )

    async def count_open_tickets(self) -> int:
        """Return how many tickets are not resolved."""
        return await self._transact(_count_open_tickets, write=False)

    async def list_outages(self, since: datetime, until: datetime) -> list[OutageRecord]:
        """Return outages overlapping since..until (planned ones too), by onset."""
        span = (_us(until), _us(since))
        return await self._transact(lambda conn: _list_outages(conn, *span), write=False)

    async def list_tickets_overlapping(self, since: datetime, until: datetime) -> list[Ticket]:
        """Return the tickets whose outage overlaps since..until, by onset, without events."""
        span = (_us(until), _us(since))
        return await self._transact(lambda conn: _tickets_overlapping(conn, *span), write=False)

    async def first_results(self) -> dict[str, datetime]:
        """Return each check's earliest probe result still held (one pass over the table)."""
        return await self._transact(_first_results, write=False)

    # --- the page outbox: SQL in sqlite_pages.py --------------------------------------

    async def add_pages(self, rows: Sequence[PageRow]) -> int:
        """Add pages not planned before; return how many were new."""
        now = self._clock.now()
        return await self._transact(lambda conn: sqlite_pages.insert_pages(conn, rows, now))

    async def escalation_candidates(self) -> list[EscalationCandidate]:
        """Return open, unacknowledged, unrecovered tickets with their planned rounds."""

        def job(conn: sqlite3.Connection) -> list[EscalationCandidate]:
            open_tickets = _list_tickets(conn, (TicketState.OPEN,), 10_000)
            return [
                EscalationCandidate(t, sqlite_pages.planned_rounds(conn, t.id))
                for t in open_tickets
                if t.recovered_at is None
            ]

        return await self._transact(job, write=False)

    async def add_escalation_pages(self, ticket_id: str, rows: Sequence[PageRow]) -> int:
        """Add escalation pages if the ticket still escalates; return how many were new."""
        now = self._clock.now()

        def job(conn: sqlite3.Connection) -> int:
            if not sqlite_pages.still_escalating(conn, ticket_id):
                return 0
            return sqlite_pages.insert_pages(conn, rows, now)

        return await self._transact(job)

    async def claim_pages(self, now: datetime, limit: int, lease: timedelta) -> list[Page]:
        """Cancel superseded pages; lease and return up to `limit` due pages."""
        return await self._transact(lambda conn: sqlite_pages.claim_pages(conn, now, limit, lease))

    async def release_page_claims(self) -> int:
        """Release every lease (at start-up)."""
        return await self._transact(sqlite_pages.release_claims)

    async def record_delivery(
        self, page_id: int, decision: DeliveryDecision, fallback: Sequence[PageRow]
    ) -> DeliveryRecord:
        """Store an attempt's outcome with its ticket event and fallback copies."""
        now = self._clock.now()
        return await self._transact(
            lambda conn: sqlite_pages.record_delivery(conn, page_id, decision, fallback, now)
        )

    async def list_pages(self, ticket_id: str | None = None) -> list[Page]:
        """Return the outbox rows (of one ticket, or all), oldest first."""
        if ticket_id is not None and _parse_id(ticket_id) is None:
            return []
        return await self._transact(
            lambda conn: sqlite_pages.list_pages(conn, ticket_id), write=False
        )

    async def meta_value(self, key: str, default: str) -> str:
        """Return a stored service value, storing `default` the first time."""
        return await self._transact(lambda conn: sqlite_pages.meta_value(conn, key, default))

    async def _change_ticket(
        self,
        ticket_id: str,
        rule: Callable[[Ticket], TicketChange],
        then: Callable[[sqlite3.Connection, TicketChange], None] | None = None,
    ) -> TicketChange | None:
        key = _parse_id(ticket_id)
        if key is None:
            return None

        def job(conn: sqlite3.Connection) -> TicketChange | None:
            ticket = _load_ticket(conn, key)
            if ticket is None:
                return None
            change = rule(ticket)
            _save_ticket_change(conn, ticket, change.ticket)
            if then is not None:
                then(conn, change)
            return change

        return await self._transact(job)

    async def _open(self) -> None:
        await self._on_worker(self._connect)

    async def _transact(self, job: Job[T], *, write: bool = True) -> T:
        return await self._on_worker(partial(self._run, job, write))

    async def _on_worker(self, call: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError(f"the store on {self.path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    def _run(self, job: Job[T], write: bool) -> T:
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"the store on {self.path} is not open")
        # BEGIN IMMEDIATE takes the write lock up front: a transaction that reads and
        # then writes can never fail half-way with SQLITE_BUSY.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = job(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        timeout = self._busy_timeout.total_seconds()
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self._synchronous.value}")
            migrate(conn, self.path)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                log.warning("%s: WAL is not available here; SQLite uses %s", self.path, mode)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


async def open_sqlite_store(
    path: Path,
    clock: Clock | None = None,
    *,
    synchronous: Synchronous = Synchronous.NORMAL,
    busy_timeout: timedelta = timedelta(seconds=5),
) -> SqliteStore:
    """Open (create, migrate) the database at `path`; its directory is created too."""
    store = SqliteStore(
        path, clock or SystemClock(), synchronous=synchronous, busy_timeout=busy_timeout
    )
    try:
        await store._open()
    except BaseException:
        await store.close()
        raise
    return store


async def open_sqlite_url(url: str, *, base: Path, clock: Clock) -> SqliteStore:
    """Open the store of a `sqlite:///relative` or `sqlite:////absolute` URL."""
    path, synchronous = parse_sqlite_url(url, base)
    return await open_sqlite_store(path, clock, synchronous=synchronous)


def parse_sqlite_url(url: str, base: Path) -> tuple[Path, Synchronous]:
    """Return the file and durability a URL names; ValueError says what is wrong.

    `sqlite:///var/sw.db` is relative to `base` (the config file's directory),
    `sqlite:////var/sw.db` is absolute; `?synchronous=full` asks for FULL.
    """
    prefix = "sqlite:///"
    location, _, query = url.removeprefix(prefix).partition("?")
    if not url.startswith(prefix) or not location.strip("/"):
        raise ValueError(
            f"database {url!r}: expected sqlite:///relative/path.db or sqlite:////abs/path.db"
        )
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"synchronous"})
    if unknown:
        raise ValueError(f"database {url!r}: unknown option {unknown[0]!r}; known: synchronous")
    level = options.get("synchronous", ["normal"])[-1].upper()
    if level not in Synchronous.__members__:
        raise ValueError(f"database {url!r}: synchronous must be normal or full, not {level!r}")
    return base / unquote(location), Synchronous[level]


# --- times, ids and rows -------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_PRUNE_CHUNK = 20_000


def _us(at: datetime) -> int:
    if at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone; sitewatch stores only aware times")
    return (at - _EPOCH) // _MICROSECOND


def _opt_us(at: datetime | None) -> int | None:
    return None if at is None else _us(at)


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _opt_at(us: int | None) -> datetime | None:
    return None if us is None else _at(us)


def _parse_id(text: str) -> int | None:
    """Return the row id a public id names; None for any other form ("007", "-1", "x")."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    key = int(text)
    return key if str(key) == text else None


_STATUS_COLUMNS = (
    "check_id, state, since, failures, successes, streak_onset, streak_symptom, streak_detail,"
    " outage_onset, outage_symptom, outage_classification, outage_detail, outage_window_id,"
    " last_result, last_result_at"
)
_UPDATE_STATUS = ", ".join(f"{c} = excluded.{c}" for c in _STATUS_COLUMNS.split(", ")[1:])
_UPSERT_STATUS = (
    f"INSERT INTO check_status ({_STATUS_COLUMNS}) VALUES ({', '.join('?' * 15)})"
    f" ON CONFLICT (check_id) DO UPDATE SET {_UPDATE_STATUS}"
)


def _status_row(check: str, status: CheckStatus) -> tuple[object, ...]:
    outage = status.outage
    embedded = (
        (None,) * 5
        if outage is None
        else (
            _us(outage.onset),
            outage.symptom.value,
            outage.classification.value,
            outage.detail,
            outage.window_id,
        )
    )
    return (
        check,
        status.state.value,
        _opt_us(status.since),
        status.failures,
        status.successes,
        _opt_us(status.streak_onset),
        None if status.streak_symptom is None else status.streak_symptom.value,
        status.streak_detail,
        *embedded,
        None if status.last_result is None else status.last_result.value,
        _opt_us(status.last_result_at),
    )


def _status_from_row(row: Row) -> CheckStatus:
    outage = None
    if row["outage_onset"] is not None:
        outage = Outage(
            onset=_at(row["outage_onset"]),
            symptom=ResultKind(row["outage_symptom"]),
            classification=Classification(row["outage_classification"]),
            detail=row["outage_detail"],
            window_id=row["outage_window_id"],
        )
    symptom, last = row["streak_symptom"], row["last_result"]
    return CheckStatus(
        state=State(row["state"]),
        since=_opt_at(row["since"]),
        failures=row["failures"],
        successes=row["successes"],
        streak_onset=_opt_at(row["streak_onset"]),
        streak_symptom=None if symptom is None else ResultKind(symptom),
        streak_detail=row["streak_detail"],
        outage=outage,
        last_result=None if last is None else ResultKind(last),
        last_result_at=_opt_at(row["last_result_at"]),
    )


def _result_row(result: ProbeResult) -> tuple[object, ...]:
    duration = result.duration // _MICROSECOND
    return (result.check_id, _us(result.started_at), result.kind.value, duration, result.detail)


_TICKET_COLUMNS = (
    "check_id, customer, state, classification, symptom, detail, onset_at, opened_at,"
    " acknowledged_at, acknowledged_by, recovered_at, resolved_at, resolved_by, cause,"
    " resolution_note"
)
_TICKET_VALUES = ", ".join(f":{column}" for column in _TICKET_COLUMNS.split(", "))


def _ticket_values(ticket: Ticket) -> dict[str, object]:
    return {
        "check_id": ticket.check,
        "customer": ticket.customer,
        "state": ticket.state.value,
        "classification": ticket.classification.value,
        "symptom": ticket.symptom.value,
        "detail": ticket.detail,
        "onset_at": _us(ticket.onset_at),
        "opened_at": _us(ticket.opened_at),
        "acknowledged_at": _opt_us(ticket.acknowledged_at),
        "acknowledged_by": ticket.acknowledged_by,
        "recovered_at": _opt_us(ticket.recovered_at),
        "resolved_at": _opt_us(ticket.resolved_at),
        "resolved_by": ticket.resolved_by,
        "cause": None if ticket.cause is None else ticket.cause.value,
        "resolution_note": ticket.resolution_note,
    }


def _ticket_from_row(row: Row, events: tuple[TicketEvent, ...] = ()) -> Ticket:
    cause = row["cause"]
    return Ticket(
        id=str(row["id"]),
        check=row["check_id"],
        customer=row["customer"],
        state=TicketState(row["state"]),
        classification=Classification(row["classification"]),
        symptom=ResultKind(row["symptom"]),
        detail=row["detail"],
        onset_at=_at(row["onset_at"]),
        opened_at=_at(row["opened_at"]),
        acknowledged_at=_opt_at(row["acknowledged_at"]),
        acknowledged_by=row["acknowledged_by"],
        recovered_at=_opt_at(row["recovered_at"]),
        resolved_at=_opt_at(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        cause=None if cause is None else Cause(cause),
        resolution_note=row["resolution_note"],
        events=events,
    )


def _window_values(window: Window) -> dict[str, object]:
    return {
        "customer": window.customer,
        "checks": json.dumps(list(window.checks)),
        "kind": window.kind.value,
        "start_at": _us(window.start),
        "end_at": _us(window.end),
        "declared_at": _us(window.declared_at),
        "declared_by": window.declared_by,
        "note": window.note,
        "cancelled_at": _opt_us(window.cancelled_at),
    }


def _window_from_row(row: Row) -> Window:
    return Window(
        id=str(row["id"]),
        customer=row["customer"],
        checks=tuple(json.loads(row["checks"])),
        kind=MaintenanceKind(row["kind"]),
        start=_at(row["start_at"]),
        end=_at(row["end_at"]),
        declared_at=_at(row["declared_at"]),
        declared_by=row["declared_by"],
        note=row["note"],
        cancelled_at=_opt_at(row["cancelled_at"]),
    )


def _outage_from_row(row: Row) -> OutageRecord:
    ticket_id = row["ticket_id"]
    return OutageRecord(
        check=row["check_id"],
        customer=row["customer"],
        onset_at=_at(row["onset_at"]),
        classification=Classification(row["classification"]),
        symptom=ResultKind(row["symptom"]),
        window_id=row["window_id"],
        overrun_at=_opt_at(row["overrun_at"]),
        recovered_at=_opt_at(row["recovered_at"]),
        ticket_id=None if ticket_id is None else str(ticket_id),
    )


# --- transactions (run on the worker thread, inside BEGIN ... COMMIT) ---------------


def _load_statuses(conn: sqlite3.Connection) -> dict[str, CheckStatus]:
    rows = conn.execute("SELECT * FROM check_status")
    return {row["check_id"]: _status_from_row(row) for row in rows}


def _upsert_statuses(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(_UPSERT_STATUS, rows)


def _save_progress(
    conn: sqlite3.Connection,
    status_rows: list[tuple[object, ...]],
    result_rows: list[tuple[object, ...]],
) -> None:
    _upsert_statuses(conn, status_rows)
    conn.executemany(
        "INSERT INTO probe_results (check_id, started_at, kind, duration_us, detail)"
        " VALUES (?, ?, ?, ?, ?)",
        result_rows,
    )


def _prune_chunk(conn: sqlite3.Connection, cutoff: int) -> int:
    cursor = conn.execute(
        "DELETE FROM probe_results WHERE id IN"
        " (SELECT id FROM probe_results WHERE started_at < ? LIMIT ?)",
        (cutoff, _PRUNE_CHUNK),
    )
    return cursor.rowcount


def _apply_transition(
    conn: sqlite3.Connection, check: str, customer: str, transition: Transition, now: datetime
) -> TransitionRecord:
    """Write one transition; every step is idempotent, so a replay changes nothing."""
    outage, at, onset = transition.outage, _us(transition.at), _us(transition.outage.onset)
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
            _save_ticket_change(conn, ticket, recovered.ticket)
            return TransitionRecord(recovered.ticket, opened=False)
    return TransitionRecord(None, opened=False)


def _open_ticket(
    conn: sqlite3.Connection, check: str, customer: str, transition: Transition, now: datetime
) -> TransitionRecord:
    draft = tickets.open_ticket("", check, customer, transition.outage, now, transition.reason)
    inserted = conn.execute(
        f"INSERT INTO tickets ({_TICKET_COLUMNS}) VALUES ({_TICKET_VALUES})"
        " ON CONFLICT (check_id, onset_at) DO NOTHING RETURNING id",
        _ticket_values(draft),
    ).fetchall()
    if not inserted:
        existing = _load_ticket_of_outage(conn, check, _us(draft.onset_at))
        return TransitionRecord(existing, opened=False)
    key = inserted[0][0]
    _insert_events(conn, key, draft.events)
    conn.execute(
        "UPDATE outages SET ticket_id = ? WHERE check_id = ? AND onset_at = ?",
        (key, check, _us(draft.onset_at)),
    )
    return TransitionRecord(replace(draft, id=str(key)), opened=True)


def _load_ticket(conn: sqlite3.Connection, key: int) -> Ticket | None:
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (key,)).fetchone()
    if row is None:
        return None
    events = conn.execute(
        "SELECT at, kind, actor, detail FROM ticket_events WHERE ticket_id = ? ORDER BY id",
        (key,),
    )
    timeline = tuple(
        TicketEvent(_at(at), kind, actor, detail) for at, kind, actor, detail in events
    )
    return _ticket_from_row(row, timeline)


def _load_ticket_of_outage(conn: sqlite3.Connection, check: str, onset: int) -> Ticket | None:
    row = conn.execute(
        "SELECT id FROM tickets WHERE check_id = ? AND onset_at = ?", (check, onset)
    ).fetchone()
    return None if row is None else _load_ticket(conn, row[0])


def _insert_events(conn: sqlite3.Connection, key: int, events: Sequence[TicketEvent]) -> None:
    conn.executemany(
        "INSERT INTO ticket_events (ticket_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
        [(key, _us(e.at), e.kind, e.by, e.detail) for e in events],
    )


def _save_ticket_change(conn: sqlite3.Connection, before: Ticket, after: Ticket) -> None:
    """Write what a ticket rule changed: the mutable fields and the new events."""
    if after == before:
        return
    conn.execute(
        "UPDATE tickets SET state = :state, acknowledged_at = :acknowledged_at,"
        " acknowledged_by = :acknowledged_by, recovered_at = :recovered_at,"
        " resolved_at = :resolved_at, resolved_by = :resolved_by, cause = :cause,"
        " resolution_note = :resolution_note WHERE id = :id",
        {**_ticket_values(after), "id": int(after.id)},
    )
    _insert_events(conn, int(after.id), after.events[len(before.events) :])


def _list_tickets(
    conn: sqlite3.Connection, states: tuple[TicketState, ...] | None, limit: int
) -> list[Ticket]:
    where, params = "", [state.value for state in states or ()]
    if states is not None:
        where = f" WHERE state IN ({', '.join('?' * len(states))})"
    rows = conn.execute(
        f"SELECT * FROM tickets{where} ORDER BY opened_at DESC, id DESC LIMIT ?",
        (*params, max(0, limit)),
    )
    return [_ticket_from_row(row) for row in rows]


def _count_open_tickets(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM tickets WHERE state != ?", (TicketState.RESOLVED.value,)
    ).fetchone()
    count: int = row[0]
    return count


def _list_outages(conn: sqlite3.Connection, until: int, since: int) -> list[OutageRecord]:
    rows = conn.execute(
        "SELECT * FROM outages WHERE onset_at < ? AND (recovered_at IS NULL OR recovered_at > ?)"
        " ORDER BY onset_at, id",
        (until, since),
    )
    return [_outage_from_row(row) for row in rows]


def _tickets_overlapping(conn: sqlite3.Connection, until: int, since: int) -> list[Ticket]:
    rows = conn.execute(
        "SELECT * FROM tickets WHERE onset_at < ? AND (recovered_at IS NULL OR recovered_at > ?)"
        " ORDER BY onset_at, id",
        (until, since),
    )
    return [_ticket_from_row(row) for row in rows]


def _first_results(conn: sqlite3.Connection) -> dict[str, datetime]:
    rows = conn.execute("SELECT check_id, min(started_at) FROM probe_results GROUP BY check_id")
    return {check: _at(first) for check, first in rows}


def _add_window(conn: sqlite3.Connection, window: Window) -> Window:
    [(key,)] = conn.execute(
        "INSERT INTO windows (customer, checks, kind, start_at, end_at, declared_at,"
        " declared_by, note, cancelled_at) VALUES (:customer, :checks, :kind, :start_at,"
        " :end_at, :declared_at, :declared_by, :note, :cancelled_at) RETURNING id",
        _window_values(window),
    ).fetchall()
    stored = replace(window, id=str(key))
    scope = ", ".join(window.checks) or "all checks"
    detail = f"{window.kind.value} {_iso(window.start)} .. {_iso(window.end)} ({scope})"
    _audit(
        conn, WindowChange(stored.id, window.declared_at, window.declared_by, "declared", detail)
    )
    return stored


def _load_window(conn: sqlite3.Connection, key: int) -> Window | None:
    row = conn.execute("SELECT * FROM windows WHERE id = ?", (key,)).fetchone()
    return None if row is None else _window_from_row(row)


def _existing_window(conn: sqlite3.Connection, window_id: str) -> Window:
    key = _parse_id(window_id)
    window = None if key is None else _load_window(conn, key)
    if window is None:
        raise LookupError(f"there is no maintenance window {window_id!r}")
    return window


def _list_windows(
    conn: sqlite3.Connection, customer: str | None, ending_after: int | None
) -> list[Window]:
    rows = conn.execute(
        "SELECT * FROM windows WHERE (?1 IS NULL OR customer = ?1) AND (?2 IS NULL OR end_at > ?2)"
        " ORDER BY start_at, id",
        (customer, ending_after),
    )
    return [_window_from_row(row) for row in rows]


def _change_window_end(
    conn: sqlite3.Connection, window_id: str, end: datetime, by: str, at: datetime
) -> Window:
    window = _existing_window(conn, window_id)
    conn.execute("UPDATE windows SET end_at = ? WHERE id = ?", (_us(end), int(window.id)))
    detail = f"end {_iso(window.end)} -> {_iso(end)}"
    _audit(conn, WindowChange(window.id, at, by, "changed", detail))
    return replace(window, end=end)


def _cancel_window(conn: sqlite3.Connection, window_id: str, by: str, at: datetime) -> Window:
    window = _existing_window(conn, window_id)
    if window.cancelled_at is not None:
        return window
    conn.execute("UPDATE windows SET cancelled_at = ? WHERE id = ?", (_us(at), int(window.id)))
    _audit(conn, WindowChange(window.id, at, by, "cancelled"))
    return replace(window, cancelled_at=at)


def _audit(conn: sqlite3.Connection, change: WindowChange) -> None:
    conn.execute(
        "INSERT INTO window_changes (window_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
        (int(change.window_id), _us(change.at), change.by, change.action, change.detail),
    )


def _window_changes(conn: sqlite3.Connection, key: int) -> list[WindowChange]:
    rows = conn.execute(
        "SELECT at, actor, action, detail FROM window_changes WHERE window_id = ? ORDER BY at, id",
        (key,),
    )
    return [
        WindowChange(str(key), _at(at), actor, action, detail) for at, actor, action, detail in rows
    ]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
