"""The command line as a user drives it: `sitewatch check`, `probe`, `run` as processes."""

from __future__ import annotations

import argparse
import os
import re
import signal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sitewatch import cli
from sitewatch.demo.site import SimulatedSite, SiteMode
from tests.harness import (
    CUSTOMER_TOKEN,
    ENV,
    PROBE_PASSWORD,
    Service,
    ServiceConfig,
    logon_check,
    run_cli,
    run_cli_async,
    wait_for_state,
)

CONTRACT_METRICS = {
    "sitewatch_probe_duration_seconds": "histogram",
    "sitewatch_probe_results": "counter",
    "sitewatch_check_up": "gauge",
    "sitewatch_check_state": "gauge",
    "sitewatch_maintenance_active": "gauge",
    "sitewatch_outages": "counter",
    "sitewatch_tickets_open": "gauge",
    "sitewatch_pages": "counter",
    "sitewatch_detection_seconds": "histogram",
    "sitewatch_scheduler_lag_seconds": "histogram",
}


def test_check_accepts_the_shipped_example_config() -> None:
    shipped = [Path("config/sitewatch.yaml"), *Path("checks").glob("*.yaml")]
    names = {m for path in shipped for m in re.findall(r"\$\{(\w+)\}", path.read_text())}
    env = {name: f"secret-value-of-{name.lower()}" for name in names}
    done = run_cli("check", "-c", "config/sitewatch.yaml", env=env)
    assert done.returncode == 0, done.stderr
    assert "acme-portal" in done.stdout
    assert "secret-value-of" not in done.stdout + done.stderr


def test_check_lists_every_problem_with_file_line_and_key_and_exits_2(tmp_path: Path) -> None:
    config = ServiceConfig(
        tmp_path,
        checks={
            "a": logon_check("a", "http://127.0.0.1:1", customer="nobody"),
            "b": "id: b\ncustomer: acme\nname: B\nsteps: []\n",
        },
    )
    config.write()
    config.path.write_text(config.path.read_text().replace("interval: 500ms", "interval: soon"))
    done = run_cli("check", "-c", str(config.path))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any("sitewatch.yaml:5: defaults.interval: " in line for line in lines), lines
    assert any("a.yaml:2: customer: " in line for line in lines), lines
    assert any("b.yaml:4: steps: " in line for line in lines), lines
    assert lines[-1] == "3 problem(s) found; nothing was started."


def test_check_reports_a_missing_config_file(tmp_path: Path) -> None:
    done = run_cli("check", "-c", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert "nope.yaml" in done.stderr


async def test_probe_prints_each_step_and_exits_0_when_the_logon_works(
    tmp_path: Path, simulated_site_url: str
) -> None:
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", simulated_site_url)})
    config.write()
    done = await run_cli_async("probe", "-c", str(config.path), "portal")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok   step") == 3
    assert "portal: ok" in done.stdout
    assert PROBE_PASSWORD not in done.stdout


async def test_probe_says_what_failed_and_exits_1_when_the_logon_is_rejected(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.REJECT
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", simulated_site_url)})
    config.write()
    done = await run_cli_async("probe", "-c", str(config.path), "portal")
    assert done.returncode == 1
    assert "FAILED: login_rejected" in done.stdout
    assert "step 2 POST" in done.stdout
    assert PROBE_PASSWORD not in done.stdout


def test_probe_of_an_unknown_check_exits_2(tmp_path: Path) -> None:
    config = ServiceConfig(tmp_path)
    config.write()
    done = run_cli("probe", "-c", str(config.path), "no-such-check")
    assert done.returncode == 2
    assert "unknown check 'no-such-check'" in done.stderr


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_run_follows_a_site_down_and_up_and_stops_cleanly_on_sigterm(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, loop: str
) -> None:
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", simulated_site_url)})
    config.write()
    service = await Service(config, env={"SITEWATCH_EVENT_LOOP": loop}).start()
    try:
        metrics = (await service.api("GET", "/metrics"))[1]
        families = {f.name: f.type for f in text_string_to_metric_families(metrics)}
        for name, kind in CONTRACT_METRICS.items():
            assert families.get(name) == kind, name

        await wait_for_state(service, "portal", "up")
        simulated_site.mode = SiteMode.ERROR
        await wait_for_state(service, "portal", "down")
        simulated_site.mode = SiteMode.UP
        await wait_for_state(service, "portal", "up")

        status, body = await service.api("GET", "/api/v1/checks", token=CUSTOMER_TOKEN)
        assert status == 200 and [c["id"] for c in body["checks"]] == ["portal"]
        status, _ = await service.api("GET", "/api/v1/checks", token="wrong")
        assert status == 401
    finally:
        code = service.stop(signal.SIGTERM)
    assert code == 0, service.log()
    assert f"event loop {loop}" in service.log()
    assert "stopped cleanly" in service.log()
    assert PROBE_PASSWORD not in service.log()


def test_run_takes_the_variables_its_config_read_out_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Out of the environment, 10,000 probe passwords cost nothing where a library scans
    # it (the HTTP client under Apprise does, on every page) and reach no child process.
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", "http://127.0.0.1:1")})
    config.write()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SITEWATCH_UNRELATED", "stays")
    environ = cli._ReadNames(os.environ)
    settings = cli._load(argparse.Namespace(config=config.path), environ)
    assert settings is not None
    cli._forget(environ.read)
    assert "TEST_PROBE_PASSWORD" not in os.environ
    assert os.environ["SITEWATCH_UNRELATED"] == "stays"
    assert PROBE_PASSWORD in settings.checks[0].secrets  # the value lives on in memory


def test_run_refuses_an_unknown_event_loop_with_exit_2(tmp_path: Path) -> None:
    config = ServiceConfig(tmp_path)
    config.write()
    done = run_cli("run", "-c", str(config.path), env={"SITEWATCH_EVENT_LOOP": "trio"})
    assert done.returncode == 2
    assert "$SITEWATCH_EVENT_LOOP='trio': use one of auto, asyncio, uvloop" in done.stderr
