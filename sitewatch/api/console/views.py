"""What the templates show: plain rows built from the desks' values, times already placed.

Each builder takes domain values (a `CheckView`, a `Window`, a `Ticket`), the zone
to show times in and now, and returns a row with nothing left to compute in a
template. A customer's ticket row carries no operator name and no note: the
contract lets a customer see that an emergency is being handled, not by whom.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sitewatch.api.console.times import Moment, moment
from sitewatch.model import Ticket, TicketEvent, Window, WindowState
from sitewatch.model.redaction import redact
from sitewatch.outages.board import CheckView
from sitewatch.outages.recurrence import is_from_config


@dataclass(frozen=True, slots=True)
class LocationRow:
    """A check as one location sees it."""

    name: str
    state: str
    since: Moment | None
    last_result: str


@dataclass(frozen=True, slots=True)
class CheckRow:
    """A check: its verdict, each location's view, its 30-day availability."""

    id: str
    name: str
    customer: str
    state: str
    since: Moment | None
    last_result: str
    availability: str
    locations: tuple[LocationRow, ...]


def check_row(view: CheckView, availability: float | None, zone: tzinfo, now: datetime) -> CheckRow:
    """Describe one check, its times in the visitor's zone (UTC for operators)."""
    last, _ = view.last
    locations = tuple(
        LocationRow(
            name,
            status.state.value,
            _maybe(status.since, zone, now),
            status.last_result.value if status.last_result else "-",
        )
        for name, status in sorted(view.locations.items())
    )
    return CheckRow(
        id=view.spec.id,
        name=view.spec.name,
        customer=view.spec.customer,
        state=view.verdict.state.value,
        since=_maybe(view.verdict.since, zone, now),
        last_result=last.value if last else "-",
        availability=percent(availability),
        locations=locations,
    )


@dataclass(frozen=True, slots=True)
class WindowRow:
    """A maintenance window, its times in its customer's zone."""

    id: str
    customer: str
    checks: str
    kind: str
    state: str
    start: Moment
    end: Moment
    note: str
    declared_by: str
    declared_at: Moment
    recurring: bool
    changeable: bool
    """It may still be extended or ended early (declared, not ended, not cancelled)."""
    cancellable: bool
    """It may still be cancelled (declared, not started)."""


def window_row(window: Window, zone: tzinfo, now: datetime) -> WindowRow:
    """Describe one window as its customer's wall clock shows it."""
    state = window.state(now)
    recurring = is_from_config(window)
    return WindowRow(
        id=window.id,
        customer=window.customer,
        checks=", ".join(window.checks) or "all checks",
        kind=window.kind.value,
        state=state.value,
        start=moment(window.start, zone, now),
        end=moment(window.end, zone, now),
        note=window.note,
        declared_by=window.declared_by,
        declared_at=moment(window.declared_at, zone, now),
        recurring=recurring,
        changeable=not recurring and state in {WindowState.SCHEDULED, WindowState.ACTIVE},
        cancellable=not recurring and state is WindowState.SCHEDULED,
    )


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One line of a window's audit trail."""

    at: Moment
    by: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class TicketRow:
    """A ticket as a list shows it; `acknowledged_by` is empty for a customer."""

    id: str
    check: str
    customer: str
    state: str
    classification: str
    symptom: str
    onset: Moment
    opened: Moment
    acknowledged_by: str
    recovered: Moment | None


def ticket_row(
    ticket: Ticket, now: datetime, *, for_operator: bool, zone: tzinfo = UTC
) -> TicketRow:
    """Describe one ticket; a customer's copy names no operator (and its times are local)."""
    return TicketRow(
        id=ticket.id,
        check=ticket.check,
        customer=ticket.customer,
        state=ticket.state.value,
        classification=ticket.classification.value,
        symptom=ticket.symptom.value,
        onset=moment(ticket.onset_at, zone, now),
        opened=moment(ticket.opened_at, zone, now),
        acknowledged_by=(ticket.acknowledged_by or "") if for_operator else "",
        recovered=_maybe(ticket.recovered_at, zone, now),
    )


@dataclass(frozen=True, slots=True)
class EventRow:
    """One line of a ticket's timeline."""

    at: Moment
    kind: str
    by: str
    detail: str


def timeline(ticket: Ticket, secrets: frozenset[str], now: datetime) -> list[EventRow]:
    """Return a ticket's timeline, oldest first, with any secret a site echoed redacted."""
    return [_event(event, secrets, now) for event in ticket.events]


def _event(event: TicketEvent, secrets: frozenset[str], now: datetime) -> EventRow:
    return EventRow(moment(event.at, UTC, now), event.kind, event.by, redact(event.detail, secrets))


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer's last 30 days: availability and outages by classification."""

    id: str
    name: str
    availability: str
    emergencies: int
    overruns: int
    planned: int


def percent(ratio: float | None) -> str:
    """Render an availability ratio as a percentage with three decimals, or '-'."""
    return "-" if ratio is None else f"{ratio * 100:.3f}%"


def _maybe(at: datetime | None, zone: tzinfo, now: datetime) -> Moment | None:
    return None if at is None else moment(at, zone, now)


def state_counts(rows: list[CheckRow]) -> Mapping[str, int]:
    """Count checks per state, in the order the summary shows them."""
    counts = dict.fromkeys(("down", "maintenance", "unknown", "up"), 0)
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return counts
