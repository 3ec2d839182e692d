"""Recurring planned events from the config: local-time rules, DST, ids, validation, API."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from sitewatch.clock import FakeClock
from sitewatch.config.loader import ConfigError
from sitewatch.config.recurring import RecurringMaintenance
from sitewatch.model import LocationStatus, ProbeResult, ResultKind, TransitionKind, Verdict, Window
from sitewatch.outages.quorum import Quorum, VerdictDecision, Vote, judge, tick
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.outages.rules import Policy, observe
from tests.api_harness import RECURRING, Api, start_api, write_settings


def entry(**fields: Any) -> RecurringMaintenance:
    values = {"customer": "acme", "kind": "os-upgrade", "duration": "2h"} | fields
    if "rrule" not in values and "every" not in values:
        values["rrule"] = "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=0"
    return RecurringMaintenance.model_validate(values)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def starts(schedule: RecurringSchedule, since: str, until: str) -> list[str]:
    return [
        f"{w.start:%Y-%m-%d %H:%M}Z-{w.end:%H:%M}Z"
        for w in schedule.between(utc(since), utc(until))
    ]


BERLIN_SUNDAY_2AM = RecurringSchedule([entry(timezone="Europe/Berlin")])


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (  # CET (+1) until the last Sunday of March; that night 02:00 does not exist
            ("2026-03-20", "2026-04-06"),
            [
                "2026-03-22 01:00Z-03:00Z",
                "2026-03-29 01:00Z-03:00Z",  # 02:00 CET: the instant the clock jumps to 03:00
                "2026-04-05 00:00Z-02:00Z",  # 02:00 CEST (+2)
            ],
        ),
        (  # back to CET on the last Sunday of October; that night 02:00 happens twice
            ("2026-10-17", "2026-11-02"),
            [
                "2026-10-18 00:00Z-02:00Z",
                "2026-10-25 00:00Z-02:00Z",  # the first 02:00 (CEST)
                "2026-11-01 01:00Z-03:00Z",
            ],
        ),
    ],
)
def test_a_weekly_local_window_stays_at_2am_local_across_daylight_saving(
    period: tuple[str, str], expected: list[str]
) -> None:
    assert starts(BERLIN_SUNDAY_2AM, *period) == expected


def test_a_start_inside_the_spring_gap_begins_when_the_clock_jumps() -> None:
    schedule = RecurringSchedule([entry(every="day", at="02:30", timezone="Europe/Berlin")])
    assert starts(schedule, "2026-03-28", "2026-03-30") == [
        "2026-03-28 01:30Z-03:30Z",
        "2026-03-29 01:30Z-03:30Z",  # 02:30 CET, which the clock shows as 03:30 CEST
    ]


def test_duration_is_elapsed_time_even_across_a_change_of_offset() -> None:
    schedule = RecurringSchedule([entry(every="day", at="01:00", timezone="Europe/Berlin")])
    [window] = schedule.between(utc("2026-10-25 00:00"), utc("2026-10-25 00:01"))
    assert window.end - window.start == timedelta(hours=2)


def test_an_occurrence_already_in_progress_overlaps_the_period() -> None:
    found = BERLIN_SUNDAY_2AM.between(utc("2026-11-29 02:59"), utc("2026-11-29 03:00"))
    assert [(w.start, w.end) for w in found] == [(utc("2026-11-29 01:00"), utc("2026-11-29 03:00"))]
    assert BERLIN_SUNDAY_2AM.between(utc("2026-11-29 03:00"), utc("2026-11-29 04:00")) == []


def test_an_occurrence_is_a_planned_event_declared_by_the_config_at_its_start() -> None:
    [window] = BERLIN_SUNDAY_2AM.between(utc("2026-11-29 00:00"), utc("2026-11-29 01:30"))
    assert window.declared_by == "config"
    assert window.declared_at == window.start
    assert window.is_planned_event
    assert (window.customer, window.checks, window.kind.value) == ("acme", (), "os-upgrade")


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"every": "day", "at": "23:05"}, "FREQ=DAILY;BYHOUR=23;BYMINUTE=5;BYSECOND=0"),
        (
            {"every": "weekday", "at": "6:00"},
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
        ),
        ({"every": "sunday", "at": "02:00"}, "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=0;BYSECOND=0"),
        ({"rrule": "RRULE:FREQ=MONTHLY;BYDAY=1SA"}, "FREQ=MONTHLY;BYDAY=1SA"),
    ],
)
def test_the_friendly_form_stands_for_an_rrule(fields: dict[str, str], rule: str) -> None:
    assert entry(**fields).rule == rule


def test_interval_counts_from_the_starting_date() -> None:
    fortnightly = "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=2"
    odd = RecurringSchedule([entry(rrule=fortnightly, starting="2026-11-23")])
    even = RecurringSchedule([entry(rrule=fortnightly, starting="2026-11-30")])
    assert starts(odd, "2026-11-25", "2026-12-14") == [
        "2026-11-29 02:00Z-04:00Z",
        "2026-12-13 02:00Z-04:00Z",
    ]
    assert starts(even, "2026-11-25", "2026-12-14") == ["2026-12-06 02:00Z-04:00Z"]


def test_ids_name_the_entry_by_content_and_can_be_found_again() -> None:
    other = entry(customer="globex", every="day", at="03:00")
    one, two = RecurringSchedule([entry(), other]), RecurringSchedule([other, entry()])
    period = (utc("2026-11-28 00:00"), utc("2026-11-30 00:00"))
    assert [w.id for w in one.between(*period)] == [w.id for w in two.between(*period)]
    for window in one.between(*period):
        assert window.id.startswith("cfg-") and window.id.endswith("Z")
        assert two.find(window.id) == window


@pytest.mark.parametrize(
    "window_id",
    [
        "cfg-00000000-20261129T020000Z",  # no such entry
        "7",
        "",
        "cfg-zz-20261129T020000Z",
        "cfg-{digest}-20261129T030000Z",  # the entry, but not one of its starts
        "cfg-{digest}-20261399T020000Z",  # no such date
    ],
)
def test_an_id_that_is_no_occurrence_finds_nothing(window_id: str) -> None:
    schedule = RecurringSchedule([entry()])
    assert schedule.find(window_id.format(digest=entry().digest)) is None


def failure(at: datetime) -> ProbeResult:
    return ProbeResult("portal", at, timedelta(milliseconds=20), ResultKind.CONNECT)


def test_an_outage_inside_an_occurrence_is_planned_and_overruns_at_its_end() -> None:
    schedule = RecurringSchedule([entry(checks=["portal"], timezone="Europe/Berlin")])
    windows: list[Window] = schedule.between(utc("2026-11-29 00:00"), utc("2026-11-30 00:00"))
    grace, status = timedelta(minutes=10), LocationStatus()
    for minute in (0, 1):
        at = utc("2026-11-29 01:30") + timedelta(minutes=minute)
        status = observe(status, failure(at), Policy(confirm=2, recover=2)).status
    votes = [Vote("default", status)]
    started = judge(Verdict(), votes, quorum=Quorum(), windows=windows, grace=grace, at=at)
    assert [(t.kind, t.outage.classification.value) for t in started.transitions] == [
        (TransitionKind.STARTED, "planned")
    ]

    def tick_at(text: str) -> VerdictDecision:
        return tick(
            started.verdict, votes, quorum=Quorum(), windows=windows, grace=grace, now=utc(text)
        )

    assert tick_at("2026-11-29 03:09").transitions == ()
    assert [t.kind for t in tick_at("2026-11-29 03:10").transitions] == [TransitionKind.OVERRAN]


# --- the config: every mistake located as FILE:LINE: key.path: message --------------


def problems_of(tmp_path: Path, yaml: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        write_settings(tmp_path, extra=textwrap.dedent(yaml))
    text = (tmp_path / "sitewatch.yaml").read_text().splitlines()
    rendered = []
    for problem in error.value.problems:
        assert problem.line >= 1
        rendered.append(f"{text[problem.line - 1].strip()} | {problem.key}: {problem.message}")
    return rendered


def test_a_valid_entry_is_loaded_into_the_settings(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, extra=RECURRING)
    [loaded] = settings.recurring_maintenance
    assert (loaded.customer, loaded.checks, loaded.timezone) == (
        "acme",
        ("portal",),
        "Europe/Berlin",
    )


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        (
            """\
            recurring_maintenance:
              - {customer: acme, kind: other, duration: 1h,
                 rrule: "FREQ=WEEKLY;BYDAY=XX"}
            """,
            'rrule: "FREQ=WEEKLY;BYDAY=XX"} | recurring_maintenance[0].rrule: '
            "not a valid RRULE: invalid 'BYDAY': XX",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                rrule: FREQ=HOURLY
            """,
            "rrule: FREQ=HOURLY | recurring_maintenance[0].rrule: FREQ must be one of DAILY,",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                rrule: "FREQ=DAILY;INTERVAL=0"
            """,
            "recurring_maintenance[0].rrule: INTERVAL must be a whole number of at least 1",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                rrule: "FREQ=DAILY;UNTIL=20270101T000000Z"
            """,
            "recurring_maintenance[0].rrule: UNTIL is read in the entry's timezone",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"
            """,
            "recurring_maintenance[0].rrule: the rule never occurs",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                every: sunday
                at: "02:00"
                timezone: Europe/Berln
            """,
            "timezone: Europe/Berln | recurring_maintenance[0].timezone: unknown time zone "
            "'Europe/Berln': use an IANA name such as Europe/Berlin or UTC",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                every: sunday
                at: 2:00
            """,
            "at: 2:00 | recurring_maintenance[0].at: write the time of day in quotes",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                every: sunday
                at: "24:00"
            """,
            "recurring_maintenance[0].at: expected a local time of day from",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                every: fortnight
                at: "02:00"
            """,
            "recurring_maintenance[0].every: input should be 'day', 'weekday',",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                every: sunday
            """,
            "- customer: acme | recurring_maintenance[0]: every needs at",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: other
                duration: 1h
                every: sunday
                at: "02:00"
                rrule: FREQ=DAILY
            """,
            "- customer: acme | recurring_maintenance[0]: give either rrule",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                kind: reboot
                duration: 0s
                every: sunday
                at: "02:00"
                colour: blue
            """,
            "kind: reboot | recurring_maintenance[0].kind: input should be 'server-install',",
        ),
        (
            """\
            recurring_maintenance:
              - customer: initech
                kind: other
                duration: 1h
                every: day
                at: "02:00"
            """,
            "customer: initech | recurring_maintenance[0].customer: unknown customer 'initech' "
            "(customers: acme, globex)",
        ),
        (
            """\
            recurring_maintenance:
              - customer: acme
                checks: [portal, webmail, nope]
                kind: other
                duration: 1h
                every: day
                at: "02:00"
            """,
            "checks: [portal, webmail, nope] | recurring_maintenance[0].checks[1]: check "
            "'webmail' is a check of customer globex; name checks of acme only",
        ),
    ],
)
def test_a_bad_entry_is_reported_at_its_file_line_and_key(
    tmp_path: Path, yaml: str, expected: str
) -> None:
    found = problems_of(tmp_path, yaml)
    assert any(expected in line for line in found), found


