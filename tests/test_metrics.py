"""`/metrics` as Prometheus reads it: every contract series from start-up, bounded labels."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import CLOCK, STORE
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config import load_settings
from sitewatch.model import Cause, Classification, ResultKind, State
from sitewatch.outages import CheckStatus, Outage, Transition, TransitionKind
from tests.harness import CUSTOMER_TOKEN, ENV, OPERATOR_TOKEN, ServiceConfig, logon_check

# The contract's table (DESIGN.md "Metrics"); the parser names counters without `_total`.
CONTRACT = {
    "sitewatch_probe_duration_seconds": ("histogram", {"check", "customer"}),
    "sitewatch_probe_results": ("counter", {"check", "customer", "result"}),
    "sitewatch_check_up": ("gauge", {"check", "customer"}),
    "sitewatch_check_state": ("gauge", {"check", "customer", "state"}),
    "sitewatch_maintenance_active": ("gauge", {"customer"}),
    "sitewatch_outages": ("counter", {"customer", "classification"}),
    "sitewatch_tickets_open": ("gauge", set()),
    "sitewatch_pages": ("counter", {"outcome"}),
    "sitewatch_detection_seconds": ("histogram", set()),
    "sitewatch_scheduler_lag_seconds": ("histogram", set()),
    "sitewatch_outages_by_cause": ("counter", {"cause"}),
}
CHECKS = {"portal", "api"}
CUSTOMERS = {"acme", "globex"}
BOUNDED = {
    "check": CHECKS,
    "customer": CUSTOMERS,
    "state": {s.value for s in State},
    "result": {k.value for k in ResultKind},
    "classification": {c.value for c in Classification},
    "cause": {c.value for c in Cause},
    "outcome": {"sent", "failed"},
}
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: AiohttpClient) -> AsyncIterator[TestClient]:
    # Closed ports and a clock that only moves when told: nothing probes on its own.
    checks = {name: logon_check(name, "http://127.0.0.1:9") for name in CHECKS}
    settings = load_settings(ServiceConfig(tmp_path, checks=checks).write(), ENV)
    yield await aiohttp_client(build_app(settings, clock=FakeClock()))


async def scrape(client: TestClient) -> dict[str, tuple[str, list[Sample]]]:
    async with client.get("/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


def value(families: dict[str, tuple[str, list[Sample]]], name: str, **labels: str) -> float:
    family = name.removesuffix("_total")
    found = [s.value for s in families[family][1] if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, families[family][1])
    return found[0]


async def test_every_contract_metric_is_exposed_with_its_type_from_start_up(
    client: TestClient,
) -> None:
    families = await scrape(client)
    for name, (kind, _) in CONTRACT.items():
        assert name in families, f"{name} is missing at start-up"
        assert families[name][0] == kind, name


async def test_every_series_of_a_configured_check_and_customer_exists_at_start_up(
    client: TestClient,
) -> None:
    families = await scrape(client)
    for name, (_, labels) in CONTRACT.items():
        for sample in families[name][1]:
            assert set(sample.labels) - {"le"} == labels, (name, sample)
    for cause in Cause:
        assert value(families, "sitewatch_outages_by_cause_total", cause=cause.value) == 0
    for customer in CUSTOMERS:
        assert value(families, "sitewatch_maintenance_active", customer=customer) == 0
    for check in CHECKS:
        assert (
            value(families, "sitewatch_check_state", check=check, customer="acme", state="unknown")
            == 1
        )


async def test_label_values_come_only_from_closed_sets_and_configured_ids(
    client: TestClient,
) -> None:
    for _, samples in (await scrape(client)).values():
        for sample in samples:
            for label, text in sample.labels.items():
                if label in BOUNDED:
                    assert text in BOUNDED[label], (sample.name, label, text)


async def test_a_resolution_counts_once_by_its_cause(client: TestClient) -> None:
    outage = Outage(FakeClock().now(), ResultKind.CONNECT, Classification.EMERGENCY)
    down = CheckStatus(state=State.DOWN, since=outage.onset, failures=2, outage=outage)
    started = Transition(TransitionKind.STARTED, outage.onset, outage, "2 failures")
    store = client.app[STORE]
    [record] = await store.record_transitions("portal", "acme", down, [started])
    assert record.ticket is not None
    path = f"/api/v1/tickets/{record.ticket.id}/resolve"

    for expected in (200, 409):
        async with client.post(path, json={"cause": "third-party"}, headers=OPERATOR) as answer:
            assert answer.status == expected

    families = await scrape(client)
    assert value(families, "sitewatch_outages_by_cause_total", cause="third-party") == 1
    assert value(families, "sitewatch_outages_by_cause_total", cause="network") == 0


async def test_an_active_planned_event_shows_on_the_maintenance_gauge(client: TestClient) -> None:
    clock = client.app[CLOCK]
    assert isinstance(clock, FakeClock)
    end = (clock.now() + timedelta(hours=1)).isoformat()
    body = {"customer": "acme", "kind": "os-upgrade", "end": end}
    headers = {"Authorization": f"Bearer {CUSTOMER_TOKEN}"}
    async with client.post("/api/v1/maintenance", json=body, headers=headers) as answer:
        assert answer.status == 201

    # The gauge follows the window book on the housekeeping tick (once a second).
    await clock.advance(timedelta(seconds=1))
    deadline = time.monotonic() + 10
    while value(await scrape(client), "sitewatch_maintenance_active", customer="acme") != 1:
        assert time.monotonic() < deadline, "the gauge never showed the active window"
        await clock.advance(timedelta(0))
    families = await scrape(client)
    assert value(families, "sitewatch_maintenance_active", customer="globex") == 0
