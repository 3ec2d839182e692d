"""Maintenance windows: the rules for declaring and changing them, and the in-memory book."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sitewatch.durations import format_duration
from sitewatch.model import MaintenanceKind, Window, WindowState
from sitewatch.recurring import RecurringSchedule, is_from_config

RECURRING_HORIZON = timedelta(days=2)
"""How far ahead recurring occurrences are kept in the book (and listed by the API)."""


class WindowBook:
    """Hold the windows that can still matter, by customer, for fast lookups.

    The store is the record of declared windows and the config the record of
    recurring ones; this is the hot path's copy of both. Every declared change goes
    to the store first and then here (see `api/maintenance.py`). `refresh` keeps it
    bounded: it adds the coming recurring occurrences and forgets windows that
    ended before anything the rules still judge.
    """

    def __init__(
        self, windows: Iterable[Window] = (), *, schedule: RecurringSchedule | None = None
    ) -> None:
        self._by_customer: dict[str, dict[str, Window]] = defaultdict(dict)
        self.schedule = schedule or RecurringSchedule(())
        for window in windows:
            self.put(window)

    def put(self, window: Window) -> None:
        """Add or replace a window (after the store committed it)."""
        self._by_customer[window.customer][window.id] = window

    def get(self, window_id: str) -> Window | None:
        """Return the window with this id if it is held here, else None."""
        for windows in self._by_customer.values():
            if window_id in windows:
                return windows[window_id]
        return None

    def find(self, window_id: str) -> Window | None:
        """Return a window held here, else the recurring occurrence with that id, else None."""
        return self.get(window_id) or self.schedule.find(window_id)

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

    def customers(self) -> set[str]:
        """Return the customers that have windows held here."""
        return {customer for customer, windows in self._by_customer.items() if windows}

    def recurring(self, customer: str | None = None) -> list[Window]:
        """Return the recurring occurrences held (recent and coming), of one customer or all."""
        customers = list(self._by_customer) if customer is None else [customer]
        return [w for c in customers for w in self.of_customer(c) if is_from_config(w)]

    def refresh(self, now: datetime, *, since: datetime, keep: Collection[str]) -> int:
        """Add recurring occurrences up to `now` + the horizon; forget what ended before `since`.

        `since` must be no later than the onset of any failure streak still open, and
        `keep` must name the window of every open planned outage (its overrun is
        judged by that window's end). Return how many windows were forgotten.
        """
        for window in self.schedule.between(since, now + RECURRING_HORIZON):
            self.put(window)
        forgotten = 0
        for windows in self._by_customer.values():
            for window_id in [w.id for w in windows.values() if _forgettable(w, since, keep)]:
                del windows[window_id]
                forgotten += 1
        return forgotten


def _forgettable(window: Window, since: datetime, keep: Collection[str]) -> bool:
    # A window that ended before every open streak's onset can contain no onset
    # still to be judged; only an open planned outage may still need its end.
    return window.end < since and window.id not in keep


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
    if rejection := config_rejection(window):
        return rejection
    state = window.state(now)
    if state in (WindowState.ENDED, WindowState.CANCELLED):
        return Rejection(409, f"window {window.id} is {state.value}; it can no longer change")
    if end < now - CLOCK_SLACK:
        return Rejection(400, f"end {_iso(end)} is in the past; to end it now, send now")
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
