"""Maintenance windows: the rules for declaring and changing them, and the in-memory book."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sitewatch.model import MaintenanceKind, Window, WindowState
from sitewatch.model.durations import format_duration
from sitewatch.outages.recurrence import is_from_config

CLOCK_SLACK = timedelta(seconds=60)
"""A start up to this far in the past counts as "now" (clients' clocks differ)."""
MAX_NOTE = 2000


class Field(StrEnum):
    """The part of a request a rejection concerns (the console shows it beside that field)."""

    START = "start"
    END = "end"
    CHECKS = "checks"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a declaration or change breaks a rule; `status` is the HTTP answer."""

    status: int
    message: str
    field: Field | None = None
    """The field at fault, or None when the request as a whole is refused (403, 409, 429)."""


@dataclass(frozen=True, slots=True)
class Declaration:
    """A customer's request for a window, as it came in (already typed)."""

    customer: str
    checks: tuple[str, ...]
    kind: MaintenanceKind
    start: datetime | None
    end: datetime
    note: str = ""


def declare(
    request: Declaration,
    *,
    by: str,
    now: datetime,
    customer_checks: Iterable[str],
    maximum: timedelta,
) -> Window | Rejection:
    """Validate a declaration and return the window to store (id assigned by the store).

    A window may start now (omitted start, or up to a minute in the past), never
    earlier: only a window declared before it starts is a planned event.
    """
    start = request.start or now
    if start < now - CLOCK_SLACK:
        return Rejection(
            400,
            f"start {_iso(start)} is in the past; a planned event must be declared before "
            "it starts (omit start to begin now)",
            Field.START,
        )
    start = max(start, now)
    unknown = sorted(set(request.checks) - set(customer_checks))
    if unknown:
        return Rejection(
            400,
            f"checks {', '.join(unknown)} are not checks of customer {request.customer}",
            Field.CHECKS,
        )
    if rejection := _check_span(start, request.end, maximum):
        return rejection
    if len(request.note) > MAX_NOTE:
        return Rejection(400, f"note is longer than {MAX_NOTE} characters", Field.NOTE)
    return Window(
        id="",
        customer=request.customer,
        checks=tuple(dict.fromkeys(request.checks)),
        kind=request.kind,
        start=start,
        end=request.end,
        declared_at=now,
        declared_by=by,
        note=request.note,
    )


def change_end(
    window: Window, end: datetime, *, now: datetime, maximum: timedelta
) -> datetime | Rejection:
    """Validate a new end for a window that has not ended; return the end to store.

    An end up to a minute in the past means "end it now".
    """
    if rejection := config_rejection(window):
        return rejection
    state = window.state(now)
    if state in (WindowState.ENDED, WindowState.CANCELLED):
        return Rejection(409, f"window {window.id} is {state.value}; it can no longer change")
    if end < now - CLOCK_SLACK:
        return Rejection(400, f"end {_iso(end)} is in the past; to end it now, send now", Field.END)
    end = max(end, now)
    return _check_span(window.start, end, maximum) or end


def cancel(window: Window, *, now: datetime) -> Rejection | None:
    """Check that a window may be cancelled: only before it starts."""
    if rejection := config_rejection(window):
        return rejection
    state = window.state(now)
    if state is not WindowState.SCHEDULED:
        return Rejection(
            409,
            f"window {window.id} is {state.value}; only a scheduled window can be cancelled"
            + (" (end it early with PATCH instead)" if state is WindowState.ACTIVE else ""),
        )
    return None


def config_rejection(window: Window) -> Rejection | None:
    """Refuse any change through the API to a recurring window: the config owns it."""
    if not is_from_config(window):
        return None
    return Rejection(
        409,
        f"window {window.id} comes from the config (recurring_maintenance): an operator"
        " changes or removes it there, not through the API",
    )


def _check_span(start: datetime, end: datetime, maximum: timedelta) -> Rejection | None:
    if end <= start:
        return Rejection(400, f"end {_iso(end)} must be after start {_iso(start)}", Field.END)
    if end - start > maximum:
        return Rejection(
            400,
            f"a window may last at most {format_duration(maximum)} (maintenance_max); "
            f"this one lasts {format_duration(end - start)}",
            Field.END,
        )
    return None


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
