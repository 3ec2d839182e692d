"""On-call schedules: who is on call for a name at an instant, and why.

Pure: no clock and no I/O; every function takes the instant `at`. Rotations count
shifts in local calendar days so that a 09:00 hand-off stays at 09:00 local across
daylight-saving changes. Every instant returned is in UTC (see `model.oncall.utc_instant`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sitewatch.model.oncall import Schedule, utc_instant

if TYPE_CHECKING:
    from sitewatch.config.settings import Settings

__all__ = [
    "Coverage",
    "NobodyReason",
    "Reached",
    "Resolution",
    "Resolver",
    "Unresolved",
    "coverage",
    "next_handoff",
    "on_call",
]


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
class Coverage:
    """Who is on call in one schedule at one instant, and why (or why nobody)."""

    operators: tuple[str, ...]
    why: str
    nobody: NobodyReason | None = None


def coverage(schedule: Schedule, at: datetime) -> Coverage:
    """Decide who is on call in `schedule` at `at`: overrides first, then the rotation."""
    at = utc_instant(at)
    where = f"schedule {schedule.id!r} at {_local(at, schedule.timezone)}"
    active = [override for override in schedule.overrides if override.covers(at)]
    if active:
        until = _local(min(utc_instant(override.end) for override in active), schedule.timezone)
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
    now = utc_instant(at)
    current = on_call(schedule, now)
    edges = sorted(
        {
            utc_instant(e)
            for o in schedule.overrides
            for e in (o.start, o.end)
            if utc_instant(e) > now
        }
    )
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


def _local(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M %Z}"


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
