"""Outage statistics: pure accounting over stored outages and tickets for one period.

`compute` decides everything and returns figures with the reason each check was
counted from where it was; `statsreader.py` is the I/O around it. The accounting
rule for users is in `docs/statistics.md`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sitewatch.model import Cause, Classification, OutageRecord, Ticket, TicketState

DEFAULT_SPAN = timedelta(days=30)
"""The period `GET /api/v1/stats` and `sitewatch stats` cover unless told otherwise."""

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Period:
    """The half-open span `since <= t < until` that statistics cover."""

    since: datetime
    until: datetime

    def clip(self, start: datetime, end: datetime | None) -> Interval | None:
        """Return `[start, end)` cut to this period (an open end runs to `until`)."""
        lo, hi = max(start, self.since), min(end or self.until, self.until)
        return (lo, hi) if lo < hi else None


@dataclass(frozen=True, slots=True)
class History:
    """What the store holds about a period."""

    outages: Sequence[OutageRecord]
    tickets: Sequence[Ticket]
    first_results: Mapping[str, datetime]
    """Each check's earliest probe result the store still holds."""
    horizon: datetime | None = None
    """Results older than this may have been pruned: a first result at or before it
    only proves the check is at least that old."""


@dataclass(frozen=True, slots=True)
class CheckFigures:
    """One check's accounting: how long it was counted and how long it was down."""

    check: str
    customer: str
    counted_from: datetime | None
    """Where counting starts within the period; None when nothing was counted."""
    reason: str
    counted: timedelta
    downtime: timedelta

    @property
    def availability(self) -> float | None:
        """Return the share of counted time the check was not down (None if none counted)."""
        return _ratio(self.counted - self.downtime, self.counted)


@dataclass(frozen=True, slots=True)
class CustomerFigures:
    """One configured customer's share of the statistics."""

    customer: str
    name: str
    checks: tuple[str, ...]
    outages: Mapping[Classification, int]
    counted: timedelta
    downtime: timedelta

    @property
    def affected(self) -> bool:
        """Tell whether the customer had an emergency or an overrun (planned ones do not count)."""
        return bool(self.outages[Classification.EMERGENCY] + self.outages[Classification.OVERRUN])

    @property
    def availability(self) -> float | None:
        """Return the availability of its checks, weighted by counted time."""
        return _ratio(self.counted - self.downtime, self.counted)


@dataclass(frozen=True, slots=True)
class Statistics:
    """Outage statistics of one period."""

    period: Period
    customers: tuple[CustomerFigures, ...]
    checks: tuple[CheckFigures, ...]
    outages: Mapping[Classification, int]
    by_cause: Mapping[Cause, int]
    by_cause_downtime: Mapping[Cause, timedelta]
    tickets: Mapping[TicketState, int]
    mtta: timedelta | None
    mttr: timedelta | None

    @property
    def customers_affected(self) -> int:
        """Count the configured customers with an emergency or overrun outage."""
        return sum(1 for c in self.customers if c.affected)

    @property
    def customers_affected_ratio(self) -> float:
        """Return the affected share of the configured customers (0 when there are none)."""
        return self.customers_affected / len(self.customers) if self.customers else 0.0


def compute(
    period: Period,
    checks: Mapping[str, str],
    customers: Mapping[str, str],
    history: History,
) -> Statistics:
    """Account for one period: `checks` maps check ids to customer ids, `customers` ids to names."""
    outages = [o for o in history.outages if period.clip(o.onset_at, o.recovered_at)]
    tickets = [t for t in history.tickets if period.clip(t.onset_at, t.recovered_at)]
    figures = tuple(
        _check_figures(check, customer, period, outages, history)
        for check, customer in sorted(checks.items())
    )
    resolved = [t for t in tickets if t.state is TicketState.RESOLVED and t.cause is not None]
    return Statistics(
        period=period,
        customers=tuple(
            _customer_figures(cid, name, figures, outages)
            for cid, name in sorted(customers.items())
        ),
        checks=figures,
        outages=_by_classification(outages),
        by_cause={cause: sum(1 for t in resolved if t.cause is cause) for cause in Cause},
        by_cause_downtime=_downtime_by_cause(resolved, outages, period),
        tickets={state: sum(1 for t in tickets if t.state is state) for state in TicketState},
        mtta=_mean(
            t.acknowledged_at - t.opened_at for t in tickets if t.acknowledged_at is not None
        ),
        mttr=_mean(t.recovered_at - t.onset_at for t in tickets if t.recovered_at is not None),
    )


