"""Records the store contract tests write, with defaults that read as "a normal outage"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sitewatch.model import (
    Cause,
    Classification,
    DeliveryDecision,
    LocationDown,
    LocationStatus,
    MaintenanceKind,
    Outage,
    PageKind,
    PageRow,
    PageState,
    ProbeResult,
    ResultKind,
    State,
    Ticket,
    TicketEvent,
    TicketState,
    Transition,
    TransitionKind,
    Verdict,
    Window,
    WindowChange,
    ticket_subject,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CHECK, CUSTOMER = "acme-portal", "acme"
MINUTE = timedelta(minutes=1)


def result(check: str = CHECK, at: datetime = T0, kind: ResultKind = ResultKind.OK) -> ProbeResult:
    """Return one probe result."""
    detail = "" if kind is ResultKind.OK else f"step 1: {kind.value}"
    return ProbeResult(check, at, timedelta(milliseconds=120), kind, detail)


def down_status(onset: datetime = T0, version: int = 1) -> LocationStatus:
    """Return a location's status of a check it has down, every field set."""
    return LocationStatus(
        state=State.DOWN,
        since=onset + MINUTE,
        failures=3,
        successes=0,
        streak_onset=onset,
        streak_symptom=ResultKind.CONNECT,
        streak_detail="connection refused",
        down=LocationDown(onset, ResultKind.CONNECT, "connection refused"),
        last_result=ResultKind.CONNECT,
        last_result_at=onset + 2 * MINUTE,
        version=version,
    )


def up_status(version: int = 1, last: ResultKind = ResultKind.OK) -> LocationStatus:
    """Return a location's status of a check that is up."""
    return LocationStatus(
        state=State.UP, since=T0, successes=4, last_result=last, last_result_at=T0, version=version
    )


def outage(
    onset: datetime = T0,
    classification: Classification = Classification.EMERGENCY,
    window_id: str | None = None,
) -> Outage:
    """Return a confirmed outage."""
    return Outage(onset, ResultKind.CONNECT, classification, "connection refused", window_id)


def verdict_down(onset: datetime = T0) -> Verdict:
    """Return the verdict of a check down with an emergency outage."""
    return Verdict(State.DOWN, onset + MINUTE, outage(onset))


def transition(kind: TransitionKind, at: datetime, of: Outage | None = None) -> Transition:
    """Return one outage transition."""
    return Transition(kind, at, of or outage(), f"{kind.value} for the test")


def draft(check: str = CHECK, onset: datetime = T0, opened: datetime | None = None) -> Ticket:
    """Return a new ticket as the rules open it (no id yet), with its `opened` line."""
    opened = opened or onset + MINUTE
    return Ticket(
        id="",
        check=check,
        customer=CUSTOMER,
        state=TicketState.OPEN,
        classification=Classification.EMERGENCY,
        symptom=ResultKind.CONNECT,
        detail="connection refused",
        onset_at=onset,
        opened_at=opened,
        events=(TicketEvent(opened, "opened", "sitewatch", "emergency outage"),),
    )


def acknowledged(ticket: Ticket, at: datetime, by: str = "alice") -> Ticket:
    """Return a ticket acknowledged by an operator, with its timeline line."""
    line = TicketEvent(at, "acknowledged", by, "on it")
    return replace(
        ticket,
        state=TicketState.ACKNOWLEDGED,
        acknowledged_at=at,
        acknowledged_by=by,
        events=(*ticket.events, line),
    )


def resolved(ticket: Ticket, at: datetime) -> Ticket:
    """Return a ticket resolved by an operator, with its timeline line."""
    line = TicketEvent(at, "resolved", "alice", "network")
    return replace(
        ticket,
        state=TicketState.RESOLVED,
        resolved_at=at,
        resolved_by="alice",
        cause=Cause.NETWORK,
        resolution_note="switch replaced",
        events=(*ticket.events, line),
    )


def window(
    customer: str = CUSTOMER,
    start: datetime = T0,
    hours: float = 2,
    checks: tuple[str, ...] = (),
) -> Window:
    """Return a window as the API declares it (no id yet)."""
    return Window(
        id="",
        customer=customer,
        checks=checks,
        kind=MaintenanceKind.SOFTWARE_UPGRADE,
        start=start,
        end=start + timedelta(hours=hours),
        declared_at=start - timedelta(hours=1),
        declared_by=f"customer:{customer}",
        note="release 4.2",
    )


def declared(of: Window) -> WindowChange:
    """Return the `declared` audit line of a new window."""
    return WindowChange("", of.declared_at, of.declared_by, "declared", "for the test")


def page(
    ticket_id: str | None,
    kind: PageKind = PageKind.SITE_DOWN,
    operator: str = "alice",
    url_index: int = 0,
    level: int = 0,
    round: int = 0,
    due: datetime = T0,
    subject: str | None = None,
) -> PageRow:
    """Return one outbox row about a ticket (or, without one, about `subject`)."""
    return PageRow(
        subject=subject or ticket_subject(ticket_id or "none"),
        kind=kind,
        operator=operator,
        url_index=url_index,
        title=f"{kind.prefix} {CHECK} {CUSTOMER}",
        body="connection refused since 10:00",
        due_at=due,
        ticket_id=ticket_id,
        level=level,
        round=round,
    )


def sent(at: datetime, attempts: int = 1) -> DeliveryDecision:
    """Return the decision to store after a delivery that worked."""
    return DeliveryDecision(PageState.SENT, attempts, at, "", "delivered")


def retry(at: datetime, attempts: int = 1) -> DeliveryDecision:
    """Return the decision to store after a failed attempt to be retried at `at`."""
    return DeliveryDecision(PageState.PENDING, attempts, at, "503 from the gateway", "retry")
