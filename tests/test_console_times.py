"""A customer's time zone: from the config, and how the console reads and shows times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitewatch.api.console.times import local_input, moment, parse_local, zone_label
from sitewatch.config.loader import ConfigError, load_settings
from tests.harness import ENV, ServiceConfig

BERLIN = ZoneInfo("Europe/Berlin")


def settings_with(tmp_path: Path, customer_line: str) -> Path:
    config = ServiceConfig(tmp_path)
    path = config.write()
    acme = 'name: Acme Corp, token: "${TEST_CUSTOMER_TOKEN}"'
    path.write_text(path.read_text().replace(acme, acme + customer_line))
    return path


def test_a_customer_without_a_time_zone_is_in_utc_and_one_may_name_its_own(
    tmp_path: Path,
) -> None:
    settings = load_settings(settings_with(tmp_path, ", timezone: America/New_York"), ENV)

    assert [(c.id, c.timezone) for c in settings.customers] == [
        ("acme", "America/New_York"),
        ("globex", "UTC"),
    ]


def test_an_unknown_time_zone_is_a_located_config_error_with_a_suggestion(
    tmp_path: Path,
) -> None:
    path = settings_with(tmp_path, ", timezone: Europe/Berln")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, ENV)

    [problem] = [str(p) for p in caught.value.problems]
    assert problem.endswith(
        "customers[0].timezone: unknown time zone 'Europe/Berln': use an IANA name"
        " (did you mean Europe/Berlin?)"
    )


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("2026-11-26T12:00", datetime(2026, 11, 26, 11, 0, tzinfo=UTC)),  # CET, UTC+1
        ("2026-07-01T12:00", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),  # CEST, UTC+2
        ("2026-11-26T12:00:30", datetime(2026, 11, 26, 11, 0, 30, tzinfo=UTC)),
        # 02:30 happens twice on the fall-back night: the first one is meant.
        ("2026-10-25T02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_wall_time_typed_in_a_zone_is_read_as_that_zones_instant(
    typed: str, utc: datetime
) -> None:
    assert parse_local(typed, BERLIN) == utc


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("2026-03-29T02:30", "does not exist in Europe/Berlin"),
        ("2026-02-30T10:00", "is not a date and time"),
        ("26.11.2026 10:00", "is not a date and time"),
        ("0001-01-01T00:00", "is not a date and time"),  # before year 1 in UTC
    ],
)
def test_a_wall_time_that_names_no_instant_says_why(typed: str, problem: str) -> None:
    parsed = parse_local(typed, BERLIN)

    assert isinstance(parsed, str) and problem in parsed


def test_a_moment_shows_local_time_utc_and_distance_and_a_form_gets_local_values() -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    shown = moment(datetime(2026, 11, 26, 12, 30, tzinfo=UTC), BERLIN, now)

    assert (shown.local, shown.utc, shown.relative) == (
        "2026-11-26 13:30 CET",
        "2026-11-26 12:30 UTC",
        "in 2h30m",
    )
    assert shown.iso == "2026-11-26T12:30:00Z" and not shown.is_utc
    assert moment(now, UTC, now).is_utc
    assert local_input(now, BERLIN) == "2026-11-26T11:00"
    assert zone_label(BERLIN, now) == "Europe/Berlin, UTC+01:00"
    assert zone_label(ZoneInfo("UTC"), now) == "UTC"
