"""The domain vocabulary: ids, closed sets as enums, frozen records. No I/O here.

One module per noun (checks and results, outages, windows, tickets, pages, on-call
schedules); this package re-exports them all, so `from sitewatch.model import Ticket`
reads the same wherever the noun lives. `durations` and `redaction` are pure helpers
about two domain notions (durations as people write them, secrets never shown).
"""

from __future__ import annotations

from sitewatch.model.checks import (
    ID_PATTERN,
    NETWORK_KINDS,
    CheckSpec,
    Expectation,
    ExtractPattern,
    Method,
    ProbeResult,
    ResultKind,
    State,
    Step,
    StepReport,
)
from sitewatch.model.cluster import Identity, Lease, LocationFault, Member
from sitewatch.model.oncall import Override, Rotation, Schedule, Shift, Weekday, utc_instant
from sitewatch.model.outages import (
    Classification,
    LocationDown,
    LocationStatus,
    Outage,
    OutageRecord,
    Transition,
    TransitionKind,
    Verdict,
)
from sitewatch.model.pages import (
    FALLBACK,
    WEBHOOK,
    Delivery,
    DeliveryDecision,
    DeliveryRecord,
    Page,
    PageKind,
    PageRow,
    PageState,
    Target,
    fallback_subject,
    fault_subject,
    ticket_subject,
)
from sitewatch.model.principals import Principal, Role
from sitewatch.model.tickets import Cause, Outcome, Ticket, TicketChange, TicketEvent, TicketState
from sitewatch.model.windows import MaintenanceKind, Window, WindowChange, WindowState

__all__ = [
    "FALLBACK",
    "ID_PATTERN",
    "NETWORK_KINDS",
    "WEBHOOK",
    "Cause",
    "CheckSpec",
    "Classification",
    "Delivery",
    "DeliveryDecision",
    "DeliveryRecord",
    "Expectation",
    "ExtractPattern",
    "Identity",
    "Lease",
    "LocationDown",
    "LocationFault",
    "LocationStatus",
    "MaintenanceKind",
    "Member",
    "Method",
    "Outage",
    "OutageRecord",
    "Outcome",
    "Override",
    "Page",
    "PageKind",
    "PageRow",
    "PageState",
    "Principal",
    "ProbeResult",
    "ResultKind",
    "Role",
    "Rotation",
    "Schedule",
    "Shift",
    "State",
    "Step",
    "StepReport",
    "Target",
    "Ticket",
    "TicketChange",
    "TicketEvent",
    "TicketState",
    "Transition",
    "TransitionKind",
    "Verdict",
    "Weekday",
    "Window",
    "WindowChange",
    "WindowState",
    "fallback_subject",
    "fault_subject",
    "ticket_subject",
    "utc_instant",
]
