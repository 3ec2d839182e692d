"""`sitewatch check` in one run: every problem, cross-references included, none a traceback.

A user fixing a config should not discover its problems one run at a time: a check
naming an unknown customer, an escalation naming an unknown operator or a token
used twice is reported even when the schema finds problems elsewhere in the same
file. A duration too long to compute with is a located problem like any other.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tests.harness import run_cli
from tests.test_config import CHECK, CONFIG, Site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """Return a config and a checks directory in a temporary working directory."""
    monkeypatch.chdir(tmp_path)
    return Site(tmp_path)


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        (
            "defaults: {interval: 99999999999d}",
            "defaults.interval: a duration may be at most 36500d (100 years), got '99999999999d'",
        ),
        (
            "defaults: {interval: 1.0e+300}",
            "defaults.interval: a duration may be at most 36500d (100 years), got 1e+300",
        ),
        (
            "defaults: {interval: 1e300}",
            "defaults.interval: expected a duration such as 30s, 5m, 2h, 1d, 250ms or a number "
            "of seconds, got '1e300'",
        ),
        ("defaults: {timeout: .inf}", "defaults.timeout: a duration may be at most 36500d"),
        ("defaults: {timeout: -.inf}", "defaults.timeout: a duration cannot be negative"),
        ("defaults: {timeout: .nan}", "defaults.timeout: expected a duration such as 30s"),
        (
            "defaults: {maintenance_grace: 99999999999999999999999999999999999}",
            "defaults.maintenance_grace: a duration may be at most 36500d (100 years), "
            "got a huge number",
        ),
        ("retention: 99999999999d", "retention: a duration may be at most 36500d"),
        ("cluster: {lease: 36501d}", "cluster.lease: a duration may be at most 36500d"),
        ("paging: {ack_link_ttl: 1.0e+20}", "paging.ack_link_ttl: a duration may be at most"),
    ],
)
def test_a_huge_duration_is_a_located_problem_never_an_overflow(
    site: Site, yaml: str, problem: str
) -> None:
    site.config(CONFIG + yaml + "\n")

    problems = site.problems()

    assert len(problems) == 1 and problems[0].startswith("config/sitewatch.yaml:14: "), problems
    assert problem in problems[0]


def test_huge_durations_in_checks_schedules_escalation_and_windows_are_located(
    site: Site,
) -> None:
    site.config(
        CONFIG.replace("    - after: 0s", "    - after: 99999999999d")
        + dedent("""\
            schedules:
              - id: week
                timezone: UTC
                rotation:
                  operators: [alice]
                  shift: 99999999999w
                  handoff: "09:00"
                  start: 2026-11-02
            recurring_maintenance:
              - customer: acme
                kind: other
                every: sunday
                at: "02:00"
                duration: 99999999999d
            """)
    )
    site.check(
        "acme-portal.yaml",
        CHECK.replace("steps:", "interval: 99999999999d\nsteps:")
        + "    expect: {max_time: 1.0e+300}\n",
    )

    assert site.problems() == [
        "config/sitewatch.yaml:12: escalation.levels[0].after: "
        "a duration may be at most 36500d (100 years), got '99999999999d'",
        "config/sitewatch.yaml:19: schedules[0].rotation.shift: "
        "a shift is a whole number of days, such as 1d, 7d or 1w, got '99999999999w'",
        "config/sitewatch.yaml:27: recurring_maintenance[0].duration: "
        "a duration may be at most 36500d (100 years), got '99999999999d'",
        "checks/acme-portal.yaml:4: interval: "
        "a duration may be at most 36500d (100 years), got '99999999999d'",
        "checks/acme-portal.yaml:7: steps[0].expect.max_time: "
        "a duration may be at most 36500d (100 years), got 1e+300",
    ]


BROKEN_CONFIG = """\
listen: localhost
checks: ../checks
customers:
  - id: acme
    name: Acme Corp
    token: shared-token
  - id: acme
    name: Acme again
    token: acme-2-token
    colour: red
