"""On-call schedules: who is on call for a name at an instant, and why.

Pure: no clock and no I/O; every function takes the instant `at`. Rotations count
shifts in local calendar days so that a 09:00 hand-off stays at 09:00 local across
daylight-saving changes. Every instant returned is in UTC (see `_utc`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sitewatch.settings import Settings

__all__ = [
    "Coverage",
    "NobodyReason",
    "Override",
    "Reached",
    "Resolution",
    "Resolver",
    "Rotation",
    "Schedule",
    "Shift",
    "Unresolved",
    "Weekday",
    "coverage",
    "next_handoff",
    "on_call",
]


class Weekday(IntEnum):
    """A day of the week, numbered as `date.weekday()` numbers them."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class NobodyReason(StrEnum):
    """Why a name in an escalation level reached nobody."""

    EMPTY_SCHEDULE = "empty-schedule"
    """The schedule has no rotation and no override at all."""
    GAP = "gap"
    """Nobody is on call at this instant: the rotation has not started yet, or only
    overrides cover the schedule and none covers this instant."""
    UNKNOWN_TARGET = "unknown-target"
    """The name is neither an operator id nor a schedule id."""


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
        at = _utc(at)
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
        if _utc(self.end) <= _utc(self.start):
            raise ValueError("an override must end after it starts")

    def covers(self, at: datetime) -> bool:
        """Tell whether `at` falls in `[start, end)`."""
        return _utc(self.start) <= _utc(at) < _utc(self.end)


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


@dataclass(frozen=True, slots=True)
class Coverage:
    """Who is on call in one schedule at one instant, and why (or why nobody)."""

    operators: tuple[str, ...]
    why: str
    nobody: NobodyReason | None = None


def coverage(schedule: Schedule, at: datetime) -> Coverage:
    """Decide who is on call in `schedule` at `at`: overrides first, then the rotation."""
    at = _utc(at)
    where = f"schedule {schedule.id!r} at {_local(at, schedule.timezone)}"
    active = [override for override in schedule.overrides if override.covers(at)]
    if active:
        until = _local(min(_utc(override.end) for override in active), schedule.timezone)
        return Coverage(_unique(o.operator for o in active), f"{where}: an override until {until}")
    if schedule.rotation is None:
        if not schedule.overrides:
            return Coverage(
                (), f"{where}: no rotation and no override", NobodyReason.EMPTY_SCHEDULE
            )
        return Coverage((), f"{where}: no override covers this time", NobodyReason.GAP)
    shift = schedule.rotation.shift_at(at)
    if shift is None:
        first = _local(schedule.rotation.handoff_on(schedule.rotation.start), schedule.timezone)
        return Coverage((), f"{where}: the rotation starts at {first}", NobodyReason.GAP)
    start, end = (_local(t, schedule.timezone) for t in (shift.start, shift.end))
    return Coverage((shift.operator,), f"{where}: shift {shift.index} from {start} to {end}")


def on_call(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    """Return the operators on call in `schedule` at `at` (empty: nobody)."""
    return coverage(schedule, at).operators


def next_handoff(schedule: Schedule, at: datetime) -> datetime | None:
    """Return the first UTC instant after `at` at which who is on call changes.

    Changes happen only at boundaries: rotation hand-offs and override starts and
    ends. A boundary that changes nothing (a hand-off under an override, or from an
    operator to the same one) is passed over. None: it never changes again.
    """
    now = _utc(at)
    current = on_call(schedule, now)
    edges = sorted({_utc(e) for o in schedule.overrides for e in (o.start, o.end) if _utc(e) > now})
    rotation = schedule.rotation
    unchanged = 0
    while True:
        boundary = edges[0] if edges else None
        # Hand-offs change nothing while an override covers `now`; and once more
        # hand-offs in a row than the rotation has operators changed nothing, the
        # rotation has shown every operator it ever will.
        if (
            rotation is not None
            and unchanged <= len(rotation.operators)
            and not any(override.covers(now) for override in schedule.overrides)
        ):
            shift = rotation.shift_at(now)
            handoff = rotation.handoff_on(rotation.start) if shift is None else shift.end
            if boundary is None or handoff < boundary:
                boundary, unchanged = handoff, unchanged + 1
        if boundary is None:
            return None
        if on_call(schedule, boundary) != current:
            return boundary
        if edges and boundary == edges[0]:
            edges.pop(0)
            unchanged = 0
        now = boundary


@dataclass(frozen=True, slots=True)
class Reached:
    """An operator to page, and the name in the escalation level that led to them."""

    operator: str
    target: str


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A name in an escalation level that reached nobody: raise the alarm."""

    target: str
    reason: NobodyReason
    detail: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The operators an escalation level reaches at one instant, and the names that failed."""

    reached: tuple[Reached, ...]
    unresolved: tuple[Unresolved, ...]

    @property
    def operators(self) -> tuple[str, ...]:
        """Return the operator ids reached, without repeats, in the level's order."""
        return tuple(reach.operator for reach in self.reached)

    @property
    def nobody(self) -> bool:
        """Tell whether the level reached no operator at all."""
        return not self.reached


class Resolver:
    """Turn escalation targets (operator ids and schedule ids) into operators on call."""

    def __init__(self, operators: Collection[str], schedules: Iterable[Schedule]) -> None:
        self._operators = frozenset(operators)
        self._schedules = {schedule.id: schedule for schedule in schedules}
        # The config rejects both; a resolver built around them would page wrongly.
        clash = self._operators & self._schedules.keys()
        if clash:
            raise ValueError(f"ids used for both an operator and a schedule: {sorted(clash)}")
        for schedule in self._schedules.values():
            unknown = schedule.operators - self._operators
            if unknown:
                raise ValueError(f"schedule {schedule.id!r} names unknown {sorted(unknown)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Resolver:
        """Build the resolver for the configured operators and schedules."""
        return cls([operator.id for operator in settings.operators], settings.schedules)

    def resolve(self, targets: Sequence[str], at: datetime) -> Resolution:
        """Decide whom `targets` reach at `at`; list every name that reaches nobody."""
        reached: dict[str, Reached] = {}
        unresolved: list[Unresolved] = []
        for target in targets:
            if target in self._operators:
                reached.setdefault(target, Reached(target, target))
                continue
            schedule = self._schedules.get(target)
            if schedule is None:
                detail = f"{target!r} is neither an operator nor a schedule"
                unresolved.append(Unresolved(target, NobodyReason.UNKNOWN_TARGET, detail))
                continue
            found = coverage(schedule, at)
            if found.nobody is not None:
                unresolved.append(Unresolved(target, found.nobody, found.why))
            for operator in found.operators:
                reached.setdefault(operator, Reached(operator, target))
        return Resolution(tuple(reached.values()), tuple(unresolved))


def _utc(at: datetime) -> datetime:
    # Compare and subtract only in UTC: Python compares two datetimes that share one
    # ZoneInfo by wall time, ignoring their offsets, so the two 02:30s of a fall-back
    # night would compare equal and a 23 h shift would subtract to 24 h.
    if at.tzinfo is None:
        raise ValueError(f"an on-call instant needs a time zone, got {at.isoformat()}")
    return at.astimezone(UTC)


def _local(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M %Z}"


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
