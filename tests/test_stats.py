"""Outage statistics from a fixed history under explicit times: exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sitewatch.model import Cause, Classification, OutageRecord, ResultKind, Ticket, TicketState
from sitewatch.stats.compute import History, Period, Statistics, compute, counted_from
from sitewatch.stats.report import as_json, parse_bound, period_between, render_table

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))
LONG_AGO = T0 - timedelta(days=10)

CHECKS = {
    "acme-portal": "acme",
    "acme-api": "acme",
    "globex-mail": "globex",
    "initech-web": "initech",
    "initech-new": "initech",
}
CUSTOMERS = {"acme": "Acme Corp", "globex": "Globex", "initech": "Initech"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def outage(
    check: str,
    onset: float,
    recovered: float | None,
    classification: Classification = Classification.EMERGENCY,
    overrun: float | None = None,
) -> OutageRecord:
    return OutageRecord(
        check=check,
        customer=CHECKS[check],
        onset_at=at(onset),
        classification=classification,
        symptom=ResultKind.LOGIN_REJECTED,
        window_id=None if classification is Classification.EMERGENCY else "7",
        overrun_at=None if overrun is None else at(overrun),
        recovered_at=None if recovered is None else at(recovered),
        ticket_id=None,
    )


def ticket(
    number: int,
    record: OutageRecord,
    opened: float,
    *,
    acknowledged: float | None = None,
    cause: Cause | None = None,
) -> Ticket:
    if cause is not None:
        state = TicketState.RESOLVED
    elif acknowledged is not None:
        state = TicketState.ACKNOWLEDGED
    else:
        state = TicketState.OPEN
    return Ticket(
        id=str(number),
        check=record.check,
        customer=record.customer,
        state=state,
        classification=record.classification,
        symptom=record.symptom,
        detail="",
        onset_at=record.onset_at,
        opened_at=at(opened),
        acknowledged_at=None if acknowledged is None else at(acknowledged),
        acknowledged_by=None if acknowledged is None else "olivia",
        recovered_at=record.recovered_at,
        resolved_at=None if cause is None else at(1439),
        cause=cause,
    )


# One day of history (minutes from T0):
EMERGENCY = outage("acme-portal", 60, 90)  # 30 min down, acked after 2 min, software
PLANNED = outage("acme-portal", 300, 360, Classification.PLANNED)  # no downtime, no ticket
OVERRUN = outage("acme-api", 600, 650, Classification.OVERRUN, overrun=620)  # down 620..650
ACROSS_START = outage("globex-mail", -120, 30)  # down 30 min of it inside the day
STILL_OPEN = outage("globex-mail", 1380, None)  # down until the end of the day: 60 min
BEFORE = outage("acme-api", -300, -200)  # over before the day: counts nowhere

HISTORY = History(
    outages=[BEFORE, ACROSS_START, EMERGENCY, PLANNED, OVERRUN, STILL_OPEN],
    tickets=[
        ticket(1, BEFORE, -299, acknowledged=-290, cause=Cause.UNKNOWN),
        ticket(2, ACROSS_START, -119, cause=Cause.NETWORK),
        ticket(3, EMERGENCY, 61, acknowledged=63, cause=Cause.SOFTWARE),
        ticket(4, OVERRUN, 620, acknowledged=630, cause=Cause.HARDWARE),
        ticket(5, STILL_OPEN, 1381),
    ],
    first_results={
        "acme-portal": LONG_AGO,
        "acme-api": LONG_AGO,
        "globex-mail": LONG_AGO,
        "initech-web": at(720),  # a check added at noon: counted for 720 minutes
    },
)


@pytest.fixture(scope="module")
def stats() -> Statistics:
    return compute(DAY, CHECKS, CUSTOMERS, HISTORY)


def test_outages_count_once_by_their_final_classification(stats: Statistics) -> None:
    assert as_json(stats)["outages"] == {"emergency": 3, "overrun": 1, "planned": 1}


def test_customers_affected_count_emergencies_and_overruns_but_not_planned_outages(
    stats: Statistics,
) -> None:
    body = as_json(stats)
    assert body["customers"] == 3
    assert body["customers_affected"] == 2
    assert body["customers_affected_ratio"] == 2 / 3
    assert {c: v["affected"] for c, v in body["by_customer"].items()} == {
        "acme": True,
        "globex": True,
        "initech": False,
    }


def test_causes_count_resolved_tickets_of_the_period_with_their_downtime_minutes(
    stats: Statistics,
) -> None:
    body = as_json(stats)
    assert body["by_cause"] == {
        "hardware": 1,
        "internal-systems-management": 0,
        "software": 1,
        "network": 1,
        "third-party": 0,
        "unknown": 0,
    }
    # The overrun counts from its overrun moment; the outage across the start is clipped.
    assert body["by_cause_minutes"]["software"] == 30.0
    assert body["by_cause_minutes"]["hardware"] == 30.0
    assert body["by_cause_minutes"]["network"] == 30.0
    assert body["tickets"] == {"open": 1, "acknowledged": 0, "resolved": 3}


def test_mtta_is_the_mean_of_opened_to_acknowledged_over_acknowledged_tickets(
    stats: Statistics,
) -> None:
    assert as_json(stats)["mtta_seconds"] == (2 * 60 + 10 * 60) / 2


def test_mttr_is_the_mean_of_onset_to_recovered_over_recovered_tickets(
    stats: Statistics,
) -> None:
    # 30 min (emergency), 50 min (overrun, from its onset), 150 min (across the start).
    assert as_json(stats)["mttr_seconds"] == (30 + 50 + 150) * 60 / 3


def test_availability_excludes_planned_downtime_and_counts_an_open_outage_until_the_end(
    stats: Statistics,
) -> None:
    assert as_json(stats)["availability"] == {
        "acme-portal": 1 - 30 / 1440,
        "acme-api": 1 - 30 / 1440,
        "globex-mail": 1 - (30 + 60) / 1440,
        "initech-web": 1.0,
    }


def test_time_before_a_checks_first_probe_is_not_counted_and_a_never_probed_check_has_none(
    stats: Statistics,
) -> None:
    checks = as_json(stats)["checks"]
    assert checks["initech-web"]["counted_minutes"] == 720.0
    assert checks["initech-web"]["counted_from"] == "2026-11-01T12:00:00Z"
    assert checks["initech-new"]["availability"] is None
    assert checks["initech-new"]["counted_because"] == "never probed"
    assert checks["globex-mail"]["downtime_minutes"] == 90.0


def test_customer_availability_weighs_its_checks_by_counted_time(stats: Statistics) -> None:
    assert as_json(stats)["availability_by_customer"] == {
        "acme": 1 - 60 / 2880,
        "globex": 1 - 90 / 1440,
        "initech": 1.0,
    }


def test_an_outage_is_clipped_to_a_period_that_cuts_through_it() -> None:
    morning = Period(at(0), at(75))  # half of EMERGENCY's 30 minutes
    stats = compute(morning, {"acme-portal": "acme"}, {"acme": "Acme"}, HISTORY)
    assert as_json(stats)["checks"]["acme-portal"]["downtime_minutes"] == 15.0
    assert as_json(stats)["by_cause_minutes"]["software"] == 15.0


def test_a_period_during_the_planned_part_of_an_overrun_has_no_downtime() -> None:
    window = Period(at(600), at(620))
    stats = compute(window, {"acme-api": "acme"}, {"acme": "Acme"}, HISTORY)
    body = as_json(stats)
    assert body["availability"] == {"acme-api": 1.0}
    assert body["outages"] == {"emergency": 0, "overrun": 1, "planned": 0}


def test_overlapping_outage_records_of_one_check_are_not_counted_twice() -> None:
    twice = History([EMERGENCY, outage("acme-portal", 80, 100)], [], {"acme-portal": LONG_AGO})
    stats = compute(DAY, {"acme-portal": "acme"}, {"acme": "Acme"}, twice)
    assert as_json(stats)["checks"]["acme-portal"]["downtime_minutes"] == 40.0


def test_an_empty_history_has_no_means_and_full_availability() -> None:
    empty = History([], [], {"acme-portal": LONG_AGO})
    body = as_json(compute(DAY, {"acme-portal": "acme"}, {"acme": "Acme"}, empty))
    assert body["mtta_seconds"] is None and body["mttr_seconds"] is None
    assert body["availability"] == {"acme-portal": 1.0}
    assert body["customers_affected_ratio"] == 0.0


HORIZON = at(-60)


@pytest.mark.parametrize(
    ("first_result", "first_onset", "horizon", "expected", "why"),
    [
        (None, None, None, None, "never probed"),
        (at(-5), None, None, at(0), "probed since before the period"),
        (at(100), None, None, at(100), "first probed at 2026-11-01T01:40:00Z"),
        (at(100), at(50), None, at(50), "first probed at 2026-11-01T00:50:00Z"),
        (at(2000), None, None, None, "after the period"),
        # Results older than the horizon may have been pruned: the check is older.
        (at(-60), None, HORIZON, at(0), "probed since before the period"),
        (at(30), None, at(45), at(0), "probed since before the oldest results kept"),
        (at(50), None, at(45), at(50), "first probed at"),
    ],
)
def test_counting_starts_at_the_first_known_result_or_the_period_start(
    first_result: datetime | None,
    first_onset: datetime | None,
    horizon: datetime | None,
    expected: datetime | None,
    why: str,
) -> None:
    start, reason = counted_from(DAY, first_result, first_onset, horizon)
    assert start == expected
    assert why in reason


def test_period_bounds_are_times_durations_ago_or_now() -> None:
    now = at(0)
    assert parse_bound("30d", now) == now - timedelta(days=30)
    assert parse_bound("now", now) == now
    assert parse_bound("2026-10-01T00:00:00+02:00", now) == datetime(2026, 9, 30, 22, tzinfo=UTC)
    for bad in ("yesterday", "2026-10-01T00:00:00"):
        with pytest.raises(ValueError, match=bad):
            parse_bound(bad, now)
    with pytest.raises(ValueError, match="must be before"):
        period_between(now, now, now)
    assert period_between(now, at(60), at(30)) == Period(now, at(30))


def test_the_table_shows_every_figure_a_person_asks_for(stats: Statistics) -> None:
    table = render_table(as_json(stats))
    assert "3 configured, 2 affected (66.7%)" in table
    assert "emergency 3, overrun 1, planned 1" in table
    assert "MTTA               6m" in table
    assert "97.917%" in table  # acme-portal: 1 - 30/1440
    assert "never probed" in table