def test_every_mistake_of_an_entry_is_listed_at_once(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """\
        recurring_maintenance:
          - customer: acme
            checks: [nope]
            kind: reboot
            duration: 0s
            every: sunday
            at: "02:00"
            colour: blue
        """,
    )
    keys = sorted(line.split(" | ")[1].split(":")[0] for line in found)
    assert keys == [
        "recurring_maintenance[0].checks[0]",
        "recurring_maintenance[0].colour",
        "recurring_maintenance[0].duration",
        "recurring_maintenance[0].kind",
    ]


def test_a_check_of_nobody_is_reported_once_the_schema_is_right(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        """\
        recurring_maintenance:
          - {customer: acme, checks: [nope], kind: other, duration: 1h, every: day, at: "1:00"}
        """,
    )
    assert [line.split(" | ")[1] for line in found] == [
        "recurring_maintenance[0].checks[0]: check 'nope' is unknown; name checks of acme only"
    ]


# --- the running service -------------------------------------------------------------

SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
"""Sunday 02:00 Berlin (01:00Z) is 13 hours ahead: inside the 2-day horizon."""


@pytest.fixture
async def recurring_api(tmp_path: Path, aiohttp_client: AiohttpClient) -> Api:
    return await start_api(
        tmp_path, aiohttp_client, extra=RECURRING, clock=FakeClock(SATURDAY_NOON)
    )


