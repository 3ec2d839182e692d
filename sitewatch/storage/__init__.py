"""The storage interface in domain verbs, and the registry of its backends.

Every method is one transaction: when it returns, the change is durable. Backends
decide nothing; the rules in `outages.py` and `tickets.py` do, and backends call them
inside the transaction where a decision depends on the stored state (ack, resolve).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

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


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """What `record_transition` wrote: the ticket it opened or updated, if any."""

    ticket: Ticket | None
    opened: bool
    """True only the first time a ticket is opened for this outage."""


class Store(Protocol):
    """Durable state: check statuses, outages, windows, tickets, probe results."""

    async def close(self) -> None:
        """Flush and release the database."""
        ...

    async def load_statuses(self) -> dict[str, CheckStatus]:
        """Return every check's last saved status (to resume after a restart)."""
        ...

    async def save_progress(
        self, statuses: Mapping[str, CheckStatus], results: Sequence[ProbeResult]
    ) -> None:
        """Save a batch of statuses and raw results (streak counters, history)."""
        ...

    async def record_transition(
        self,
        check: str,
        customer: str,
        status: CheckStatus,
        transition: Transition,
        planner: PagePlanner | None = None,
    ) -> TransitionRecord:
        """Commit one outage transition with its status, outage row and ticket.

        STARTED (emergency) and OVERRAN open a ticket, exactly one per outage
        (`(check, onset)` is unique, so replaying after a crash opens none); ENDED
        records `recovered_at` on the outage's ticket. With a `planner`, the pages
        they cause (SITE DOWN, RECOVERED) are added to the outbox in the same
        transaction.
        """
        ...

    async def record_transitions(
        self,
        check: str,
        customer: str,
        status: CheckStatus,
        transitions: Sequence[Transition],
        planner: PagePlanner | None = None,
    ) -> list[TransitionRecord]:
        """Commit every transition of one decision, in order, in one transaction.

        A decision can carry two: a late confirmation inside a window that has already
        ended starts and overruns at once. Recorded one by one, a crash between the two
        commits would lose the overrun's ticket, because the status saved with the
        first already holds the overrun and nothing would ever replay it.
        """
        ...

    async def prune_results(self, older_than: datetime) -> int:
        """Delete raw probe results older than this; return how many."""
        ...

    async def add_window(self, window: Window) -> Window:
        """Store a new window (its id assigned here) with its audit line."""
        ...

    async def get_window(self, window_id: str) -> Window | None:
        """Return one window, or None."""
        ...

    async def list_windows(
        self, customer: str | None = None, *, ending_after: datetime | None = None
    ) -> list[Window]:
        """Return windows (cancelled ones too), oldest start first."""
        ...

    async def change_window_end(
        self, window_id: str, end: datetime, by: str, at: datetime
    ) -> Window:
        """Move a window's end and audit it."""
        ...

    async def cancel_window(self, window_id: str, by: str, at: datetime) -> Window:
        """Cancel a window and audit it."""
        ...

    async def window_changes(self, window_id: str) -> list[WindowChange]:
        """Return a window's audit trail, oldest first."""
        ...

    async def list_tickets(
        self, states: Sequence[TicketState] | None = None, *, limit: int = 100
    ) -> list[Ticket]:
        """Return tickets, newest first, without their events."""
        ...

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events, or None."""
        ...

    async def acknowledge_ticket(
        self, ticket_id: str, by: str, note: str, now: datetime
    ) -> TicketChange | None:
        """Apply `tickets.acknowledge` in one transaction; None if unknown."""
        ...

    async def resolve_ticket(
        self,
        ticket_id: str,
        cause: Cause,
        by: str,
        note: str,
        now: datetime,
        planner: PagePlanner | None = None,
    ) -> TicketChange | None:
        """Apply `tickets.resolve` in one transaction; None if unknown.

        With a `planner`, RESOLVED pages to everyone paged for the ticket are added
        to the outbox in the same transaction.
        """
        ...

    async def count_open_tickets(self) -> int:
        """Return how many tickets are not resolved."""
        ...

    async def list_outages(self, since: datetime, until: datetime) -> list[OutageRecord]:
        """Return outages overlapping since..until (planned ones too)."""
        ...

    async def list_tickets_overlapping(self, since: datetime, until: datetime) -> list[Ticket]:
        """Return the tickets whose outage overlaps since..until, by onset, without events.

        Overlapping means `onset_at < until` and not recovered by `since`, as for
        `list_outages`: a ticket of an outage still going on overlaps every later period.
        """
        ...

    async def first_results(self) -> dict[str, datetime]:
        """Return each check's earliest probe result still held (for statistics)."""
        ...

    # --- the page outbox (docs/architecture.md, "Paging") ---------------------------

    async def add_pages(self, rows: Sequence[PageRow]) -> int:
        """Add pages not planned before (same subject, kind, level, round, target); count new."""
        ...

    async def escalation_candidates(self) -> list[EscalationCandidate]:
        """Return open, unacknowledged, unrecovered tickets with their planned rounds."""
        ...

    async def add_escalation_pages(self, ticket_id: str, rows: Sequence[PageRow]) -> int:
        """Add escalation pages only if the ticket still escalates (re-read in the transaction)."""
        ...

    async def claim_pages(self, now: datetime, limit: int, lease: timedelta) -> list[Page]:
        """Cancel pages of tickets no longer open; lease and return up to `limit` due pages."""
        ...

    async def release_page_claims(self) -> int:
        """Release every lease, so pages claimed before a crash go out again at once."""
        ...

    async def record_delivery(
        self, page_id: int, decision: DeliveryDecision, fallback: Sequence[PageRow]
    ) -> DeliveryRecord:
        """Store an attempt's outcome, with the fallback copies of an undeliverable page."""
        ...

    async def list_pages(self, ticket_id: str | None = None) -> list[Page]:
        """Return the outbox rows (of one ticket, or all), oldest first."""
        ...

    async def meta_value(self, key: str, default: str) -> str:
        """Return a stored service value, storing `default` the first time."""
        ...


class StoreOpener(Protocol):
    """Open a backend's store from a `database:` URL of the service configuration."""

    def __call__(self, url: str, *, base: Path, clock: Clock) -> Awaitable[Store]:
        """Open (creating or migrating as needed); `base` anchors relative paths."""
        ...


STORES: dict[str, str] = {
    "sqlite": "sitewatch.storage.sqlite:open_sqlite_url",
}
"""Store backends by URL scheme, as `module:StoreOpener`, imported only when used."""


async def open_store(url: str, *, base: Path, clock: Clock | None = None) -> Store:
    """Open the store a `database:` URL names; `base` is the config file's directory."""
    scheme, colon, _ = url.partition(":")
    target = STORES.get(scheme) if colon else None
    if target is None:
        known = ", ".join(f"{name}:" for name in sorted(STORES))
        raise ValueError(f"database {url!r}: unknown kind of database; use one of {known}")
    module, _, name = target.partition(":")
    opener: StoreOpener = getattr(importlib.import_module(module), name)
    return await opener(url, base=base, clock=clock or SystemClock())
