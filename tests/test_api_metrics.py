"""The outage, ticket and maintenance metrics, read as Prometheus reads /metrics.

`sitewatch_outages_total` counts classifications as they happen: an outage is
counted `emergency` or `planned` when confirmed, and a planned one that overruns is
counted `overrun` too. So `emergency + overrun` is the number of tickets opened.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import SERVICE, SETTINGS
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.model import ProbeResult, ResultKind
from tests.api_harness import RECURRING, Api, start_api
from tests.harness import ENV, ServiceConfig


async def metric(api: Api, name: str, **labels: str) -> float:
    """Scrape /metrics and return the one sample with this name and these labels."""
    status, text = await api.call("GET", "/metrics", "nobody")
    assert status == 200
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels == labels
    ]
    assert len(found) == 1, (name, labels)
    return found[0]


async def eventually(api: Api, name: str, wanted: float, **labels: str) -> None:
    """Let housekeeping run (a fake second at a time) until the metric shows `wanted`."""
    deadline = time.monotonic() + 10
    while await metric(api, name, **labels) != wanted:
        assert time.monotonic() < deadline, f"{name}{labels} never became {wanted}"
        await api.clock.advance(timedelta(seconds=1))


async def fail_twice(api: Api, check_id: str) -> None:
    """Feed the monitor two failed probes of a check, as the scheduler would."""
    spec = api.app[SETTINGS].check(check_id)
    assert spec is not None
    for _ in range(2):
        result = ProbeResult(check_id, api.clock.now(), timedelta(milliseconds=5), ResultKind.DNS)
        await api.app[SERVICE].monitor.on_result(spec, result)
    await api.app[SERVICE].monitor.flush()


OUTAGES = "sitewatch_outages_total"


async def test_outages_are_counted_by_classification_as_they_are_confirmed(api: Api) -> None:
    for classification in ("emergency", "planned", "overrun"):
        assert await metric(api, OUTAGES, customer="acme", classification=classification) == 0

    await fail_twice(api, "portal")
    now = api.clock.now()
    window = await api.window(
        checks=("shop",), start=now - timedelta(hours=1), declared_at=now - timedelta(hours=2)
    )
    await fail_twice(api, "shop")
    assert await metric(api, OUTAGES, customer="acme", classification="emergency") == 1
    assert await metric(api, OUTAGES, customer="acme", classification="planned") == 1
    assert await metric(api, OUTAGES, customer="acme", classification="overrun") == 0

    # The customer ends the window while the site is still down: it overruns.
    path = f"/api/v1/maintenance/{window.id}"
    assert (await api.call("PATCH", path, "customer", json={"end": now.isoformat()}))[0] == 200
    await api.app[SERVICE].escalator.tick()  # a leader's loop, to show it does not count
    async with api.app[SERVICE].store.transaction() as tx:
        judged = await api.app[SERVICE].recorder.judge(tx, ["shop"], now=now, tick=True)
    api.app[SERVICE].monitor.report(judged)
    assert await metric(api, OUTAGES, customer="acme", classification="planned") == 1
    assert await metric(api, OUTAGES, customer="acme", classification="overrun") == 1
    assert await metric(api, OUTAGES, customer="globex", classification="emergency") == 0
    _, tickets = await api.call("GET", "/api/v1/tickets")
    assert sorted(t["classification"] for t in tickets["tickets"]) == ["emergency", "overrun"]


async def test_open_tickets_are_those_not_yet_resolved(
    tmp_path: Path, aiohttp_client: AiohttpClient, simulated_site_url: str
) -> None:
    # The checks log on to a working site: probes woken by the fake clock change nothing.
    api = await start_api(tmp_path, aiohttp_client, site=simulated_site_url)
    first = await api.ticket("portal")
    second = await api.ticket("webmail", "globex")
    await eventually(api, "sitewatch_tickets_open", 2)
    await api.call("POST", f"/api/v1/tickets/{first.id}/ack")
    await api.call("POST", f"/api/v1/tickets/{second.id}/resolve", json={"cause": "hardware"})
    await eventually(api, "sitewatch_tickets_open", 1)


async def test_a_recurring_window_in_force_shows_on_the_maintenance_gauge(
    tmp_path: Path, aiohttp_client: AiohttpClient, simulated_site_url: str
) -> None:
    sunday = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # 02:30 Berlin: inside 02:00-04:00
    api = await start_api(
        tmp_path, aiohttp_client, extra=RECURRING, clock=FakeClock(sunday), site=simulated_site_url
    )
    await eventually(api, "sitewatch_maintenance_active", 1, customer="acme")
    assert await metric(api, "sitewatch_maintenance_active", customer="globex") == 0


async def test_a_customer_without_checks_still_shows_its_planned_events(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    config = ServiceConfig(tmp_path)
    path = config.write()
    initech = '  - {id: initech, name: Initech, token: "initech-token"}\n'
    path.write_text(path.read_text().replace("customers:\n", "customers:\n" + initech))
    clock = FakeClock()
    api = Api(await aiohttp_client(build_app(load_settings(path, ENV), clock=clock)), clock)
    await api.window(customer="initech", start=clock.now(), end=clock.now() + timedelta(hours=1))
    await eventually(api, "sitewatch_maintenance_active", 1, customer="initech")
