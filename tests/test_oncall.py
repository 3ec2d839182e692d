"""On-call schedules: who is on call at an instant, across hand-offs, overrides and DST."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from sitewatch.config.loader import ConfigError, load_settings
from sitewatch.model import Override, Rotation, Schedule, Weekday
from sitewatch.paging.oncall import (
    NobodyReason,
    Reached,
    Resolver,
    Unresolved,
    coverage,
    next_handoff,
    on_call,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    """Parse an ISO instant; every instant in these tables carries its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def rotation(
    operators: str = "alice bob",
    *,
    shift: timedelta = timedelta(days=1),
    handoff: str = "09:00",
    start: str = "2026-11-02",
    zone: ZoneInfo = BERLIN,
    weekday: Weekday | None = None,
) -> Rotation:
    return Rotation(
        operators=tuple(operators.split()),
        shift=shift,
        handoff=time.fromisoformat(handoff),
        start=date.fromisoformat(start),
        timezone=zone,
        handoff_weekday=weekday,
    )


def schedule(rota: Rotation | None, *overrides: Override, zone: ZoneInfo = BERLIN) -> Schedule:
    return Schedule("primary", zone, rota, overrides)


def override(operator: str, start: str, end: str) -> Override:
    return Override(operator, at(start), at(end), note=f"{operator} covers")


# --- Rotations: whose shift contains the instant -----------------------------------


@dataclass(frozen=True)
class OnCallCase:
    name: str
    at: str
    expected: tuple[str, ...]


DAILY = rotation("alice bob carol")
DAILY_CASES = [
    OnCallCase("before the first hand-off nobody is on call", "2026-11-02T08:59:59+01:00", ()),
    OnCallCase(
        "the first operator owns the first hand-off", "2026-11-02T09:00:00+01:00", ("alice",)
    ),
    OnCallCase(
        "a shift lasts until its last microsecond", "2026-11-03T08:59:59.999999+01:00", ("alice",)
    ),
    OnCallCase(
        "the incoming operator owns the hand-off instant", "2026-11-03T09:00:00+01:00", ("bob",)
    ),
    OnCallCase("the same instant written in UTC", "2026-11-03T08:00:00Z", ("bob",)),
    OnCallCase(
        "after midnight the night is still the day's shift", "2026-11-04T03:00:00+01:00", ("bob",)
    ),
    OnCallCase("the third day is the third operator's", "2026-11-04T09:00:00+01:00", ("carol",)),
    OnCallCase("the fourth day wraps around to the first", "2026-11-05T12:00:00+01:00", ("alice",)),
]


@pytest.mark.parametrize("case", DAILY_CASES, ids=lambda case: case.name)
def test_a_daily_rotation_hands_off_every_day_at_nine(case: OnCallCase) -> None:
    assert on_call(schedule(DAILY), at(case.at)) == case.expected


WEEKLY = rotation(shift=timedelta(weeks=1), weekday=Weekday.MONDAY)
WEEKLY_CASES = [
    OnCallCase("the first week is alice's", "2026-11-04T12:00:00+01:00", ("alice",)),
    OnCallCase("sunday night is still alice's", "2026-11-08T23:30:00+01:00", ("alice",)),
    OnCallCase("monday before nine is still alice's", "2026-11-09T08:59:59+01:00", ("alice",)),
    OnCallCase("monday at nine bob takes over", "2026-11-09T09:00:00+01:00", ("bob",)),
    OnCallCase("the third week is alice's again", "2026-11-16T09:00:00+01:00", ("alice",)),
    # 2026-11-02 + 21 weeks = 2027-03-29, the Monday after the spring-forward night.
    OnCallCase("week 20 ends at nine summer time", "2027-03-29T08:59:59+02:00", ("alice",)),
    OnCallCase("week 21 starts at nine summer time", "2027-03-29T09:00:00+02:00", ("bob",)),
]


@pytest.mark.parametrize("case", WEEKLY_CASES, ids=lambda case: case.name)
def test_a_weekly_rotation_hands_off_on_monday_at_nine(case: OnCallCase) -> None:
    assert on_call(schedule(WEEKLY), at(case.at)) == case.expected


# --- DST: hand-offs keep their local time; odd local times follow RFC 5545 ---------


@dataclass(frozen=True)
class ShiftCase:
    name: str
    zone: ZoneInfo
    handoff: str
    starts: str
    ends: str
    hours: int


