"""Maintenance windows: the rules for declaring and changing them, and the in-memory book."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sitewatch.durations import format_duration
from sitewatch.model import MaintenanceKind, Window, WindowState


class WindowBook:
    """Hold the windows that can still matter, by customer, for fast lookups.

    The store is the record; this is its read-through copy for the hot path. Every
    change goes to the store first and then here (see `api.py`).
    """

    def __init__(self, windows: Iterable[Window] = ()) -> None:
        self._by_customer: dict[str, dict[str, Window]] = defaultdict(dict)
        for window in windows:
            self.put(window)

    def put(self, window: Window) -> None:
        """Add or replace a window (after the store committed it)."""
        self._by_customer[window.customer][window.id] = window

    def covering(self, check_id: str, customer: str) -> list[Window]:
        """Return the windows that cover this check, cancelled ones excluded."""
        return [
            w
            for w in self._by_customer.get(customer, {}).values()
            if w.cancelled_at is None and w.covers(check_id, customer)
        ]

    def of_customer(self, customer: str) -> list[Window]:
        """Return the customer's windows, cancelled ones included."""
        return list(self._by_customer.get(customer, {}).values())


CLOCK_SLACK = timedelta(seconds=60)
"""A start up to this far in the past counts as "now" (clients' clocks differ)."""
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a declaration or change breaks a rule; `status` is the HTTP answer."""

    status: int
    message: str


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
        )
    start = max(start, now)
    unknown = sorted(set(request.checks) - set(customer_checks))
    if unknown:
        return Rejection(
            400, f"checks {', '.join(unknown)} are not checks of customer {request.customer}"
        )
    if rejection := _check_span(start, request.end, maximum):
        return rejection
    if len(request.note) > MAX_NOTE:
        return Rejection(400, f"note is longer than {MAX_NOTE} characters")
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
    state = window.state(now)
    if state in (WindowState.ENDED, WindowState.CANCELLED):
        return Rejection(409, f"window {window.id} is {state.value}; it can no longer change")
    if end < now - CLOCK_SLACK:
        return Rejection(400, f"end {_iso(end)} is in the past; to end it now, send now")
    end = max(end, now)
    return _check_span(window.start, end, maximum) or end


def cancel(window: Window, *, now: datetime) -> Rejection | None:
    """Check that a window may be cancelled: only before it starts."""
    state = window.state(now)
    if state is not WindowState.SCHEDULED:
        return Rejection(
            409,
            f"window {window.id} is {state.value}; only a scheduled window can be cancelled"
            + (" (end it early with PATCH instead)" if state is WindowState.ACTIVE else ""),
        )
    return None


def _check_span(start: datetime, end: datetime, maximum: timedelta) -> Rejection | None:
    if end <= start:
        return Rejection(400, f"end {_iso(end)} must be after start {_iso(start)}")
    if end - start > maximum:
        return Rejection(
            400,
            f"a window may last at most {format_duration(maximum)} (maintenance_max); "
            f"this one lasts {format_duration(end - start)}",
        )
    return None


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
