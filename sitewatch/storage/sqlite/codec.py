"""How domain values are written to SQLite rows and read back: times, ids, rows.

Times are INTEGER microseconds since the epoch, UTC: exact, 8 bytes, compared as
numbers. They read back as aware UTC datetimes; a naive time is refused. Ticket and
window ids are integers shown as strings; `parse_id` turns any other form into
None, so a lookup by a malformed id finds nothing rather than raising. Enum columns
carry no CHECK constraint, so every enum read here is parsed.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from sitewatch.model import (
    Cause,
    Classification,
    LocationDown,
    LocationStatus,
    MaintenanceKind,
    Outage,
    OutageRecord,
    ProbeResult,
    ResultKind,
    State,
    Ticket,
    TicketEvent,
    TicketState,
    Verdict,
    Window,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


# --- times and ids --------------------------------------------------------------------


def to_us(at: datetime) -> int:
    """Return an aware time as microseconds since the epoch; ValueError if naive."""
    if at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone; sitewatch stores only aware times")
    return (at - _EPOCH) // _MICROSECOND


def to_us_opt(at: datetime | None) -> int | None:
    """Return `to_us(at)`, or None for None."""
    return None if at is None else to_us(at)


def from_us(us: int) -> datetime:
    """Return the aware UTC time of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=us)


def from_us_opt(us: int | None) -> datetime | None:
    """Return `from_us(us)`, or None for None."""
    return None if us is None else from_us(us)


def parse_id(text: str) -> int | None:
    """Return the row id a public id names; None for any other form ("007", "-1", "x")."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    key = int(text)
    return key if str(key) == text else None


# --- check statuses and probe results -------------------------------------------------

LOCATION_COLUMNS = (
    "check_id, location, version, state, since, failures, successes, streak_onset,"
    " streak_symptom, streak_detail, down_onset, down_symptom, down_detail, last_result,"
    " last_result_at"
)
"""The `location_status` columns, in the order of `location_row`."""


def location_row(check: str, location: str, status: LocationStatus) -> tuple[object, ...]:
    """Return one location's status of a check as a `location_status` row."""
    down = status.down
    return (
        check,
        location,
        status.version,
        status.state.value,
        to_us_opt(status.since),
        status.failures,
        status.successes,
        to_us_opt(status.streak_onset),
        _value(status.streak_symptom),
        status.streak_detail,
        None if down is None else to_us(down.onset),
        None if down is None else down.symptom.value,
        None if down is None else down.detail,
        _value(status.last_result),
        to_us_opt(status.last_result_at),
    )


def location_from_row(row: sqlite3.Row) -> LocationStatus:
    """Return the status a `location_status` row holds."""
    down = None
    if row["down_onset"] is not None:
        down = LocationDown(
            onset=from_us(row["down_onset"]),
            symptom=ResultKind(row["down_symptom"]),
            detail=row["down_detail"] or "",
        )
    symptom, last = row["streak_symptom"], row["last_result"]
    return LocationStatus(
        state=State(row["state"]),
        since=from_us_opt(row["since"]),
        failures=row["failures"],
        successes=row["successes"],
        streak_onset=from_us_opt(row["streak_onset"]),
        streak_symptom=None if symptom is None else ResultKind(symptom),
        streak_detail=row["streak_detail"],
        down=down,
        last_result=None if last is None else ResultKind(last),
        last_result_at=from_us_opt(row["last_result_at"]),
        version=row["version"],
    )


VERDICT_COLUMNS = (
    "check_id, state, since, outage_onset, outage_symptom, outage_classification,"
    " outage_detail, outage_window_id"
)
"""The `verdicts` columns, in the order of `verdict_row`."""


def verdict_row(check: str, verdict: Verdict) -> tuple[object, ...]:
    """Return a check's verdict as a `verdicts` row, its open outage embedded."""
    outage = verdict.outage
    embedded = (
        (None,) * 5
        if outage is None
        else (
            to_us(outage.onset),
            outage.symptom.value,
            outage.classification.value,
            outage.detail,
            outage.window_id,
        )
    )
    return (check, verdict.state.value, to_us_opt(verdict.since), *embedded)


def verdict_from_row(row: sqlite3.Row) -> Verdict:
    """Return the verdict a `verdicts` row holds."""
    outage = None
    if row["outage_onset"] is not None:
        outage = Outage(
            onset=from_us(row["outage_onset"]),
            symptom=ResultKind(row["outage_symptom"]),
            classification=Classification(row["outage_classification"]),
            detail=row["outage_detail"],
            window_id=row["outage_window_id"],
        )
    return Verdict(State(row["state"]), from_us_opt(row["since"]), outage)


