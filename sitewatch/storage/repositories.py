"""The repositories of a transaction: one per aggregate, in domain verbs.

See `storage/protocols.py` for the conventions every method follows (times passed
in, ids as strings that find nothing when malformed, `lock_*` for rows read to be
changed).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sitewatch.model import (
    DeliveryDecision,
    LocationStatus,
    OutageRecord,
    Page,
    PageKind,
    PageRow,
    ProbeResult,
    Target,
    Ticket,
    TicketEvent,
    TicketState,
    Transition,
    Verdict,
    Window,
    WindowChange,
)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a newest-first list continues: the sort key of the last item returned."""

    at: datetime
    id: str


class CheckRepo(Protocol):
    """Each check's status at each location, its verdict, and the raw probe results."""

    async def lock_locations(
        self, location: str, check_ids: Collection[str]
    ) -> dict[str, LocationStatus]:
        """Return the statuses of these checks at `location`, locked; unknown ones absent."""
        ...

    async def save_locations(
        self,
        location: str,
        statuses: Mapping[str, LocationStatus],
        *,
        based_on: Mapping[str, int],
    ) -> None:
        """Write these statuses at `location`, each over the version it was decided on.

        A compare-and-set: each check's row must still hold the version `based_on`
        names for it (0: no row yet). If any holds another, another writer moved it
        on: `StoreConflictError`, and the transaction must roll back. A backend may
        raise it from a later statement of the transaction, or from its commit.
        """
        ...

    async def location_statuses(
        self, check_ids: Collection[str] | None = None
    ) -> dict[str, dict[str, LocationStatus]]:
        """Return `{check: {location: status}}` for these checks (or all)."""
        ...

    async def failing_at(self, location: str, kinds: Collection[str]) -> list[str]:
        """Return the checks whose last result at `location` is one of these kinds."""
        ...

    async def down_at(self, location: str) -> list[str]:
        """Return the checks that `location` has down."""
        ...

    async def lock_verdicts(self, check_ids: Collection[str]) -> dict[str, Verdict]:
        """Return these checks' verdicts, locked; a check never judged is absent."""
        ...

    async def verdicts(self, check_ids: Collection[str] | None = None) -> dict[str, Verdict]:
        """Return the verdicts of these checks (or all), without locking."""
        ...

    async def in_maintenance(self) -> list[str]:
        """Return the checks whose verdict is `maintenance` (a planned outage in force)."""
        ...

    async def save_verdicts(self, verdicts: Mapping[str, Verdict]) -> None:
        """Write these verdicts."""
        ...

    async def add_results(self, location: str, results: Sequence[ProbeResult]) -> None:
        """Keep these raw results (history for `retention`)."""
        ...

    async def first_results(self) -> dict[str, datetime]:
        """Return each check's earliest result still held (for statistics)."""
        ...

    async def prune_results(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` results older than `before`; return how many."""
        ...


class OutageRepo(Protocol):
    """Every confirmed outage, planned ones too, for statistics and for its ticket."""

    async def record(self, check: str, customer: str, transition: Transition) -> None:
        """Record a transition on its outage row; replaying one changes nothing."""
        ...

    async def overlapping(self, since: datetime, until: datetime) -> list[OutageRecord]:
        """Return outages begun before `until` and not recovered by `since`, by onset."""
        ...

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` outages recovered before `before`; return how many."""
        ...


class TicketRepo(Protocol):
    """Tickets and their timelines."""

    async def open(self, draft: Ticket) -> tuple[Ticket, bool]:
        """Insert the ticket of an outage unless it has one; return it and whether it is new.

        `(check, onset_at)` is unique: opening again (a replay, a second instance)
        returns the ticket that exists, with False.
        """
        ...

    async def of_outage(self, check: str, onset: datetime) -> Ticket | None:
        """Return the ticket of the outage with this onset, with its events, locked."""
        ...

    async def lock(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events, locked; None if unknown."""
        ...

    async def get(self, ticket_id: str) -> Ticket | None:
        """Return one ticket with its events; None if unknown."""
        ...

    async def save(self, before: Ticket, after: Ticket) -> None:
        """Write what a ticket rule changed: the fields and the events added."""
        ...

    async def add_event(self, ticket_id: str, event: TicketEvent) -> None:
        """Append one line to a ticket's timeline."""
        ...

    async def escalating(self) -> list[Ticket]:
        """Return open, unacknowledged, unrecovered tickets, oldest first, locked.

        A ticket locked by another transaction (being acknowledged) is skipped: the
        next round sees it acknowledged.
        """
        ...

    async def page(
        self, states: Collection[TicketState] | None, limit: int, after: Cursor | None
    ) -> list[Ticket]:
        """Return up to `limit` tickets in these states (or all), newest first, no events."""
        ...

    async def overlapping(self, since: datetime, until: datetime) -> list[Ticket]:
        """Return the tickets of outages overlapping since..until, by onset, no events."""
        ...

    async def count_unresolved(self) -> int:
        """Return how many tickets are not resolved."""
        ...

    async def prune_resolved(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` tickets resolved before `before`, with their events and pages."""
        ...


class WindowRepo(Protocol):
    """Maintenance windows declared through the API, and their audit trail."""

    async def add(self, window: Window, change: WindowChange) -> Window:
        """Store a new window (its id assigned here) with its `declared` line."""
        ...

    async def lock(self, window_id: str) -> Window | None:
        """Return one window, locked; None if unknown."""
        ...

    async def get(self, window_id: str) -> Window | None:
        """Return one window; None if unknown."""
        ...

    async def save(self, window: Window, change: WindowChange) -> None:
        """Write a window's new end or cancellation with its audit line."""
        ...

    async def covering(self, customers: Collection[str], ending_after: datetime) -> list[Window]:
        """Return the customers' windows not cancelled that end after `ending_after`."""
        ...

    async def page(self, customer: str | None, limit: int, after: Cursor | None) -> list[Window]:
        """Return up to `limit` windows (of one customer, or all), latest start first."""
        ...

    async def changes(self, window_id: str) -> list[WindowChange]:
        """Return a window's audit trail, oldest first."""
        ...

    async def count_not_ended(self, customer: str, now: datetime) -> int:
        """Return how many of the customer's windows are neither ended nor cancelled."""
        ...

    async def prune_ended(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` windows that ended (or were cancelled) before `before`."""
        ...


class OutboxRepo(Protocol):
    """The durable outbox: one row per page (or webhook call) and target."""

    async def add(self, rows: Sequence[PageRow], now: datetime) -> int:
        """Add rows not planned before (same key); return how many are new."""
        ...

    async def planned_rounds(self, ticket_ids: Collection[str]) -> dict[str, set[tuple[int, int]]]:
        """Return, per ticket, the `(level, round)` pairs already in the outbox."""
        ...

    async def paged_targets(self, ticket_id: str) -> list[Target]:
        """Return every target paged for a ticket (SITE DOWN or STILL DOWN, not cancelled)."""
        ...

    async def cancel_pending(
        self, ticket_id: str, kinds: Collection[PageKind], reason: str, now: datetime
    ) -> int:
        """Cancel a ticket's pending rows of these kinds not claimed now; return how many."""
        ...

    async def any_due(self, now: datetime) -> bool:
        """Tell whether a pending row is due at `now` and not held by a live claim.

        What `claim` would look at (it may still leave such a row waiting behind an
        earlier one to its target), readable without a lock: a poll that finds
        nothing due ends here.
        """
        ...

    async def claim(self, now: datetime, limit: int, lease: timedelta, claimant: str) -> list[Page]:
        """Claim up to `limit` due rows for `claimant` until `now + lease`, oldest first.

        A row waits while an earlier pending row goes to the same target about the
        same subject (order per person and ticket). Rows another claimant holds are
        skipped, never waited for.
        """
        ...

    async def record(
        self, page_id: int, claimant: str, decision: DeliveryDecision, now: datetime
    ) -> Page | None:
        """Store an attempt's outcome if `claimant` still holds the row; the row, or None."""
        ...

    async def release_claims(self, keep: str) -> int:
        """Release every pending row's claim not made by `keep` (a new leader's, fenced)."""
        ...

    async def sent_before(self, ticket_id: str, page_id: int) -> bool:
        """Tell whether another page of this ticket was sent already."""
        ...

    async def rows(self, ticket_id: str | None = None) -> list[Page]:
        """Return the rows (of one ticket, or all), oldest first."""
        ...

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` finished rows of no ticket (prober faults) created before."""
        ...
