"""Statistics for people and programs: the API's JSON, a terminal table, period bounds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sitewatch.model.durations import format_duration, parse_duration
from sitewatch.stats.compute import Period, Statistics


def iso(value: datetime | None) -> str | None:
    """Render a time as ISO 8601 in UTC with `Z`."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _minutes(value: timedelta) -> float:
    return round(value / timedelta(minutes=1), 6)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def as_json(stats: Statistics) -> dict[str, Any]:
    """Render statistics as the body of `GET /api/v1/stats`."""
    return {
        "since": iso(stats.period.since),
        "until": iso(stats.period.until),
        "customers": len(stats.customers),
        "customers_affected": stats.customers_affected,
        "customers_affected_ratio": stats.customers_affected_ratio,
        "outages": {c.value: n for c, n in stats.outages.items()},
        "by_cause": {c.value: n for c, n in stats.by_cause.items()},
        "by_cause_minutes": {c.value: _minutes(d) for c, d in stats.by_cause_downtime.items()},
        "tickets": {s.value: n for s, n in stats.tickets.items()},
        "mtta_seconds": _seconds(stats.mtta),
        "mttr_seconds": _seconds(stats.mttr),
        # Checks and customers with nothing counted (never probed) have no ratio: they
        # are left out here (every value is a number 0..1) and shown in the breakdowns.
        "availability": {
            c.check: c.availability for c in stats.checks if c.availability is not None
        },
        "availability_by_customer": {
            c.customer: c.availability for c in stats.customers if c.availability is not None
        },
        "checks": {
            c.check: {
                "customer": c.customer,
                "availability": c.availability,
                "downtime_minutes": _minutes(c.downtime),
                "counted_minutes": _minutes(c.counted),
                "counted_from": iso(c.counted_from),
                "counted_because": c.reason,
            }
            for c in stats.checks
        },
        "by_customer": {
            c.customer: {
                "name": c.name,
                "checks": list(c.checks),
                "affected": c.affected,
                "outages": {k.value: n for k, n in c.outages.items()},
                "availability": c.availability,
                "downtime_minutes": _minutes(c.downtime),
            }
            for c in stats.customers
        },
    }


def parse_bound(text: str, now: datetime) -> datetime:
    """Parse a period bound: an ISO 8601 time with an offset, `now`, or a duration ago (30d)."""
    if text.strip().lower() == "now":
        return now
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a time such as 2026-11-26T10:00:00Z nor a duration such as 30d"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no offset; add Z or +01:00")
    return parsed


def period_between(since: datetime, until: datetime, now: datetime) -> Period:
    """Return the period, ended at `now` at the latest; ValueError if it is empty or reversed.

    The future holds no data: counted, it would make a site that is down now look
    down until then.
    """
    until = min(until, now)
    if since >= until:
        raise ValueError(
            f"since ({iso(since)}) must be before until ({iso(until)}), and not in the future"
        )
    return Period(since, until)


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.3f}%"


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(timedelta(seconds=seconds))


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items())


def render_table(body: Mapping[str, Any]) -> str:
    """Render the JSON statistics (as `as_json` makes them) as a table for a terminal."""
    lines = [
        f"statistics {body['since']} .. {body['until']}",
        "",
        f"  customers          {body['customers']} configured, {body['customers_affected']}"
        f" affected ({body['customers_affected_ratio'] * 100:.1f}%)",
        f"  outages            {_counts(body['outages'])}",
        f"  tickets            {_counts(body['tickets'])}",
        f"  MTTA               {_duration(body['mtta_seconds'])}  (opened -> acknowledged)",
        f"  MTTR               {_duration(body['mttr_seconds'])}  (onset -> recovered)",
        "",
        f"  {'cause':<28} {'resolved':>8} {'downtime':>12}",
    ]
    for cause, count in body["by_cause"].items():
        downtime = _duration(body["by_cause_minutes"][cause] * 60)
        lines.append(f"  {cause:<28} {count:>8} {downtime:>12}")
    lines += ["", f"  {'check':<24} {'customer':<14} {'availability':>12} {'downtime':>12}"]
    for check, figures in body["checks"].items():
        lines.append(
            f"  {check:<24} {figures['customer']:<14} {_percent(figures['availability']):>12}"
            f" {_duration(figures['downtime_minutes'] * 60):>12}  ({figures['counted_because']})"
        )
    header = f"  {'customer':<24} {'emerg.':>6} {'overrun':>7} {'planned':>7} {'availability':>12}"
    lines += ["", header]
    for customer, figures in body["by_customer"].items():
        outages = figures["outages"]
        lines.append(
            f"  {customer:<24} {outages['emergency']:>6} {outages['overrun']:>7}"
            f" {outages['planned']:>7} {_percent(figures['availability']):>12}"
        )
    return "\n".join(lines)
