"""Tickets: the record of an emergency, its timeline, and how an action on it went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sitewatch.model.checks import ResultKind
from sitewatch.model.outages import Classification


class Cause(StrEnum):
    """The root cause an operator records when resolving a ticket."""

    HARDWARE = "hardware"
    INTERNAL_SYSTEMS_MANAGEMENT = "internal-systems-management"
    SOFTWARE = "software"
    NETWORK = "network"
    THIRD_PARTY = "third-party"
    UNKNOWN = "unknown"


class TicketState(StrEnum):
    """The life of an emergency ticket."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One line of a ticket's timeline."""

    at: datetime
    kind: str
    """`opened`, `acknowledged`, `recovered`, `resolved`, `paged`, `note`..."""
    by: str = "sitewatch"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ticket:
    """The record of an emergency: one per emergency (or overrun) outage."""

    id: str
    check: str
    customer: str
    state: TicketState
    classification: Classification
    symptom: ResultKind
    detail: str
    onset_at: datetime
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    recovered_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    cause: Cause | None = None
    resolution_note: str = ""
    events: tuple[TicketEvent, ...] = ()


class Outcome(StrEnum):
    """How an action on a ticket went (maps to 200, 200 unchanged, 409)."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class TicketChange:
    """The ticket after an action, with how it went and why."""

    outcome: Outcome
    ticket: Ticket
    reason: str = ""
