"""The window desk: declaring, changing and cancelling maintenance windows, one transaction each.

Each change reads the window locked, applies the pure rule (`outages.windows`) to
what it read, and writes the window with its audit line: a PATCH racing the
leader's tick is decided on the same row the tick reads, never on an older copy.
Windows that recur by the config (`recurring_maintenance:`) are listed and shown
beside the declared ones but change only in the config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.model import Principal, Role, Window, WindowChange, WindowState
from sitewatch.model.times import utc_iso
from sitewatch.outages import windows as rules
from sitewatch.outages.recurrence import RecurringSchedule, is_from_config
from sitewatch.outages.windows import Declaration, Rejection
from sitewatch.storage import Cursor, Store

RECURRING_HORIZON = timedelta(days=2)
"""How far ahead (and back) recurring occurrences are listed."""


class WindowDesk:
    """Read windows and act on them for a principal."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        schedule: RecurringSchedule,
        checks_of: Mapping[str, Sequence[str]],
        maximum: timedelta,
        limit: int,
        config_name: str = "the config",
    ) -> None:
        self._store = store
        self._clock = clock
        self._schedule = schedule
        self._checks_of = checks_of
        """Each customer's check ids (a window may name only its customer's checks)."""
        self._maximum = maximum
        self._limit = limit
        """How many windows not yet ended a customer may have."""
        self._config_name = config_name

    async def declare(self, who: Principal, request: Declaration) -> Window | Rejection:
        """Declare a window for `request.customer`; a planned event only if declared ahead."""
        now = self._clock.now()
        if not who.may_act_for(request.customer):
            return Rejection(403, f"{who.label} cannot declare windows for {request.customer}")
        draft = rules.declare(
            request,
            by=who.label,
            now=now,
            customer_checks=self._checks_of.get(request.customer, ()),
            maximum=self._maximum,
        )
        if isinstance(draft, Rejection):
            return draft
        scope = ", ".join(draft.checks) or "all checks"
        detail = f"{draft.kind.value} {utc_iso(draft.start)} .. {utc_iso(draft.end)} ({scope})"
        async with self._store.transaction() as tx:
            if await tx.windows.count_not_ended(request.customer, now) >= self._limit:
                return Rejection(
                    429,
                    f"customer {request.customer} already has {self._limit} windows that have "
                    "not ended (limits.windows); end or cancel some first",
                )
            return await tx.windows.add(draft, WindowChange("", now, who.label, "declared", detail))

    async def find(self, who: Principal, window_id: str) -> Window | Rejection:
        """Return a window the principal may see (404 unknown, 403 another customer's)."""
        async with self._store.reading() as tx:
            window = await tx.windows.get(window_id)
        window = window or self._schedule.find(window_id)
        return _visible(who, window, window_id)

    async def history(self, window: Window) -> list[WindowChange]:
        """Return a window's audit trail (a recurring one: its origin in the config)."""
        if is_from_config(window):
            origin = f"recurring_maintenance in {self._config_name}"
            return [
                WindowChange(window.id, window.declared_at, window.declared_by, "declared", origin)
            ]
        async with self._store.reading() as tx:
            return await tx.windows.changes(window.id)

    async def change_end(self, who: Principal, window_id: str, end: datetime) -> Window | Rejection:
        """Extend a window or end it early, while it has not ended."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            window = await tx.windows.lock(window_id)
            if window is None:
                return _not_declared(who, self._schedule.find(window_id), window_id)
            visible = _visible(who, window, window_id)
            if isinstance(visible, Rejection):
                return visible
            new_end = rules.change_end(window, end, now=now, maximum=self._maximum)
            if isinstance(new_end, Rejection):
                return new_end
            detail = f"end {utc_iso(window.end)} -> {utc_iso(new_end)}"
            changed = replace(window, end=new_end)
            await tx.windows.save(
                changed, WindowChange(window.id, now, who.label, "changed", detail)
            )
            return changed

    async def cancel(self, who: Principal, window_id: str) -> Window | Rejection:
        """Cancel a window that has not started."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            window = await tx.windows.lock(window_id)
            if window is None:
                return _not_declared(who, self._schedule.find(window_id), window_id)
            visible = _visible(who, window, window_id)
            if isinstance(visible, Rejection):
                return visible
            if rejection := rules.cancel(window, now=now):
                return rejection
            cancelled = replace(window, cancelled_at=now)
            await tx.windows.save(cancelled, WindowChange(window.id, now, who.label, "cancelled"))
            return cancelled

    async def page(
        self,
        who: Principal,
        *,
        state: WindowState | None,
        limit: int,
        after: Cursor | None = None,
    ) -> tuple[list[Window], Cursor | None]:
        """Return up to `limit` windows the principal may see, latest start first.

        Declared and recurring windows are merged in one order; `state` filters by the
        state as of now (cancelled windows stay listed).
        """
        now = self._clock.now()
        customer = None if who.role is Role.OPERATOR else who.id
        recurring = [
            w
            for w in self._schedule.between(now - RECURRING_HORIZON, now + RECURRING_HORIZON)
            if customer is None or w.customer == customer
        ]
        found: list[Window] = []
        cursor = after
        async with self._store.reading() as tx:
            while True:
                batch = await tx.windows.page(customer, limit + 1, cursor)
                found += batch
                merged = [w for w in _merged(found, recurring, after) if _in(w, state, now)]
                if len(batch) <= limit:
                    break
                # Declared windows not fetched yet are older than this batch's last one:
                # only what sorts before it is certain to be in place.
                edge = order_key(batch[-1].start, batch[-1].id)
                merged = [w for w in merged if order_key(w.start, w.id) >= edge]
                if len(merged) > limit:
                    break
                cursor = Cursor(batch[-1].start, batch[-1].id)
        more = len(merged) > limit
        merged = merged[:limit]
        last = merged[-1] if more and merged else None
        return merged, None if last is None else Cursor(last.start, last.id)


def order_key(start: datetime, window_id: str) -> tuple[datetime, int, int, str]:
    """Sort windows latest start first: by start, then recurring before declared, by id."""
    numeric = window_id.isdigit()
    return (start, 0 if numeric else 1, int(window_id) if numeric else 0, window_id)


def _merged(declared: list[Window], recurring: list[Window], after: Cursor | None) -> list[Window]:
    everything = {w.id: w for w in [*declared, *recurring]}.values()
    ordered = sorted(everything, key=lambda w: order_key(w.start, w.id), reverse=True)
    if after is None:
        return ordered
    mark = order_key(after.at, after.id)
    return [w for w in ordered if order_key(w.start, w.id) < mark]


def _in(window: Window, state: WindowState | None, now: datetime) -> bool:
    return state is None or window.state(now) is state


def _not_declared(who: Principal, window: Window | None, window_id: str) -> Rejection:
    """Refuse a change to a window that is not a declared one (unknown, or recurring)."""
    found = _visible(who, window, window_id)
    if isinstance(found, Rejection):
        return found
    return rules.config_rejection(found) or Rejection(404, f"no maintenance window {window_id!r}")


def _visible(who: Principal, window: Window | None, window_id: str) -> Window | Rejection:
    if window is None:
        return Rejection(404, f"no maintenance window {window_id!r}")
    if not who.may_act_for(window.customer):
        return Rejection(403, f"window {window.id} belongs to another customer")
    return window
