"""Times as the console shows and reads them: in a customer's zone, with UTC beside.

A customer's times are shown and entered in its `timezone` (config, default UTC):
a window's start and end belong to its customer, so an operator looking at acme's
window sees acme's wall clock too, always with the UTC time beside it. Times that
belong to nobody in particular (a ticket's onset, an instance's heartbeat) are UTC.

Browsers send `<input type="datetime-local">` as `YYYY-MM-DDTHH:MM[:SS]` without a
zone. A wall time that a daylight-saving change skips (02:30 on a spring-forward
night) is refused: it names no instant. One that happens twice (02:30 on a
fall-back night) means its first occurrence, as calendar applications read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sitewatch.config.settings import Settings
from sitewatch.model.durations import format_duration

_LOCAL_INPUT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?$"
)


def zone_of(settings: Settings, customer_id: str | None) -> ZoneInfo:
    """Return a customer's time zone (UTC for an unknown customer or none)."""
    customer = settings.customer(customer_id) if customer_id else None
    return ZoneInfo(customer.timezone if customer else "UTC")


@dataclass(frozen=True, slots=True)
class Moment:
    """One instant, ready to show: local wall time, UTC, ISO 8601 and how far from now."""

    local: str
    """`2026-11-26 11:00 CET`: in the zone it is shown in."""
    utc: str
    """`2026-11-26 10:00 UTC`."""
    iso: str
    """`2026-11-26T10:00:00Z`, for `<time datetime>`."""
    relative: str
    """`in 2h`, `5m ago`."""
    is_utc: bool
    """The zone is UTC: the UTC time beside it would repeat the local one."""


def moment(at: datetime, zone: tzinfo, now: datetime) -> Moment:
    """Describe an instant for the page."""
    local = at.astimezone(zone)
    utc = at.astimezone(UTC)
    gap = now - at
    if abs(gap) < timedelta(seconds=1):
        relative = "now"
    elif gap > timedelta(0):
        relative = f"{format_duration(_whole(gap))} ago"
    else:
        relative = f"in {format_duration(_whole(-gap))}"
    return Moment(
        local=f"{local:%Y-%m-%d %H:%M} {local.tzname()}",
        utc=f"{utc:%Y-%m-%d %H:%M} UTC",
        iso=utc.isoformat(timespec="seconds").replace("+00:00", "Z"),
        relative=relative,
        is_utc=local.utcoffset() == timedelta(0) and local.tzname() in {"UTC", "GMT"},
    )


def _whole(gap: timedelta) -> timedelta:
    """Round a distance to what a reader needs: seconds under an hour, minutes above."""
    if gap >= timedelta(hours=1):
        return timedelta(minutes=gap // timedelta(minutes=1))
    return timedelta(seconds=gap // timedelta(seconds=1))


def local_input(at: datetime, zone: tzinfo) -> str:
    """Return the value of a `datetime-local` input showing `at` in `zone`."""
    return f"{at.astimezone(zone):%Y-%m-%dT%H:%M}"


def zone_label(zone: ZoneInfo, at: datetime) -> str:
    """Name a zone for a form label: `Europe/Berlin, UTC+01:00` (as of `at`), or `UTC`."""
    if zone.key == "UTC":
        return "UTC"
    offset = at.astimezone(zone).utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    hours, rest = divmod(abs(offset), timedelta(hours=1))
    minutes = rest // timedelta(minutes=1)
    return f"{zone.key}, UTC{sign}{hours:02}:{minutes:02}"


def parse_local(text: str, zone: ZoneInfo) -> datetime | str:
    """Read a wall time typed in `zone`; return the instant in UTC, or what is wrong."""
    found = _LOCAL_INPUT.match(text.strip())
    if found is None:
        return f"{text.strip()!r} is not a date and time such as 2026-11-26T22:00"
    year, month, day, hour, minute = (int(found.group(i)) for i in range(1, 6))
    second = int(found.group(6) or 0)
    try:
        wall = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        instant = wall.astimezone(UTC)
    except (ValueError, OverflowError):
        return f"{text.strip()!r} is not a date and time such as 2026-11-26T22:00"
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return (
            f"{wall:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks skip it"
            " (daylight saving time); choose another time"
        )
    return instant
