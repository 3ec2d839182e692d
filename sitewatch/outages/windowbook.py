"""The window book: the maintenance windows that can still matter, held in memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from sitewatch.model import Window
from sitewatch.outages.recurrence import RecurringSchedule, is_from_config

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
