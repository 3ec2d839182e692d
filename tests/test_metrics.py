"""`/metrics` as Prometheus reads it: every contract series from start-up, bounded labels.

The per-check families are written by sitewatch itself (checkmetrics.py), not by
prometheus_client: the second half holds their text to what prometheus_client's own
Histogram, Counter and Gauge would write for the same observations.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    enable_created_metrics,
    generate_latest,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import CLOCK, SERVICE
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.model import (
    Cause,
    Classification,
    Outage,
    ProbeResult,
    ResultKind,
    State,
    Transition,
    TransitionKind,
)
from sitewatch.stats.metrics import LOOPS, Metrics
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
    "outcome": {"sent", "failed", "skipped"},
    "loop": set(LOOPS),
    "location": {"default"},
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
    started = Transition(TransitionKind.STARTED, outage.onset, outage, "2 failures")
    service = client.app[SERVICE]
    spec = service.settings.check("portal")
    assert spec is not None
    async with service.store.transaction() as tx:
        record = await service.recorder.record(tx, spec, started, outage.onset)
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

    # The gauge follows the windows in the database, read once a second.
    await clock.advance(timedelta(seconds=1))
    deadline = time.monotonic() + 10
    while value(await scrape(client), "sitewatch_maintenance_active", customer="acme") != 1:
        assert time.monotonic() < deadline, "the gauge never showed the active window"
        await clock.advance(timedelta(0))
    families = await scrape(client)
    assert value(families, "sitewatch_maintenance_active", customer="globex") == 0


# The per-check families against prometheus_client's own instruments.

PROBE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
PER_CHECK = (
    "sitewatch_probe_duration_seconds",
    "sitewatch_probe_results",
    "sitewatch_check_up",
    "sitewatch_check_state",
)
Family = tuple[str, str, list[Sample]]
"""A parsed family: its type, its HELP text, its samples."""
# Bounds exactly, above the last bound, zero, a sum that prints as 1.5e+06, and label
# values that need escaping: what prometheus_client's formatting has special cases for.
OBSERVATIONS = (
    ("portal", "acme", ResultKind.OK, 0.005),
    ("portal", "acme", ResultKind.OK, 0.0),
    ("portal", "acme", ResultKind.OK, 0.0051),
    ("portal", "acme", ResultKind.TIMEOUT, 30.0),
    ("portal", "acme", ResultKind.TIMEOUT, 31.5),
    ("portal", "acme", ResultKind.SLOW, 1_500_000.25),
    ("api", "globex", ResultKind.DNS, 0.0123),
    ("api", "globex", ResultKind.OK, 0.25),
    ('od"d', "in\\it\nech", ResultKind.LOGIN_REJECTED, 2.5),
)
STATES = (
    ("portal", "acme", State.UP),
    ("portal", "acme", State.DOWN),
    ("api", "globex", State.MAINTENANCE),
    ('od"d', "in\\it\nech", State.UP),
)


class Reference:
    """The per-check families as prometheus_client instruments, as sitewatch first had them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        pairs = ["check", "customer"]
        self.duration = Histogram(
            "sitewatch_probe_duration_seconds",
            "Duration of one probe (a whole scripted logon).",
            pairs,
            buckets=PROBE_BUCKETS,
            registry=self.registry,
        )
        self.results = Counter(
            "sitewatch_probe_results_total",
            "Probe results by kind (ok or a failure kind).",
            [*pairs, "result"],
            registry=self.registry,
        )
        self.up = Gauge(
            "sitewatch_check_up", "1 when the check is up, else 0.", pairs, registry=self.registry
        )
        self.state = Gauge(
            "sitewatch_check_state",
            "1 for the check's current state, 0 for the others.",
            [*pairs, "state"],
            registry=self.registry,
        )

    def register(self, check: str, customer: str) -> None:
        self.duration.labels(check, customer)
        self.set_state(check, customer, State.UNKNOWN)
        for kind in ResultKind:
            self.results.labels(check, customer, kind.value)

    def observe(self, check: str, customer: str, kind: ResultKind, seconds: float) -> None:
        self.duration.labels(check, customer).observe(seconds)
        self.results.labels(check, customer, kind.value).inc()

    def set_state(self, check: str, customer: str, state: State) -> None:
        self.up.labels(check, customer).set(1 if state is State.UP else 0)
        for candidate in State:
            self.state.labels(check, customer, candidate.value).set(1 if candidate is state else 0)


def observed(metrics: Metrics, reference: Reference) -> None:
    """Register the checks and feed both the same observations and states."""
    checks = sorted({(check, customer) for check, customer, *_ in OBSERVATIONS})
    metrics.register_checks(checks)
    for check, customer in checks:
        reference.register(check, customer)
    now = datetime.now(UTC)
    for check, customer, kind, seconds in OBSERVATIONS:
        metrics.observe_probe(customer, ProbeResult(check, now, timedelta(seconds=seconds), kind))
        reference.observe(check, customer, kind, seconds)
    for check, customer, state in STATES:
        metrics.set_state(check, customer, state)
        reference.set_state(check, customer, state)


def parse(text: str, only: tuple[str, ...] | None = None) -> dict[str, Family]:
    """Parse the text into families (of the names in `only`, and their `_created` gauges).

    A `_created` sample's value is the wall-clock time its series was created: two
    registries create theirs microseconds apart, so it is checked against now and then
    replaced by 0.
    """
    families = {}
    for family in text_string_to_metric_families(text):
        if only is not None and family.name.removesuffix("_created") not in only:
            continue
        created = [s for s in family.samples if s.name.endswith("_created")]
        assert all(abs(s.value - time.time()) < 60 for s in created), created
        samples = [s._replace(value=0.0) if s in created else s for s in family.samples]
        families[family.name] = (family.type, family.documentation, samples)
    return families