async def test_occurrences_of_the_next_two_days_are_listed_with_their_state(
    recurring_api: Api,
) -> None:
    _, listed = await recurring_api.call("GET", "/api/v1/maintenance", "customer")
    [sunday] = listed["maintenance"]
    assert sunday["id"].startswith("cfg-")
    assert {k: sunday[k] for k in ("start", "end", "state", "declared_by", "checks", "note")} == {
        "start": "2026-11-29T01:00:00Z",
        "end": "2026-11-29T03:00:00Z",
        "state": "scheduled",
        "declared_by": "config",
        "checks": ["portal"],
        "note": "weekly patching",
    }
    _, others = await recurring_api.call("GET", "/api/v1/maintenance", "other customer")
    assert others["maintenance"] == []


async def test_an_occurrence_shows_the_config_as_its_author(recurring_api: Api) -> None:
    _, listed = await recurring_api.call("GET", "/api/v1/maintenance", "customer")
    window_id = listed["maintenance"][0]["id"]
    status, shown = await recurring_api.call("GET", f"/api/v1/maintenance/{window_id}", "customer")
    assert status == 200
    assert shown["history"] == [
        {
            "at": "2026-11-29T01:00:00Z",
            "by": "config",
            "action": "declared",
            "detail": "recurring_maintenance in sitewatch.yaml",
        }
    ]
    status, _ = await recurring_api.call(
        "GET", f"/api/v1/maintenance/{window_id}", "other customer"
    )
    assert status == 403


@pytest.mark.parametrize("who", ["customer", "operator"])
async def test_an_occurrence_cannot_be_changed_or_cancelled_through_the_api(
    recurring_api: Api, who: str
) -> None:
    _, listed = await recurring_api.call("GET", "/api/v1/maintenance", "customer")
    path = f"/api/v1/maintenance/{listed['maintenance'][0]['id']}"
    for method, body in (("PATCH", {"end": "2026-11-29T04:00:00Z"}), ("DELETE", None)):
        status, answer = await recurring_api.call(method, path, who, json=body)
        assert status == 409
        assert "comes from the config (recurring_maintenance)" in answer["error"]
    status, answer = await recurring_api.call("PATCH", path, who, data=b"not even json")
    assert status == 409
