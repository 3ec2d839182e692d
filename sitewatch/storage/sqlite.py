"""The SQLite store: one file in WAL mode, every transaction on one worker thread.

Each public method is one transaction, run by `SqliteWorker` on the one thread that
owns the connection (see `sqlite_worker` for what a cancelled caller means). The
methods here only compose the SQL, which lives beside this module as functions over
one connection: `sqlite_progress` (statuses, probe results), `sqlite_tickets`
(transitions, outages, tickets), `sqlite_windows` and `sqlite_pages` (the outbox);
`sqlite_codec` converts rows, times and ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from sqlite3 import Connection
from typing import Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qs, unquote

from sitewatch.clock import Clock, SystemClock
from sitewatch.model import (
    Cause,
    CheckStatus,
    DeliveryDecision,
    DeliveryRecord,
    EscalationCandidate,
    OutageRecord,
    Page,
    PagePlanner,
    PageRow,
    ProbeResult,
    Ticket,
    TicketChange,
    TicketState,
    Transition,
    Window,
    WindowChange,
)
from sitewatch.tickets import rules as tickets
from sitewatch.storage import (
    TransitionRecord,
    sqlite_pages,
    sqlite_progress,
    sqlite_tickets,
    sqlite_windows,
)
from sitewatch.storage.sqlite_codec import parse_id, result_row, status_row, to_us
from sitewatch.storage.sqlite_worker import SqliteWorker, Synchronous

__all__ = [
    "SqliteStore",
    "Synchronous",
    "open_sqlite_store",
    "open_sqlite_url",
    "parse_sqlite_url",
]

P = ParamSpec("P")
T = TypeVar("T")
Query = Callable[Concatenate[Connection, P], T]
"""A function of `sqlite_*` run in a transaction: the connection, then its arguments."""


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
        self._worker = SqliteWorker(path, synchronous=synchronous, busy_timeout=busy_timeout)

    async def close(self) -> None:
        """Finish queued transactions, close the connection and stop the worker."""
        await self._worker.close()

    async def load_statuses(self) -> dict[str, CheckStatus]:
        """Return every check's last saved status."""
        return await self._read(sqlite_progress.load_statuses)

    async def save_progress(
        self, statuses: Mapping[str, CheckStatus], results: Sequence[ProbeResult]
    ) -> None:
        """Upsert the statuses and insert the results in one transaction."""
        # Rows are built before the first await, so the caller may go on changing its
        # mapping and list while the transaction runs.
        status_rows = [status_row(check, status) for check, status in statuses.items()]
        result_rows = [result_row(result) for result in results]
        await self._write(sqlite_progress.save_progress, status_rows, result_rows)

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
        row = status_row(check, status)

        def job(conn: Connection) -> list[TransitionRecord]:
            sqlite_progress.upsert_statuses(conn, [row])
            records = []
            for transition in transitions:
                record = sqlite_tickets.apply_transition(conn, check, customer, transition, now)
                sqlite_pages.pages_for_transition(conn, transition, record, planner, now)
                records.append(record)
            return records

        return await self._write(job)

    async def prune_results(self, older_than: datetime) -> int:
        """Delete results older than this, in chunks so other transactions interleave."""
        cutoff = to_us(older_than)
        deleted = 0
        while True:
            count = await self._write(sqlite_progress.prune_chunk, cutoff)
            deleted += count
            if count < sqlite_progress.PRUNE_CHUNK:
                return deleted

    async def first_results(self) -> dict[str, datetime]:
        """Return each check's earliest probe result still held (one pass over the table)."""
        return await self._read(sqlite_progress.first_results)

    # --- maintenance windows: SQL in sqlite_windows.py --------------------------------

    async def add_window(self, window: Window) -> Window:
        """Store a new window under a fresh id, with its `declared` audit line."""
        return await self._write(sqlite_windows.add_window, window)

    async def get_window(self, window_id: str) -> Window | None:
        """Return one window, or None (for an id of any form)."""
        key = parse_id(window_id)
        return None if key is None else await self._read(sqlite_windows.load_window, key)

    async def list_windows(
        self, customer: str | None = None, *, ending_after: datetime | None = None
    ) -> list[Window]:
        """Return windows (cancelled ones too), oldest start first."""
        end = None if ending_after is None else to_us(ending_after)
        return await self._read(sqlite_windows.list_windows, customer, end)

    async def change_window_end(
        self, window_id: str, end: datetime, by: str, at: datetime
    ) -> Window:
        """Move a window's end and audit it; LookupError if there is no such window."""
        return await self._write(sqlite_windows.change_window_end, window_id, end, by, at)

    async def cancel_window(self, window_id: str, by: str, at: datetime) -> Window:
        """Cancel a window and audit it; LookupError if there is no such window."""
        return await self._write(sqlite_windows.cancel_window, window_id, by, at)

    async def window_changes(self, window_id: str) -> list[WindowChange]:
        """Return a window's audit trail, oldest first (empty for an unknown id)."""
        key = parse_id(window_id)
        return [] if key is None else await self._read(sqlite_windows.window_changes, key)

    # --- tickets and outages: SQL in sqlite_tickets.py ----------------------------------

    async def list_tickets(
        self, states: Sequence[TicketState] | None = None, *, limit: int = 100
    ) -> list[Ticket]:
        """Return tickets, newest first, without their events."""
        wanted = None if states is None else tuple(states)
        return await self._read(sqlite_tickets.list_tickets, wanted, limit)

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events, or None (for an id of any form)."""
        key = parse_id(ticket_id)
        return None if key is None else await self._read(sqlite_tickets.load_ticket, key)

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
        return await self._read(sqlite_tickets.count_open_tickets)

    async def list_outages(self, since: datetime, until: datetime) -> list[OutageRecord]:
        """Return outages overlapping since..until (planned ones too), by onset."""
        return await self._read(sqlite_tickets.list_outages, to_us(until), to_us(since))

    async def list_tickets_overlapping(self, since: datetime, until: datetime) -> list[Ticket]:
        """Return the tickets whose outage overlaps since..until, by onset, without events."""
        return await self._read(sqlite_tickets.tickets_overlapping, to_us(until), to_us(since))

    # --- the page outbox: SQL in sqlite_pages.py --------------------------------------

    async def add_pages(self, rows: Sequence[PageRow]) -> int:
        """Add pages not planned before; return how many were new."""
        return await self._write(sqlite_pages.insert_pages, rows, self._clock.now())

    async def escalation_candidates(self) -> list[EscalationCandidate]:
        """Return open, unacknowledged, unrecovered tickets with their planned rounds."""
        return await self._read(sqlite_pages.escalation_candidates)

    async def add_escalation_pages(self, ticket_id: str, rows: Sequence[PageRow]) -> int:
        """Add escalation pages if the ticket still escalates; return how many were new."""
        now = self._clock.now()
        return await self._write(sqlite_pages.add_escalation_pages, ticket_id, rows, now)

    async def claim_pages(self, now: datetime, limit: int, lease: timedelta) -> list[Page]:
        """Cancel superseded pages; lease and return up to `limit` due pages."""
        return await self._write(sqlite_pages.claim_pages, now, limit, lease)

    async def release_page_claims(self) -> int:
        """Release every lease (at start-up)."""
        return await self._write(sqlite_pages.release_claims)

    async def record_delivery(
        self, page_id: int, decision: DeliveryDecision, fallback: Sequence[PageRow]
    ) -> DeliveryRecord:
        """Store an attempt's outcome with its ticket event and fallback copies."""
        now = self._clock.now()
        return await self._write(sqlite_pages.record_delivery, page_id, decision, fallback, now)

    async def list_pages(self, ticket_id: str | None = None) -> list[Page]:
        """Return the outbox rows (of one ticket, or all), oldest first."""
        if ticket_id is not None and parse_id(ticket_id) is None:
            return []
        return await self._read(sqlite_pages.list_pages, ticket_id)

    async def meta_value(self, key: str, default: str) -> str:
        """Return a stored service value, storing `default` the first time."""
        return await self._write(sqlite_pages.meta_value, key, default)

    # --- plumbing ---------------------------------------------------------------------

    async def _change_ticket(
        self,
        ticket_id: str,
        rule: Callable[[Ticket], TicketChange],
        then: Callable[[Connection, TicketChange], None] | None = None,
    ) -> TicketChange | None:
        key = parse_id(ticket_id)
        if key is None:
            return None

        def job(conn: Connection) -> TicketChange | None:
            change = sqlite_tickets.change_ticket(conn, key, rule)
            if change is not None and then is not None:
                then(conn, change)
            return change

        return await self._write(job)

    async def _open(self) -> None:
        await self._worker.open()

    async def _read(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `query(conn, *args)` in a read transaction (plain BEGIN)."""
        return await self._worker.transact(lambda conn: query(conn, *args, **kwargs), write=False)

    async def _write(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `query(conn, *args)` in a write transaction (BEGIN IMMEDIATE)."""
        return await self._worker.transact(lambda conn: query(conn, *args, **kwargs), write=True)


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