def per_check_families(text: str) -> dict[str, Family]:
    return parse(text, PER_CHECK)


def created_samples(families: dict[str, Family]) -> int:
    return sum(s.name.endswith("_created") for _, _, samples in families.values() for s in samples)


@pytest.fixture(params=["with _created", "without _created"])
def created(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Run with prometheus_client's `_created` samples on, then off (its global switch)."""
    if request.param == "without _created":
        disable_created_metrics()
    try:
        yield request.param == "with _created"
    finally:
        enable_created_metrics()


@pytest.mark.parametrize("reader", ["render", "registry"])
def test_the_per_check_families_read_as_prometheus_clients_own_instruments_would(
    created: bool, reader: str
) -> None:
    metrics, reference = Metrics(), Reference()
    observed(metrics, reference)
    text = metrics.render() if reader == "render" else generate_latest(metrics.registry)

    ours = per_check_families(text.decode())
    theirs = per_check_families(generate_latest(reference.registry).decode())

    assert ours == theirs
    assert set(ours) == set(PER_CHECK) | (
        {f"{name}_created" for name in PER_CHECK[:2]} if created else set()
    )
    assert created_samples(ours) == (3 * (1 + len(ResultKind)) if created else 0)


def test_the_per_check_families_are_written_as_prometheus_client_writes_them() -> None:
    metrics, reference = Metrics(), Reference()
    disable_created_metrics()  # The only values that differ: the creation times.
    try:
        observed(metrics, reference)
        ours = metrics.render().decode()
        theirs = generate_latest(reference.registry).decode()
    finally:
        enable_created_metrics()
    assert ours.startswith(theirs)


def test_metrics_renders_every_family_its_registry_yields_and_nothing_else() -> None:
    metrics, reference = Metrics(), Reference()
    observed(metrics, reference)
    metrics.register_customers(["acme", "globex"])
    metrics.pages.labels("sent").inc()
    metrics.scheduler_lag.observe(0.003)

    rendered = parse(metrics.render().decode())

    assert rendered == parse(generate_latest(metrics.registry).decode())
    assert "sitewatch_scheduler_lag_seconds" in rendered


def test_every_per_check_series_exists_before_the_first_probe() -> None:
    metrics = Metrics()
    metrics.register_checks([("portal", "acme")])
    families = per_check_families(metrics.render().decode())
    buckets = [s for s in families["sitewatch_probe_duration_seconds"][2] if "le" in s.labels]
    assert [s.labels["le"] for s in buckets] == [*(str(float(b)) for b in PROBE_BUCKETS), "+Inf"]
    assert {s.value for s in buckets} == {0.0}
    results = families["sitewatch_probe_results"][2]
    assert {s.labels["result"] for s in results if s.name.endswith("_total")} == {
        k.value for k in ResultKind
    }
    states = {s.labels["state"]: s.value for s in families["sitewatch_check_state"][2]}
    assert states == {"unknown": 1.0, "up": 0.0, "down": 0.0, "maintenance": 0.0}


def test_observations_change_values_and_never_add_series() -> None:
    metrics = Metrics()
    checks = [("portal", "acme"), ("api", "globex")]
    metrics.register_checks(checks)

    def series() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        families = per_check_families(metrics.render().decode())
        return [(s.name, tuple(s.labels.items())) for _, _, ss in families.values() for s in ss]

    at_start = series()
    now = datetime.now(UTC)
    for n, kind in enumerate(list(ResultKind) * 10):
        check, customer = checks[n % len(checks)]
        result = ProbeResult(check, now, timedelta(seconds=n / 3), kind)
        metrics.observe_probe(customer, result)
        metrics.set_state(check, customer, list(State)[n % len(State)])

    assert series() == at_start
    bounded = {
        "check": {"portal", "api"},
        "customer": {"acme", "globex"},
        "result": {k.value for k in ResultKind},
        "state": {s.value for s in State},
        "le": {*(str(float(b)) for b in PROBE_BUCKETS), "+Inf"},
    }
    for name, labels in at_start:
        for label, text in labels:
            assert text in bounded[label], (name, label, text)


def test_a_render_on_another_thread_sees_whole_histograms_while_probes_are_counted() -> None:
    metrics = Metrics()
    metrics.register_checks([(f"check-{i}", "acme") for i in range(50)])
    done = threading.Event()

    def observe() -> None:
        now = datetime.now(UTC)
        for n in range(60_000):
            # New checks too: the table grows while it is being read.
            check = f"check-{n % 60 if n < 30_000 else n % 50}"
            result = ProbeResult(check, now, timedelta(seconds=(n % 40) / 10), ResultKind.OK)
            metrics.observe_probe("acme", result)
        done.set()

    # Switch threads as often as the interpreter can, so that renders are interrupted.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    observer = threading.Thread(target=observe)
    try:
        observer.start()
        renders = 0
        while not done.is_set() or renders == 0:
            renders += 1
            families = per_check_families(metrics.render().decode())
            samples = families["sitewatch_probe_duration_seconds"][2]
            for check in {s.labels["check"] for s in samples}:
                mine = [s for s in samples if s.labels["check"] == check]
                buckets = [s.value for s in mine if s.name.endswith("_bucket")]
                [count] = [s.value for s in mine if s.name.endswith("_count")]
                assert buckets == sorted(buckets) and buckets[-1] == count, (check, mine)
    finally:
        observer.join()
        sys.setswitchinterval(interval)
