"""On-call schedules as values: rotations handing off at a local time, and overrides.

The rules that read them (who is on call at an instant, and why) are in
`sitewatch.paging.oncall`; `sitewatch.config.schedules` builds them from the config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    pass


class Weekday(IntEnum):
    """A day of the week, numbered as `date.weekday()` numbers them."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


@dataclass(frozen=True, slots=True)
class Shift:
    """One operator's turn in a rotation: `[start, end)`, UTC instants."""

    index: int
    operator: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Rotation:
    """Operators taking turns, `shift` whole days each, handing off at a local time.

    The first shift (operators[0]) begins at `handoff` on the local date `start`;
    shift k belongs to operators[k % len(operators)]. `handoff_weekday`, when set,
    is a safeguard for weekly rotations: `start` must fall on it.
    """

    operators: tuple[str, ...]
    shift: timedelta
    handoff: time
    start: date
    timezone: ZoneInfo
    handoff_weekday: Weekday | None = None

    def __post_init__(self) -> None:
        # The config reports these as located problems first; reaching them is a bug.
        if not self.operators:
            raise ValueError("a rotation needs at least one operator")
        if self.shift <= timedelta(0) or self.shift % timedelta(days=1):
            raise ValueError(f"a shift must be a whole number of days, got {self.shift}")
        if self.handoff_weekday is not None and self.start.weekday() != self.handoff_weekday:
            raise ValueError(f"start {self.start} does not fall on {self.handoff_weekday.name}")

    def handoff_on(self, day: date) -> datetime:
        """Return the UTC instant of the hand-off on the local date `day`.

        A hand-off time that does not exist on `day` (02:30 on a spring-forward
        night) or exists twice (02:30 on a fall-back night) follows RFC 5545, as
        calendar applications do: a missing wall time is read with the UTC offset in
        force before the gap (so 02:30 becomes 03:30 summer time), and a repeated
        one means its first occurrence. Both are Python's `fold=0`.
        """
        return datetime.combine(day, self.handoff, tzinfo=self.timezone).astimezone(UTC)

    def shift_at(self, at: datetime) -> Shift | None:
        """Return the shift that contains `at`, or None before the first one begins."""
        at = utc_instant(at)
        # Count local calendar days, not UTC seconds: shift k begins at the hand-off
        # on local date start + k * days, so the hand-off keeps its wall-clock time
        # and the shift across a DST change is 23 h or 25 h long. (Seconds since
        # the first hand-off would move a 09:00 hand-off to 08:00 or 10:00 for half
        # the year.) The rota day of `at` is its local date, or the day before if
        # that date's hand-off is still to come; the incoming operator owns the
        # hand-off instant itself.
        day = at.astimezone(self.timezone).date()
        if at < self.handoff_on(day):
            day -= timedelta(days=1)
        elapsed = (day - self.start).days
        if elapsed < 0:
            return None
        days = self.shift.days
        index = elapsed // days
        first_day = self.start + timedelta(days=index * days)
        return Shift(
            index=index,
            operator=self.operators[index % len(self.operators)],
            start=self.handoff_on(first_day),
            end=self.handoff_on(first_day + timedelta(days=days)),
        )


@dataclass(frozen=True, slots=True)
class Override:
    """`operator` is on call from `start` (inclusive) to `end` (exclusive)."""

    operator: str
    start: datetime
    end: datetime
    note: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("override times need a UTC offset")
        if utc_instant(self.end) <= utc_instant(self.start):
            raise ValueError("an override must end after it starts")

    def covers(self, at: datetime) -> bool:
        """Tell whether `at` falls in `[start, end)`."""
        return utc_instant(self.start) <= utc_instant(at) < utc_instant(self.end)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Who is on call for one name: a rotation, and overrides that win over it."""

    id: str
    timezone: ZoneInfo
    rotation: Rotation | None = None
    overrides: tuple[Override, ...] = ()

    @property
    def operators(self) -> frozenset[str]:
        """Return every operator this schedule can ever put on call."""
        names = set(self.rotation.operators if self.rotation else ())
        names.update(override.operator for override in self.overrides)
        return frozenset(names)


def utc_instant(at: datetime) -> datetime:
    """Return an aware instant in UTC; refuse a naive one."""
    # Compare and subtract only in UTC: Python compares two datetimes that share one
    # ZoneInfo by wall time, ignoring their offsets, so the two 02:30s of a fall-back
    # night would compare equal and a 23 h shift would subtract to 24 h.
    if at.tzinfo is None:
        raise ValueError(f"an on-call instant needs a time zone, got {at.isoformat()}")
    return at.astimezone(UTC)