operators:
  - id: alice
    token: shared-token
    notify: ["not a url"]
  - id: bob
    token: bob-token
    notify: ["json://127.0.0.1:9000/pages"]
escalation:
  levels:
    - after: 10m
      notify: [alice, carol]
    - after: 5m
      notify: [bob]
recurring_maintenance:
  - customer: initech
    kind: other
    every: sunday
    at: "02:00"
    duration: 2h
paging:
  retry_initial: 10m
  retry_max: 1m
"""


def test_every_cross_reference_is_reported_even_when_the_schema_fails_elsewhere(
    site: Site,
) -> None:
    site.config(BROKEN_CONFIG)
    site.check(
        "a.yaml", CHECK.replace("customer: acme", "customer: initech").replace("name: ", "nam: ")
    )
    site.check(
        "b.yaml",
        CHECK.replace("acme-portal", "b")
        + '  - get: "https://portal.acme.example/{token}"\n    expect: {status: 999}\n',
    )

    assert site.problems() == [
        "config/sitewatch.yaml:1: listen: "
        'expected "host:port" such as "127.0.0.1:8080", got \'localhost\'',
        "config/sitewatch.yaml:7: customers[1].id: duplicate id 'acme' (first used on line 4)",
        "config/sitewatch.yaml:10: customers[1].colour: "
        "unknown key 'colour' (expected one of: id, name, token, timezone)",
        "config/sitewatch.yaml:13: operators[0].token: the same token as customers[0].token: "
        "every customer and operator needs a token of its own",
        "config/sitewatch.yaml:14: operators[0].notify[0]: expected an Apprise URL such as "
        "mailto://user@example.com or json://host:port/path",
        "config/sitewatch.yaml:21: escalation.levels[0].notify[1]: "
        "unknown operator 'carol' (operators: alice, bob)",
        "config/sitewatch.yaml:22: escalation.levels[1].after: "
        "must not be earlier than the level before it",
        "config/sitewatch.yaml:25: recurring_maintenance[0].customer: "
        "unknown customer 'initech' (customers: acme)",
        "config/sitewatch.yaml:32: paging.retry_max: "
        "must not be shorter than retry_initial (10m), got 1m",
        "checks/a.yaml:1: name: required key 'name' is missing",
        "checks/a.yaml:2: customer: unknown customer 'initech' (customers: acme)",
        "checks/a.yaml:3: nam: unknown key 'nam' (expected one of: id, customer, name, "
        "interval, timeout, retry_interval, confirm, recover, steps)",
        "checks/b.yaml:6: steps[1].get: {token} is not extracted by any step",
        "checks/b.yaml:7: steps[1].expect.status: must be at most 599, got the number 999",
    ]


def test_a_token_that_cannot_travel_in_an_http_header_is_refused_and_not_echoed(
    site: Site,
) -> None:
    site.config(
        CONFIG.replace("token: acme-token", 'token: "acme tokén"').replace(
            "token: alice-token", 'token: " alice-token"'
        )
    )

    problems = site.problems()

    assert problems == [
        "config/sitewatch.yaml:5: customers[0].token: a token must be printable ASCII, at most "
        "1024 characters: it is sent in an HTTP header (Authorization: Bearer TOKEN)",
        "config/sitewatch.yaml:8: operators[0].token: "
        "a token must not start or end with a space: it would never match",
    ]
    assert not any("tokén" in p or "alice-token" in p for p in problems)


def test_sitewatch_check_lists_them_all_and_exits_2_without_a_traceback(
    site: Site, tmp_path: Path
) -> None:
    site.config(BROKEN_CONFIG.replace("duration: 2h", "duration: 99999999999d"))
    site.check("a.yaml", CHECK.replace("customer: acme", "customer: initech"))

    done = run_cli("check", "-c", str(tmp_path / "config" / "sitewatch.yaml"))

    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1] == "11 problem(s) found; nothing was started.", lines
    assert any(line.endswith("got '99999999999d'") for line in lines), lines
    assert any("a.yaml:2: customer: unknown customer 'initech'" in line for line in lines)