def _value(kind: ResultKind | None) -> str | None:
    return None if kind is None else kind.value


def result_row(location: str, result: ProbeResult) -> tuple[object, ...]:
    """Return a probe result as `(check_id, location, started_at, kind, duration_us, detail)`."""
    duration = result.duration // _MICROSECOND
    return (
        result.check_id,
        location,
        to_us(result.started_at),
        result.kind.value,
        duration,
        result.detail,
    )


# --- tickets and outages ----------------------------------------------------------------

TICKET_COLUMNS = (
    "check_id, customer, state, classification, symptom, detail, onset_at, opened_at,"
    " acknowledged_at, acknowledged_by, recovered_at, resolved_at, resolved_by, cause,"
    " resolution_note"
)
"""The `tickets` columns a ticket writes (all but `id`)."""
TICKET_VALUES = ", ".join(f":{column}" for column in TICKET_COLUMNS.split(", "))
"""The named placeholders of `TICKET_COLUMNS`, for the keys of `ticket_values`."""


def ticket_values(ticket: Ticket) -> dict[str, object]:
    """Return a ticket's `tickets` columns by name (its id and events aside)."""
    return {
        "check_id": ticket.check,
        "customer": ticket.customer,
        "state": ticket.state.value,
        "classification": ticket.classification.value,
        "symptom": ticket.symptom.value,
        "detail": ticket.detail,
        "onset_at": to_us(ticket.onset_at),
        "opened_at": to_us(ticket.opened_at),
        "acknowledged_at": to_us_opt(ticket.acknowledged_at),
        "acknowledged_by": ticket.acknowledged_by,
        "recovered_at": to_us_opt(ticket.recovered_at),
        "resolved_at": to_us_opt(ticket.resolved_at),
        "resolved_by": ticket.resolved_by,
        "cause": None if ticket.cause is None else ticket.cause.value,
        "resolution_note": ticket.resolution_note,
    }


def ticket_from_row(row: sqlite3.Row, events: tuple[TicketEvent, ...] = ()) -> Ticket:
    """Return the ticket a `tickets` row holds, with the given timeline."""
    cause = row["cause"]
    return Ticket(
        id=str(row["id"]),
        check=row["check_id"],
        customer=row["customer"],
        state=TicketState(row["state"]),
        classification=Classification(row["classification"]),
        symptom=ResultKind(row["symptom"]),
        detail=row["detail"],
        onset_at=from_us(row["onset_at"]),
        opened_at=from_us(row["opened_at"]),
        acknowledged_at=from_us_opt(row["acknowledged_at"]),
        acknowledged_by=row["acknowledged_by"],
        recovered_at=from_us_opt(row["recovered_at"]),
        resolved_at=from_us_opt(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        cause=None if cause is None else Cause(cause),
        resolution_note=row["resolution_note"],
        events=events,
    )


def outage_from_row(row: sqlite3.Row) -> OutageRecord:
    """Return the outage an `outages` row holds."""
    ticket_id = row["ticket_id"]
    return OutageRecord(
        check=row["check_id"],
        customer=row["customer"],
        onset_at=from_us(row["onset_at"]),
        classification=Classification(row["classification"]),
        symptom=ResultKind(row["symptom"]),
        window_id=row["window_id"],
        overrun_at=from_us_opt(row["overrun_at"]),
        recovered_at=from_us_opt(row["recovered_at"]),
        ticket_id=None if ticket_id is None else str(ticket_id),
    )


# --- maintenance windows ----------------------------------------------------------------


def window_values(window: Window) -> dict[str, object]:
    """Return a window's `windows` columns by name (all but `id`)."""
    return {
        "customer": window.customer,
        "checks": json.dumps(list(window.checks)),
        "kind": window.kind.value,
        "start_at": to_us(window.start),
        "end_at": to_us(window.end),
        "declared_at": to_us(window.declared_at),
        "declared_by": window.declared_by,
        "note": window.note,
        "cancelled_at": to_us_opt(window.cancelled_at),
    }


def window_from_row(row: sqlite3.Row) -> Window:
    """Return the window a `windows` row holds."""
    return Window(
        id=str(row["id"]),
        customer=row["customer"],
        checks=tuple(json.loads(row["checks"])),
        kind=MaintenanceKind(row["kind"]),
        start=from_us(row["start_at"]),
        end=from_us(row["end_at"]),
        declared_at=from_us(row["declared_at"]),
        declared_by=row["declared_by"],
        note=row["note"],
        cancelled_at=from_us_opt(row["cancelled_at"]),
    )
