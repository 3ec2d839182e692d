"""The `schedules:` config section -> frozen `oncall.Schedule` objects, or located problems.

The schema parses each value (time zone, shift, hand-off time, dates, instants);
`schedule_problems` checks what needs the whole config (known operators, ids that
do not clash, overrides that end after they start); `build_schedules` converts a
valid section into the pure model.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from sitewatch.config.schema import Identifier, StrictModel, Text
from sitewatch.config.yamlsource import ConfigProblem, YamlSource
from sitewatch.model import Override, Rotation, Schedule, Weekday
from sitewatch.model.durations import MAX_DURATION, parse_duration

__all__ = ["ScheduleEntry", "build_schedules", "schedule_problems"]

_WEEKS = re.compile(r"^\s*(\d+)\s*w\s*$")
_TIME_OF_DAY = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_INSTANT_EXAMPLE = "such as 2026-12-24T09:00:00+01:00 or 2026-12-24T08:00:00Z"


def _zone_name(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(value, zoneinfo.available_timezones(), n=1)
        hint = f"did you mean {close[0]}?" if close else "such as Europe/Berlin or UTC"
        raise ValueError(f"unknown time zone {value!r}: use an IANA name ({hint})") from None
    return value


def _shift(value: object) -> timedelta:
    message = f"a shift is a whole number of days, such as 1d, 7d or 1w, got {value!r}"
    weeks = _WEEKS.match(value) if isinstance(value, str) else None
    try:
        shift = timedelta(weeks=int(weeks.group(1))) if weeks else parse_duration(value)
    except (ValueError, OverflowError):
        raise ValueError(message) from None
    if shift > MAX_DURATION:
        raise ValueError(f"a shift may be at most 36500d (100 years), got {value!r}")
    # Whole days only: hand-offs happen at one local time of day, and a day is not
    # always 24 hours long.
    if shift <= timedelta(0) or shift % timedelta(days=1):
        raise ValueError(message)
    return shift


def _handoff(value: object) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 10:00 as the base-60 number 600.
        hours, minutes = divmod(value, 60)
        raise ValueError(f'put the time in quotes: "{hours:02}:{minutes:02}" (YAML read a number)')
    match = _TIME_OF_DAY.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f'expected a local time of day such as "09:00", got {value!r}')
    return time(int(match.group(1)), int(match.group(2)))


def _local_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a local date such as 2026-11-02, got {value!r}")


def _weekday(value: object) -> Weekday:
    name = value.strip().upper() if isinstance(value, str) else ""
    for day in Weekday:
        if name and (day.name == name or day.name[:3] == name):
            return day
    raise ValueError(f"expected a day of the week such as monday, got {value!r}")


def _instant(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"expected a date and time {_INSTANT_EXAMPLE}, got {value!r}"
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(f"expected a date and time {_INSTANT_EXAMPLE}, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"needs a UTC offset ({_INSTANT_EXAMPLE}): without one it is ambiguous")
    return value


ZoneName = Annotated[str, Field(strict=True), AfterValidator(_zone_name)]
Instant = Annotated[datetime, BeforeValidator(_instant)]


class RotationEntry(StrictModel):
    """A rotation as written: `operators`, `shift`, `handoff`, `start`, `handoff_weekday`."""

    operators: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    shift: Annotated[timedelta, BeforeValidator(_shift)]
    handoff: Annotated[time, BeforeValidator(_handoff)]
    start: Annotated[date, BeforeValidator(_local_date)]
    handoff_weekday: Annotated[Weekday, BeforeValidator(_weekday)] | None = None


class OverrideEntry(StrictModel):
    """An override as written: `operator`, `start`, `end`, `note`."""

    operator: Identifier
    start: Instant
    end: Instant
    note: Text | None = None


class ScheduleEntry(StrictModel):
    """One item of `schedules:` as written."""

    id: Identifier
    timezone: ZoneName
    rotation: RotationEntry | None = None
    overrides: tuple[OverrideEntry, ...] = ()


def schedule_problems(
    source: YamlSource, schedules: Sequence[ScheduleEntry | None], operators: Collection[str]
) -> list[ConfigProblem]:
    """Check what the schema cannot: known operators, distinct ids, consistent times.

    A None in `schedules` is an entry the schema refused: it keeps the others' places.
    """
    problems: list[ConfigProblem] = []
    known = ", ".join(operators) or "none"
    for i, schedule in enumerate(schedules):
        if schedule is None:
            continue
        at = ("schedules", i)
        if schedule.id in operators:
            message = f"{schedule.id!r} is an operator id too: escalation levels name either"
            problems.append(source.problem((*at, "id"), message))
        if schedule.rotation is None and not schedule.overrides:
            message = "a schedule needs a rotation or at least one override"
            problems.append(source.problem(at, message))
        rotation = schedule.rotation
        if rotation is not None:
            for j, name in enumerate(rotation.operators):
                if name not in operators:
                    message = f"unknown operator {name!r} (operators: {known})"
                    problems.append(source.problem((*at, "rotation", "operators", j), message))
            problems += _weekday_problems(source, (*at, "rotation"), rotation)
        for j, override in enumerate(schedule.overrides):
            where = (*at, "overrides", j)
            if override.operator not in operators:
                message = f"unknown operator {override.operator!r} (operators: {known})"
                problems.append(source.problem((*where, "operator"), message))
            if override.end <= override.start:
                message = f"must be after start ({override.start.isoformat()})"
                problems.append(source.problem((*where, "end"), message))
    return problems


def _weekday_problems(
    source: YamlSource, at: tuple[str | int, ...], rotation: RotationEntry
) -> list[ConfigProblem]:
    weekday = rotation.handoff_weekday
    if weekday is None:
        return []
    problems = []
    if rotation.start.weekday() != weekday:
        actual = Weekday(rotation.start.weekday()).name.lower()
        message = f"{rotation.start} is a {actual}, but handoff_weekday is {weekday.name.lower()}"
        problems.append(source.problem((*at, "start"), message))
    if rotation.shift.days % 7:
        message = "must be whole weeks (such as 1w or 2w) when handoff_weekday is set"
        problems.append(source.problem((*at, "shift"), message))
    return problems


def build_schedules(entries: Sequence[ScheduleEntry]) -> tuple[Schedule, ...]:
    """Convert a valid `schedules:` section into the on-call model."""
    schedules = []
    for entry in entries:
        zone = zoneinfo.ZoneInfo(entry.timezone)
        rotation = None
        if entry.rotation is not None:
            written = entry.rotation
            rotation = Rotation(
                operators=written.operators,
                shift=written.shift,
                handoff=written.handoff,
                start=written.start,
                timezone=zone,
                handoff_weekday=written.handoff_weekday,
            )
        overrides = tuple(Override(o.operator, o.start, o.end, o.note) for o in entry.overrides)
        schedules.append(Schedule(entry.id, zone, rotation, overrides))
    return tuple(schedules)