def counted_from(
    period: Period,
    first_result: datetime | None,
    first_onset: datetime | None,
    horizon: datetime | None,
) -> tuple[datetime | None, str]:
    """Decide where a check's counting starts in the period, and say why.

    Time before a check's first known result (its first probe, or the onset of its
    first outage if that is earlier) is neither up nor down: it is not counted.
    """
    known = [t for t in (first_result, first_onset) if t is not None]
    if not known:
        return None, "never probed"
    first = min(known)
    if first <= period.since:
        return period.since, "probed since before the period"
    if first_result is not None and horizon is not None and first_result <= horizon:
        # Earlier results may have been pruned: the check is at least this old.
        return period.since, "probed since before the oldest results kept"
    if first >= period.until:
        return None, f"first probed at {_stamp(first)}, after the period"
    return first, f"first probed at {_stamp(first)}"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def downtime_interval(outage: OutageRecord) -> tuple[datetime, datetime | None] | None:
    """Return the part of an outage that is downtime, or None for a planned outage.

    An overrun is down only from the moment it became an emergency (its window's
    end plus grace); its planned part before that is not downtime.
    """
    if outage.classification is Classification.EMERGENCY:
        return outage.onset_at, outage.recovered_at
    if outage.classification is Classification.OVERRUN:
        return outage.overrun_at or outage.onset_at, outage.recovered_at
    return None


def _check_figures(
    check: str,
    customer: str,
    period: Period,
    outages: Sequence[OutageRecord],
    history: History,
) -> CheckFigures:
    own = [o for o in outages if o.check == check]
    first_onset = min((o.onset_at for o in own), default=None)
    start, reason = counted_from(
        period, history.first_results.get(check), first_onset, history.horizon
    )
    if start is None:
        return CheckFigures(check, customer, None, reason, timedelta(0), timedelta(0))
    counted = Period(start, period.until)
    return CheckFigures(
        check=check,
        customer=customer,
        counted_from=start,
        reason=reason,
        counted=period.until - start,
        downtime=_union_length(_downtimes(own, counted)),
    )


def _customer_figures(
    customer: str, name: str, checks: Sequence[CheckFigures], outages: Sequence[OutageRecord]
) -> CustomerFigures:
    own = [c for c in checks if c.customer == customer]
    return CustomerFigures(
        customer=customer,
        name=name,
        checks=tuple(c.check for c in own),
        outages=_by_classification(o for o in outages if o.customer == customer),
        counted=sum((c.counted for c in own), timedelta(0)),
        downtime=sum((c.downtime for c in own), timedelta(0)),
    )


def _downtimes(outages: Iterable[OutageRecord], period: Period) -> list[Interval]:
    clipped = []
    for outage in outages:
        down = downtime_interval(outage)
        span = None if down is None else period.clip(*down)
        if span is not None:
            clipped.append(span)
    return clipped


def _union_length(intervals: Iterable[Interval]) -> timedelta:
    """Measure the union of intervals (overlaps counted once)."""
    total, reach = timedelta(0), None
    for start, end in sorted(intervals):
        fresh = start if reach is None else max(start, reach)
        if end > fresh:
            total += end - fresh
            reach = end
    return total


def _downtime_by_cause(
    resolved: Sequence[Ticket], outages: Sequence[OutageRecord], period: Period
) -> dict[Cause, timedelta]:
    by_key = {(o.check, o.onset_at): o for o in outages}
    totals = dict.fromkeys(Cause, timedelta(0))
    for ticket in resolved:
        assert ticket.cause is not None
        outage = by_key.get((ticket.check, ticket.onset_at))
        spans = _downtimes([outage], period) if outage else []
        totals[ticket.cause] += _union_length(spans)
    return totals


def _by_classification(outages: Iterable[OutageRecord]) -> dict[Classification, int]:
    counts = Counter(o.classification for o in outages)
    return {c: counts[c] for c in Classification}


def _mean(durations: Iterable[timedelta]) -> timedelta | None:
    values = [max(d, timedelta(0)) for d in durations]
    return sum(values, timedelta(0)) / len(values) if values else None


def _ratio(part: timedelta, whole: timedelta) -> float | None:
    return part / whole if whole > timedelta(0) else None
