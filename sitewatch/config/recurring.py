"""The `recurring_maintenance:` section: planned events that recur on an RFC 5545 rule.

This is the schema and its cross-checks; `sitewatch.outages.recurrence` turns the
entries into windows."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as rfc5545
from pydantic import AfterValidator, BeforeValidator, model_validator

from sitewatch.config.schema import Identifier, PositiveDuration, StrictModel, Text
from sitewatch.config.yamlsource import ConfigProblem, YamlSource
from sitewatch.model import CheckSpec, MaintenanceKind

DEFAULT_STARTING = date(2026, 1, 1)
"""Where a rule without `starting` begins counting (its INTERVAL and COUNT)."""


_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


class Every(StrEnum):
    """The friendly form of the common rules: `every: sunday`, with `at: "02:00"`."""

    DAY = "day"
    WEEKDAY = "weekday"
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    def rule(self, at: time) -> str:
        """Return the RRULE this stands for, at the given local time of day."""
        if self is Every.DAY:
            head = "FREQ=DAILY"
        elif self is Every.WEEKDAY:
            head = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        else:
            head = f"FREQ=WEEKLY;BYDAY={self.value[:2].upper()}"
        return f"{head};BYHOUR={at.hour};BYMINUTE={at.minute};BYSECOND=0"


def _rule_text(value: str) -> str:
    text = value.strip().removeprefix("RRULE:").removeprefix("rrule:")
    if "\n" in text or "DTSTART" in text.upper():
        raise ValueError("write one RRULE such as FREQ=WEEKLY;BYDAY=SU;BYHOUR=2 (use `starting:`)")
    parts = dict(part.partition("=")[::2] for part in text.upper().split(";") if part)
    if parts.get("FREQ") not in _FREQUENCIES:
        raise ValueError(
            f"FREQ must be one of {', '.join(_FREQUENCIES)} (a window recurs at most daily,"
            " several times a day with BYHOUR), such as FREQ=WEEKLY;BYDAY=SU;BYHOUR=2"
        )
    if not parts.get("INTERVAL", "1").isdigit() or int(parts.get("INTERVAL", "1")) < 1:
        raise ValueError("INTERVAL must be a whole number of at least 1")
    if parts.get("UNTIL", "").endswith("Z"):
        raise ValueError("UNTIL is read in the entry's timezone: write it without Z")
    try:
        parsed = rfc5545.rrulestr(text, dtstart=datetime(2026, 1, 1))
    except ValueError as exc:
        raise ValueError(f"not a valid RRULE: {exc}") from None
    if not isinstance(parsed, rfc5545.rrule) or parsed.after(datetime.min, inc=True) is None:
        raise ValueError("the rule never occurs")
    return text


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return value


def _time_of_day(value: object) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 14:30 as the base-60 number 870.
        raise ValueError('write the time of day in quotes, such as "02:00"')
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip()) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'expected a local time of day from "00:00" to "23:59", got {value!r}')
    return time(int(match[1]), int(match[2]))


class RecurringMaintenance(StrictModel):
    """One `recurring_maintenance:` entry: a planned event that comes back on a rule."""

    customer: Identifier
    checks: tuple[Identifier, ...] = ()
    kind: MaintenanceKind
    rrule: RuleText | None = None
    every: Every | None = None
    at: TimeOfDay | None = None
    duration: PositiveDuration
    timezone: ZoneName = "UTC"
    starting: date = DEFAULT_STARTING
    note: Text = ""

    @model_validator(mode="after")
    def _one_rule(self) -> Self:
        if (self.rrule is None) == (self.every is None):
            raise ValueError("give either rrule (an RFC 5545 rule) or every with at, not both")
        if (self.every is None) != (self.at is None):
            raise ValueError('every needs at (such as every: sunday, at: "02:00"), and only it')
        return self

    @property
    def rule(self) -> str:
        """Return the RRULE of this entry, however it was written."""
        if self.every is not None and self.at is not None:
            return self.every.rule(self.at)
        assert self.rrule is not None
        return self.rrule

    @property
    def digest(self) -> str:
        """Name this entry by its content: ids stay put when entries are reordered."""
        content: list[object] = [self.customer, sorted(self.checks), self.kind.value]
        content += [self.rule.upper(), self.duration.total_seconds(), self.timezone]
        content.append(self.starting.isoformat())
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Naming:
    """What a recurring entry names, as written: a customer, and checks (None: not a string).

    Read from the file, not from the validated entry, so that an entry with another
    problem still has its names checked in the same run.
    """

    customer: str
    checks: tuple[str | None, ...] = ()

    @classmethod
    def written(cls, raw: object) -> Naming | None:
        """Read the names of one raw entry; None if it names no customer."""
        if not isinstance(raw, dict) or not isinstance(raw.get("customer"), str):
            return None
        checks = raw.get("checks")
        names = (
            tuple(c if isinstance(c, str) else None for c in checks or ())
            if isinstance(checks, list)
            else ()
        )
        return cls(raw["customer"], names)


def recurring_problems(
    source: YamlSource,
    entries: Sequence[Naming | None],
    customers: Collection[str],
    checks: Sequence[CheckSpec],
    *,
    all_checks_loaded: bool = True,
) -> list[ConfigProblem]:
    """Check what the schema cannot: the customers and checks the entries name.

    When some check file has problems of its own, a check that is not found may be
    in that file: it is not reported as unknown, which would send the user hunting.
    A None in `entries` names nothing to check; it keeps the others' places.
    """
    owner = {check.id: check.customer for check in checks}
    problems = []
    for i, entry in enumerate(entries):
        if entry is None:
            continue
        where: tuple[str | int, ...] = ("recurring_maintenance", i)
        if entry.customer not in customers:
            known = ", ".join(sorted(customers)) or "none"
            message = f"unknown customer {entry.customer!r} (customers: {known})"
            problems.append(source.problem((*where, "customer"), message))
            continue
        for j, check in enumerate(entry.checks):
            if check is None or (check not in owner and not all_checks_loaded):
                continue
            if owner.get(check) != entry.customer:
                whose = f"a check of customer {owner[check]}" if check in owner else "unknown"
                message = f"check {check!r} is {whose}; name checks of {entry.customer} only"
                problems.append(source.problem((*where, "checks", j), message))
    return problems


RuleText = Annotated[str, AfterValidator(_rule_text)]


ZoneName = Annotated[str, AfterValidator(_zone_name)]


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