# fmt: off
SHIFT_CASES = [
    ShiftCase("Berlin 09:00 across the spring-forward night is 23 hours",
              BERLIN, "09:00", "2027-03-27T09:00:00+01:00", "2027-03-28T09:00:00+02:00", 23),
    ShiftCase("Berlin 09:00 across the fall-back night is 25 hours",
              BERLIN, "09:00", "2026-10-24T09:00:00+02:00", "2026-10-25T09:00:00+01:00", 25),
    ShiftCase("Berlin 02:30 does not exist on the spring-forward night: 03:30 summer time",
              BERLIN, "02:30", "2027-03-27T02:30:00+01:00", "2027-03-28T03:30:00+02:00", 24),
    ShiftCase("Berlin after the missing 02:30 the next shift is 23 hours",
              BERLIN, "02:30", "2027-03-28T03:30:00+02:00", "2027-03-29T02:30:00+02:00", 23),
    ShiftCase("Berlin 02:30 exists twice on the fall-back night: the first one",
              BERLIN, "02:30", "2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", 24),
    ShiftCase("Berlin after the first of two 02:30s the next shift is 25 hours",
              BERLIN, "02:30", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", 25),
    ShiftCase("New York 09:00 across the spring-forward night is 23 hours",
              NEW_YORK, "09:00", "2027-03-13T09:00:00-05:00", "2027-03-14T09:00:00-04:00", 23),
    ShiftCase("New York 09:00 across the fall-back night is 25 hours",
              NEW_YORK, "09:00", "2026-10-31T09:00:00-04:00", "2026-11-01T09:00:00-05:00", 25),
    ShiftCase("New York 02:30 does not exist on the spring-forward night: 03:30 daylight time",
              NEW_YORK, "02:30", "2027-03-13T02:30:00-05:00", "2027-03-14T03:30:00-04:00", 24),
    ShiftCase("New York 01:30 exists twice on the fall-back night: the first one",
              NEW_YORK, "01:30", "2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", 24),
]
# fmt: on


@pytest.mark.parametrize("case", SHIFT_CASES, ids=lambda case: case.name)
def test_shifts_are_counted_in_local_days_across_dst_changes(case: ShiftCase) -> None:
    rota = rotation(handoff=case.handoff, start="2026-01-01", zone=case.zone)
    starts, ends = at(case.starts), at(case.ends)

    first = rota.shift_at(starts)
    last = rota.shift_at(ends - timedelta(microseconds=1))

    assert first is not None
    assert first == last
    assert (first.start, first.end) == (starts, ends)
    assert first.end - first.start == timedelta(hours=case.hours)
    assert first.start.tzinfo is UTC


ODD_HANDOFF_CASES = [
    OnCallCase(
        "spring: the outgoing operator keeps 03:29 summer time",
        "2027-03-28T03:29:59+02:00",
        ("bob",),
    ),
    OnCallCase(
        "spring: the incoming operator takes 03:30 summer time",
        "2027-03-28T03:30:00+02:00",
        ("alice",),
    ),
    OnCallCase(
        "autumn: the outgoing operator keeps 02:29 summer time",
        "2026-10-25T02:29:59+02:00",
        ("bob",),
    ),
    OnCallCase(
        "autumn: the incoming operator takes the first 02:30",
        "2026-10-25T02:30:00+02:00",
        ("alice",),
    ),
    OnCallCase(
        "autumn: the second 02:30 hands off nothing", "2026-10-25T02:30:00+01:00", ("alice",)
    ),
]


@pytest.mark.parametrize("case", ODD_HANDOFF_CASES, ids=lambda case: case.name)
def test_a_half_past_two_handoff_in_berlin_follows_rfc_5545(case: OnCallCase) -> None:
    # Alice has the even days since 2026-10-01: 2026-10-24 is day 23 (bob's),
    # 2026-10-25 day 24 (alice's), 2027-03-27 day 177 (bob's), 2027-03-28 day 178.
    rota = rotation(handoff="02:30", start="2026-10-01")
    assert on_call(schedule(rota), at(case.at)) == case.expected


# --- Overrides: they win for [start, end) ------------------------------------------

CAROL_COVERS = override("carol", "2026-11-05T18:00:00+01:00", "2026-11-10T08:00:00+01:00")
OVERRIDE_CASES = [
    OnCallCase("before the override the rotation decides", "2026-11-05T17:59:59+01:00", ("alice",)),
    OnCallCase("the override's start is inclusive", "2026-11-05T18:00:00+01:00", ("carol",)),
    OnCallCase("the override spans the monday hand-off", "2026-11-09T09:00:00+01:00", ("carol",)),
    OnCallCase(
        "the override lasts until its last microsecond",
        "2026-11-10T07:59:59.999999+01:00",
        ("carol",),
    ),
    OnCallCase("the override's end is exclusive", "2026-11-10T08:00:00+01:00", ("alice",)),
    OnCallCase("then the rotation hands off as usual", "2026-11-10T09:00:00+01:00", ("bob",)),
]


@pytest.mark.parametrize("case", OVERRIDE_CASES, ids=lambda case: case.name)
def test_an_override_wins_over_the_rotation_for_its_period(case: OnCallCase) -> None:
    # Daily, bob first: 11-05 and 11-09 are alice's days, 11-10 is bob's.
    rota = rotation("bob alice", start="2026-11-02")
    assert on_call(schedule(rota, CAROL_COVERS), at(case.at)) == case.expected


def test_overlapping_overrides_put_everyone_on_call_in_the_order_listed() -> None:
    sched = schedule(
        rotation(),
        override("carol", "2026-11-05T00:00:00Z", "2026-11-07T00:00:00Z"),
        override("bob", "2026-11-06T00:00:00Z", "2026-11-08T00:00:00Z"),
        override("carol", "2026-11-06T00:00:00Z", "2026-11-06T12:00:00Z"),
    )

    assert on_call(sched, at("2026-11-06T06:00:00Z")) == ("carol", "bob")
    assert on_call(sched, at("2026-11-07T06:00:00Z")) == ("bob",)


OVERRIDES_ONLY = schedule(
    None,
    override("alice", "2026-12-24T00:00:00+01:00", "2026-12-25T00:00:00+01:00"),
    override("bob", "2026-12-25T00:00:00+01:00", "2026-12-26T00:00:00+01:00"),
)


def test_a_schedule_of_overrides_alone_covers_only_their_periods() -> None:
    assert on_call(OVERRIDES_ONLY, at("2026-12-24T20:00:00+01:00")) == ("alice",)
    assert on_call(OVERRIDES_ONLY, at("2026-12-25T00:00:00+01:00")) == ("bob",)

    gap = coverage(OVERRIDES_ONLY, at("2026-12-26T00:00:00+01:00"))

    assert (gap.operators, gap.nobody) == ((), NobodyReason.GAP)
    assert "no override covers" in gap.why


def test_coverage_says_which_shift_or_override_decided() -> None:
    sched = schedule(WEEKLY, CAROL_COVERS)

    by_shift = coverage(sched, at("2026-11-03T12:00:00+01:00"))
    by_override = coverage(sched, at("2026-11-06T12:00:00+01:00"))

    assert by_shift.why == (
        "schedule 'primary' at 2026-11-03 12:00 CET: "
        "shift 0 from 2026-11-02 09:00 CET to 2026-11-09 09:00 CET"
    )
    assert by_override.why.endswith("an override until 2026-11-10 08:00 CET")
    assert by_shift.nobody is None and by_override.nobody is None


# --- next_handoff: the next instant the answer changes -----------------------------


@dataclass(frozen=True)
class NextCase:
    name: str
    schedule: Schedule
    at: str
    expected: str | None


# fmt: off
NEXT_CASES = [
    NextCase("before the rotation starts: its first hand-off",
             schedule(DAILY), "2026-10-01T00:00:00Z", "2026-11-02T09:00:00+01:00"),
    NextCase("during a shift: its end",
             schedule(WEEKLY), "2026-11-04T00:00:00Z", "2026-11-09T09:00:00+01:00"),
    NextCase("at a hand-off: the following one",
             schedule(WEEKLY), "2026-11-09T09:00:00+01:00", "2026-11-16T09:00:00+01:00"),
    NextCase("across spring-forward: nine summer time",
             schedule(DAILY), "2027-03-27T12:00:00+01:00", "2027-03-28T09:00:00+02:00"),
    NextCase("an override that starts first",
             schedule(WEEKLY, CAROL_COVERS), "2026-11-04T00:00:00Z", "2026-11-05T18:00:00+01:00"),
    NextCase("a hand-off under an override changes nothing",
             schedule(WEEKLY, CAROL_COVERS), "2026-11-06T00:00:00Z", "2026-11-10T08:00:00+01:00"),
    NextCase("a rotation of one operator never changes",
             schedule(rotation("alice")), "2026-11-06T00:00:00Z", None),
    NextCase("one operator until an override",
             schedule(rotation("alice"), CAROL_COVERS), "2026-11-03T00:00:00Z",
             "2026-11-05T18:00:00+01:00"),
    NextCase("a hand-off to the same operator is skipped",
             schedule(rotation("alice alice bob")), "2026-11-02T12:00:00+01:00",
             "2026-11-04T09:00:00+01:00"),
    NextCase("after the last override: never",
             OVERRIDES_ONLY, "2026-12-27T00:00:00Z", None),
    NextCase("during the last override: its end",
             OVERRIDES_ONLY, "2026-12-25T12:00:00Z", "2026-12-26T00:00:00+01:00"),
]
# fmt: on


@pytest.mark.parametrize("case", NEXT_CASES, ids=lambda case: case.name)
def test_next_handoff_is_the_next_instant_someone_else_is_on_call(case: NextCase) -> None:
    expected = at(case.expected) if case.expected else None

    found = next_handoff(case.schedule, at(case.at))

    assert found == expected
    if found is not None:
        assert found.tzinfo is UTC
        assert on_call(case.schedule, found) != on_call(case.schedule, at(case.at))


# --- Resolver: escalation targets -> operators, and the names that reach nobody ----

NOT_YET = Schedule("future", BERLIN, rotation(start="2027-01-04"))
EMPTY = Schedule("empty", BERLIN)
RESOLVER = Resolver(
    ["alice", "bob", "carol"], [Schedule("primary", BERLIN, WEEKLY), NOT_YET, EMPTY]
)
MONDAY_NOON = at("2026-11-09T12:00:00+01:00")  # bob's week


@dataclass(frozen=True)
class ResolveCase:
    name: str
    targets: tuple[str, ...]
    reached: tuple[Reached, ...]
    unresolved: tuple[tuple[str, NobodyReason], ...] = ()


RESOLVE_CASES = [
    ResolveCase("an operator id reaches that operator", ("carol",), (Reached("carol", "carol"),)),
    ResolveCase(
        "a schedule id reaches whoever is on call", ("primary",), (Reached("bob", "primary"),)
    ),
    ResolveCase(
        "operators come in the level's order",
        ("carol", "primary"),
        (Reached("carol", "carol"), Reached("bob", "primary")),
    ),
    ResolveCase(
        "an operator reached twice is paged once, by the first name",
        ("primary", "bob", "alice"),
        (Reached("bob", "primary"), Reached("alice", "alice")),
    ),
    ResolveCase(
        "a schedule that has not started reaches nobody",
        ("future",),
        (),
        (("future", NobodyReason.GAP),),
    ),
    ResolveCase(
        "an empty schedule reaches nobody",
        ("empty",),
        (),
        (("empty", NobodyReason.EMPTY_SCHEDULE),),
    ),
    ResolveCase(
        "an unknown name reaches nobody", ("dave",), (), (("dave", NobodyReason.UNKNOWN_TARGET),)
    ),
    ResolveCase(
        "a gap is reported even when others are reached",
        ("future", "carol"),
        (Reached("carol", "carol"),),
        (("future", NobodyReason.GAP),),
    ),
]


@pytest.mark.parametrize("case", RESOLVE_CASES, ids=lambda case: case.name)
def test_resolving_a_level(case: ResolveCase) -> None:
    resolution = RESOLVER.resolve(case.targets, MONDAY_NOON)

    assert resolution.reached == case.reached
    assert resolution.operators == tuple(reach.operator for reach in case.reached)
    assert [(u.target, u.reason) for u in resolution.unresolved] == list(case.unresolved)
    assert resolution.nobody == (not case.reached)


def test_a_level_that_reaches_nobody_says_why_for_every_name() -> None:
    resolution = RESOLVER.resolve(["future", "empty"], MONDAY_NOON)

    assert resolution.nobody
    assert resolution.unresolved == (
        Unresolved(
            "future",
            NobodyReason.GAP,
            "schedule 'future' at 2026-11-09 12:00 CET: "
            "the rotation starts at 2027-01-04 09:00 CET",
        ),
        Unresolved(
            "empty",
            NobodyReason.EMPTY_SCHEDULE,
            "schedule 'empty' at 2026-11-09 12:00 CET: no rotation and no override",
        ),
    )


def test_the_schedule_resolves_differently_as_time_passes() -> None:
    assert RESOLVER.resolve(["primary"], at("2026-11-09T08:59:59+01:00")).operators == ("alice",)
    assert RESOLVER.resolve(["primary"], at("2026-11-09T09:00:00+01:00")).operators == ("bob",)


def test_a_resolver_refuses_schedules_it_could_not_page() -> None:
    with pytest.raises(ValueError, match="both an operator and a schedule"):
        Resolver(["primary"], [Schedule("primary", BERLIN, WEEKLY)])
    with pytest.raises(ValueError, match="unknown"):
        Resolver(["alice"], [Schedule("primary", BERLIN, WEEKLY)])


def test_a_naive_instant_is_a_bug_not_a_guess() -> None:
    with pytest.raises(ValueError, match="needs a time zone"):
        on_call(schedule(WEEKLY), datetime(2026, 11, 9, 9, 0))


def test_a_rotation_refuses_a_start_on_the_wrong_weekday() -> None:
    with pytest.raises(ValueError, match="MONDAY"):
        rotation(start="2026-11-03", shift=timedelta(weeks=1), weekday=Weekday.MONDAY)


# --- Config: `schedules:` in sitewatch.yaml ----------------------------------------

CONFIG = """\
checks: ../checks
operators:
  - {id: alice, token: alice-token, notify: ["json://127.0.0.1:9000/pages"]}
  - {id: bob, token: bob-token, notify: ["json://127.0.0.1:9000/pages"]}
schedules:
  - id: primary
    timezone: Europe/Berlin
    rotation:
      operators: [alice, bob]
      shift: 1w
      handoff: "09:00"
      handoff_weekday: monday
      start: 2026-11-02
    overrides:
      - operator: bob
        start: 2026-12-24T09:00:00+01:00
        end: "2026-12-27T09:00:00+01:00"
        note: alice is away
escalation:
  levels:
    - after: 0s
      notify: [primary]
    - after: 10m
      notify: [primary, alice, bob]
"""


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> list[str]:
    """Load `text` as config/sitewatch.yaml; return its problems (none: it loaded)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "config" / "sitewatch.yaml").write_text(dedent(text))
    try:
        load_settings(Path("config/sitewatch.yaml"), {})
    except ConfigError as error:
        return [str(problem) for problem in error.problems]
    return []


def test_a_schedule_in_the_config_becomes_the_on_call_model(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "checks").mkdir()
    (tmp_path / "config" / "sitewatch.yaml").write_text(CONFIG)

    settings = load_settings(tmp_path / "config" / "sitewatch.yaml", {})

    assert settings.schedules == (
        Schedule(
            "primary",
            BERLIN,
            rotation(shift=timedelta(weeks=1), weekday=Weekday.MONDAY),
            (
                Override(
                    "bob",
                    at("2026-12-24T09:00:00+01:00"),
                    at("2026-12-27T09:00:00+01:00"),
                    note="alice is away",
                ),
            ),
        ),
    )
    resolver = Resolver.from_settings(settings)
    assert resolver.resolve(["primary"], at("2026-12-25T12:00:00Z")).operators == ("bob",)


@dataclass(frozen=True)
class ConfigCase:
    name: str
    old: str
    new: str
    problem: str


CONFIG_CASES = [
    ConfigCase(
        "an unknown time zone, with a suggestion",
        "timezone: Europe/Berlin",
        "timezone: Europe/Berln",
        "config/sitewatch.yaml:7: schedules[0].timezone: unknown time zone 'Europe/Berln': "
        "use an IANA name (did you mean Europe/Berlin?)",
    ),
    ConfigCase(
        "an unknown operator in a rotation",
        "operators: [alice, bob]",
        "operators: [alice, dave]",
        "config/sitewatch.yaml:9: schedules[0].rotation.operators[1]: "
        "unknown operator 'dave' (operators: alice, bob)",
    ),
    ConfigCase(
        "an unknown operator in an override",
        "- operator: bob",
        "- operator: dave",
        "config/sitewatch.yaml:15: schedules[0].overrides[0].operator: "
        "unknown operator 'dave' (operators: alice, bob)",
    ),
    ConfigCase(
        "an override that ends before it starts",
        'end: "2026-12-27T09:00:00+01:00"',
        'end: "2026-12-23T09:00:00+01:00"',
        "config/sitewatch.yaml:17: schedules[0].overrides[0].end: "
        "must be after start (2026-12-24T09:00:00+01:00)",
    ),
    ConfigCase(
        "an override without an offset",
        "start: 2026-12-24T09:00:00+01:00",
        "start: 2026-12-24 09:00",
        "config/sitewatch.yaml:16: schedules[0].overrides[0].start: needs a UTC offset "
        "(such as 2026-12-24T09:00:00+01:00 or 2026-12-24T08:00:00Z): without one it is ambiguous",
    ),
    ConfigCase(
        "an unquoted hand-off time that YAML reads as a number",
        'handoff: "09:00"',
        "handoff: 10:00",
        "config/sitewatch.yaml:11: schedules[0].rotation.handoff: "
        'put the time in quotes: "10:00" (YAML read a number)',
    ),
    ConfigCase(
        "a shift that is not whole days",
        "shift: 1w",
        "shift: 12h",
        "config/sitewatch.yaml:10: schedules[0].rotation.shift: "
        "a shift is a whole number of days, such as 1d, 7d or 1w, got '12h'",
    ),
    ConfigCase(
        "a shift that is not a duration",
        "shift: 1w",
        "shift: weekly",
        "config/sitewatch.yaml:10: schedules[0].rotation.shift: "
        "a shift is a whole number of days, such as 1d, 7d or 1w, got 'weekly'",
    ),
    ConfigCase(
        "a hand-off that is not a time of day",
        'handoff: "09:00"',
        'handoff: "9am"',
        "config/sitewatch.yaml:11: schedules[0].rotation.handoff: "
        "expected a local time of day such as \"09:00\", got '9am'",
    ),
    ConfigCase(
        "a hand-off weekday that is not a day",
        "handoff_weekday: monday",
        "handoff_weekday: mondays",
        "config/sitewatch.yaml:12: schedules[0].rotation.handoff_weekday: "
        "expected a day of the week such as monday, got 'mondays'",
    ),
    ConfigCase(
        "an unknown key in a rotation",
        "shift: 1w",
        "shift: 1w\n      length: 1w",
        "config/sitewatch.yaml:11: schedules[0].rotation.length: unknown key 'length' "
        "(expected one of: operators, shift, handoff, start, handoff_weekday)",
    ),
    ConfigCase(
        "a start that is not on the hand-off weekday",
        "start: 2026-11-02",
        "start: 2026-11-03",
        "config/sitewatch.yaml:13: schedules[0].rotation.start: "
        "2026-11-03 is a tuesday, but handoff_weekday is monday",
    ),
    ConfigCase(
        "a schedule with neither rotation nor overrides",
        CONFIG[CONFIG.index("    rotation:") : CONFIG.index("escalation:")],
        "",
        "config/sitewatch.yaml:6: schedules[0]: "
        "a schedule needs a rotation or at least one override",
    ),
    ConfigCase(
        "an escalation level naming neither operator nor schedule",
        "notify: [primary]",
        "notify: [secondary]",
        "config/sitewatch.yaml:22: escalation.levels[0].notify[0]: unknown operator or schedule "
        "'secondary' (operators: alice, bob; schedules: primary)",
    ),
]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda case: case.name)
def test_a_schedule_mistake_is_reported_with_file_line_and_key(
    case: ConfigCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert case.old in CONFIG
    assert load(tmp_path, monkeypatch, CONFIG.replace(case.old, case.new, 1)) == [case.problem]


def test_a_duplicate_schedule_id_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = CONFIG.replace(
        "escalation:", "  - {id: primary, timezone: UTC, overrides: []}\nescalation:"
    )

    assert load(tmp_path, monkeypatch, text) == [
        "config/sitewatch.yaml:19: schedules[1].id: duplicate id 'primary' (first used on line 6)",
        "config/sitewatch.yaml:19: schedules[1]: "
        "a schedule needs a rotation or at least one override",
    ]


def test_a_schedule_id_must_not_be_an_operator_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = CONFIG.replace("primary", "alice")

    assert load(tmp_path, monkeypatch, text) == [
        "config/sitewatch.yaml:6: schedules[0].id: "
        "'alice' is an operator id too: escalation levels name either"
    ]
