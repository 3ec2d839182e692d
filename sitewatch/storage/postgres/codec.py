"""How domain values become PostgreSQL rows and back: ids, enums, records.

Times need no conversion: psycopg maps aware datetimes to `timestamptz` and back
(the session's TimeZone is UTC, so they read back in UTC). Ticket and window ids
are `bigint` identities shown as strings; `parse_id` turns any other form into
None, so a lookup by a malformed id finds nothing rather than raising. Enum columns
are plain `text` without CHECK constraints (a newer sitewatch may add values), so
every enum read here is parsed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sitewatch.model import (
    Cause,
    Classification,
    LocationDown,
    LocationStatus,
    Outage,
    OutageRecord,
    ResultKind,
    State,
    Ticket,
    TicketEvent,
    TicketState,
    Verdict,
)

Row = dict[str, Any]
"""A row as psycopg's `dict_row` returns it."""

_BIGINT_MAX = 2**63 - 1


def parse_id(text: str) -> int | None:
    """Return the row id a public id names; None for any other form ("007", "-1", "x")."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    key = int(text)
    return key if str(key) == text and key <= _BIGINT_MAX else None


def require_id(text: str, what: str) -> int:
    """Return the row id of an id the caller got from this store; ValueError otherwise."""
    key = parse_id(text)
    if key is None:
        raise ValueError(f"{text!r} is not a {what} id this store issued")
    return key


def _kind(value: str | None) -> ResultKind | None:
    return None if value is None else ResultKind(value)


# --- location statuses and verdicts ----------------------------------------------------

STATUS_COLUMNS = (
    "check_id",
    "state",
    "since",
    "failures",
    "successes",
    "streak_onset",
    "streak_symptom",
    "streak_detail",
    "down_onset",
    "down_symptom",
    "down_detail",
    "last_result",
    "last_result_at",
    "version",
)
"""The `location_status` columns a status writes (besides `location`), in order."""


def status_values(check: str, status: LocationStatus) -> tuple[object, ...]:
    """Return one check's status at a location as values for `STATUS_COLUMNS`."""
    down = status.down
    return (
        check,
        status.state.value,
        status.since,
        status.failures,
        status.successes,
        status.streak_onset,
        None if status.streak_symptom is None else status.streak_symptom.value,
        status.streak_detail,
        None if down is None else down.onset,
        None if down is None else down.symptom.value,
        None if down is None else down.detail,
        None if status.last_result is None else status.last_result.value,
        status.last_result_at,
        status.version,
    )


def status_from_row(row: Row) -> LocationStatus:
    """Return the status a `location_status` row holds."""
    down = None
    if row["down_onset"] is not None:
        down = LocationDown(row["down_onset"], ResultKind(row["down_symptom"]), row["down_detail"])
    return LocationStatus(
        state=State(row["state"]),
        since=row["since"],
        failures=row["failures"],
        successes=row["successes"],
        streak_onset=row["streak_onset"],
        streak_symptom=_kind(row["streak_symptom"]),
        streak_detail=row["streak_detail"],
        down=down,
        last_result=_kind(row["last_result"]),
        last_result_at=row["last_result_at"],
        version=row["version"],
    )


VERDICT_COLUMNS = (
    "check_id",
    "state",
    "since",
    "outage_onset",
    "outage_symptom",
    "outage_classification",
    "outage_detail",
    "outage_window_id",
)
"""The `verdicts` columns, in the order of `verdict_values`."""


def verdict_values(check: str, verdict: Verdict) -> tuple[object, ...]:
    """Return one check's verdict as values for `VERDICT_COLUMNS`."""
    outage = verdict.outage
    embedded: tuple[object, ...] = (
        (None,) * 5
        if outage is None
        else (
            outage.onset,
            outage.symptom.value,
            outage.classification.value,
            outage.detail,
            outage.window_id,
        )
    )
    return (check, verdict.state.value, verdict.since, *embedded)


def verdict_from_row(row: Row) -> Verdict:
    """Return the verdict a `verdicts` row holds, its open outage included."""
    outage = None
    if row["outage_onset"] is not None:
        outage = Outage(
            onset=row["outage_onset"],
            symptom=ResultKind(row["outage_symptom"]),
            classification=Classification(row["outage_classification"]),
            detail=row["outage_detail"],
            window_id=row["outage_window_id"],
        )
    return Verdict(state=State(row["state"]), since=row["since"], outage=outage)


# --- outages and tickets -----------------------------------------------------------------

TICKET_COLUMNS = (
    "check_id",
    "customer",
    "state",
    "classification",
    "symptom",
    "detail",
    "onset_at",
    "opened_at",
    "acknowledged_at",
    "acknowledged_by",
    "recovered_at",
    "resolved_at",
    "resolved_by",
    "cause",
    "resolution_note",
)
"""The `tickets` columns a ticket writes (all but `id`)."""


def ticket_values(ticket: Ticket) -> dict[str, object]:
    """Return a ticket's `tickets` columns by name (its id and events aside)."""
    return {
        "check_id": ticket.check,
        "customer": ticket.customer,
        "state": ticket.state.value,
        "classification": ticket.classification.value,
        "symptom": ticket.symptom.value,
        "detail": ticket.detail,
        "onset_at": ticket.onset_at,
        "opened_at": ticket.opened_at,
        "acknowledged_at": ticket.acknowledged_at,
        "acknowledged_by": ticket.acknowledged_by,
        "recovered_at": ticket.recovered_at,
        "resolved_at": ticket.resolved_at,
        "resolved_by": ticket.resolved_by,
        "cause": None if ticket.cause is None else ticket.cause.value,
        "resolution_note": ticket.resolution_note,
    }


def ticket_from_row(row: Row, events: tuple[TicketEvent, ...] = ()) -> Ticket:
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
        onset_at=row["onset_at"],
        opened_at=row["opened_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        recovered_at=row["recovered_at"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        cause=None if cause is None else Cause(cause),
        resolution_note=row["resolution_note"],
        events=events,
    )


def event_from_row(row: Row) -> TicketEvent:
    """Return the timeline line a `ticket_events` row holds."""
    return TicketEvent(row["at"], row["kind"], row["actor"], row["detail"])


def outage_from_row(row: Row) -> OutageRecord:
    """Return the outage an `outages` row holds."""
    ticket_id = row["ticket_id"]
    return OutageRecord(
        check=row["check_id"],
        customer=row["customer"],
        onset_at=row["onset_at"],
        classification=Classification(row["classification"]),
        symptom=ResultKind(row["symptom"]),
        window_id=row["window_id"],
        overrun_at=row["overrun_at"],
        recovered_at=row["recovered_at"],
        ticket_id=None if ticket_id is None else str(ticket_id),
    )


def microseconds(duration: timedelta) -> int:
    """Return a duration in whole microseconds (how `results.duration_us` keeps it)."""
    return duration // timedelta(microseconds=1)
