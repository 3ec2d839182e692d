"""Prometheus instruments: one object owning its registry, every contract metric."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from sitewatch.model import Cause, Classification, ProbeResult, State, Window
from sitewatch.stats.checkmetrics import CheckMetrics

# Lateness should stay in milliseconds; seconds mean overload. The sub-millisecond and
# 2 ms bounds resolve a healthy prober's p50/p99 (bench/README.md); 30 s and 60 s
# tell how long a stall of the event loop lasted, where 10 s would only say "more".
_LAG_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)
# Onset to first page: confirm x retry_interval plus a probe, tens of seconds.
_DETECTION_BUCKETS = (1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600)
# Due to sent: well under a second normally; retries back off from 10 s to minutes.
_DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


LOOPS = (
    "scheduler",
    "results",
    "ticker",
    "gauges",
    "escalation",
    "dispatcher",
    "membership",
    "leader",
    "retention",
    "departures",
    "heartbeat",
    "ack",
)
"""The loops whose unexpected exceptions `sitewatch_internal_errors_total` counts."""


class Metrics:
    """Own a CollectorRegistry and every instrument sitewatch exports.

    The per-check families live in `checks`, a compact table (checkmetrics.py); the
    rest are prometheus_client instruments in a registry of their own. `registry`
    yields both, in that order, for whoever reads samples; `render` lets the table
    write its own text, and prometheus_client the rest. A new instrument therefore
    goes into `self._instruments` (a test compares `render` with `registry`).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.checks = CheckMetrics()
        self._instruments = CollectorRegistry()
        self.registry = registry or CollectorRegistry()
        self.registry.register(self.checks)
        self.registry.register(self._instruments)
        self._in_force: dict[str, int] = {}
        """Each customer's `sitewatch_maintenance_active`, as last set."""
        r = self._instruments
        self.maintenance_active = Gauge(
            "sitewatch_maintenance_active",
            "Planned events in progress for the customer.",
            ["customer"],
            registry=r,
        )
        self.outages = Counter(
            "sitewatch_outages_total",
            "Confirmed outages by classification.",
            ["customer", "classification"],
            registry=r,
        )
        self.tickets_open = Gauge("sitewatch_tickets_open", "Tickets not yet resolved.", registry=r)
        self.pages = Counter(
            "sitewatch_pages_total",
            "Page delivery attempts by outcome (sent, failed).",
            ["outcome"],
            registry=r,
        )
        self.detection = Histogram(
            "sitewatch_detection_seconds",
            "Time from an outage's onset to its first page.",
            buckets=_DETECTION_BUCKETS,
            registry=r,
        )
        self.page_delivery = Histogram(
            "sitewatch_page_delivery_seconds",
            "Time from a page being due to Apprise accepting it (retries included).",
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self.pages_undelivered = Counter(
            "sitewatch_pages_undelivered",
            "Pages given up after paging.max_attempts (then sent to paging.fallback).",
            registry=r,
        )
        self.scheduler_lag = Histogram(
            "sitewatch_scheduler_lag_seconds",
            "Actual minus planned probe start.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.internal_errors = Counter(
            "sitewatch_internal_errors_total",
            "Unexpected exceptions caught at a loop boundary (bugs), by loop.",
            ["loop"],
            registry=r,
        )
        self.oncall_unresolved = Counter(
            "sitewatch_oncall_unresolved_total",
            "Escalation rounds in which a named operator or schedule reached nobody.",
            ["target"],
            registry=r,
        )
        self.prober_fault = Gauge(
            "sitewatch_prober_fault",
            "1 while this instance's location is in a prober fault (its own network is suspect).",
            registry=r,
        )
        self.outages_by_cause = Counter(
            "sitewatch_outages_by_cause_total",
            "Tickets resolved, by the root cause the operator recorded.",
            ["cause"],
            registry=r,
        )
        self.webhooks = Counter(
            "sitewatch_webhooks_total",
            "Ticket webhook delivery attempts by outcome (sent, failed).",
            ["outcome"],
            registry=r,
        )
        self.results_dropped = Counter(
            "sitewatch_results_dropped",
            "Probe results dropped from the queue while the database could not take them.",
            registry=r,
        )
        self.cluster_instances = Gauge(
            "sitewatch_cluster_instances",
            "Live instances sharing the database, by location (as this instance sees them).",
            ["location"],
            registry=r,
        )
        self.cluster_leader = Gauge(
            "sitewatch_cluster_leader",
            "1 while this instance holds the leader's lease.",
            registry=r,
        )
        self.heartbeats = Counter(
            "sitewatch_heartbeats",
            "Dead man's switch pings, by outcome (sent, failed, skipped while unhealthy).",
            ["outcome"],
            registry=r,
        )
        self.pages.labels("sent")
        self.pages.labels("failed")
        self.webhooks.labels("sent")
        self.webhooks.labels("failed")
        for outcome in ("sent", "failed", "skipped"):
            self.heartbeats.labels(outcome)
        self.cluster_leader.set(0)
        # Zero series from start-up, so increase() also sees a loop's first error.
        for loop in LOOPS:
            self.internal_errors.labels(loop)
        for cause in Cause:
            self.outages_by_cause.labels(cause.value)

    def register_checks(self, checks: Iterable[tuple[str, str]]) -> None:
        """Create every per-check series at start-up so dashboards see them at once."""
        for check, customer in checks:
            self.checks.add(check, customer)

    def register_customers(self, customers: Iterable[str]) -> None:
        """Create every per-customer series at start-up."""
        for customer in customers:
            self.maintenance_active.labels(customer).set(0)
            self._in_force[customer] = 0
            for classification in Classification:
                self.outages.labels(customer, classification.value)

    def show_windows(
        self, customers: Iterable[str], windows: Iterable[Window], now: datetime
    ) -> None:
        """Set `sitewatch_maintenance_active` to each customer's planned events in force."""
        active = dict.fromkeys(customers, 0)
        for window in windows:
            if window.is_planned_event and window.contains(now):
                active[window.customer] = active.get(window.customer, 0) + 1
        for customer, count in active.items():
            # Set only what changed: this runs every second for every customer (2,000
            # of them at 20,000 checks), and a labelled gauge costs a lookup and a lock.
            if self._in_force.get(customer) != count:
                self.maintenance_active.labels(customer).set(count)
                self._in_force[customer] = count

    def observe_probe(self, customer: str, result: ProbeResult) -> None:
        """Count one probe result and its duration."""
        self.checks.observe(result.check_id, customer, result.kind, result.duration.total_seconds())

    def set_state(self, check: str, customer: str, state: State) -> None:
        """Show the check's state on both state gauges."""
        self.checks.set_state(check, customer, state)

    def set_locations(self, check: str, customer: str, up: dict[str, bool]) -> None:
        """Show whether each location has the check up (`sitewatch_location_check_up`)."""
        self.checks.set_locations(check, customer, up)

    def render_stream(self) -> Iterator[bytes]:
        """Yield every metric in the Prometheus text format, each chunk as it is written.

        Any thread may advance it, one at a time: /metrics writes it on worker threads
        and sends each part as it comes, so a scrape never holds the whole text (~70
        MiB at 20,000 checks) in memory.
        """
        yield from self.checks.render()
        yield generate_latest(self._instruments)

    def render(self) -> bytes:
        """Return every metric in the Prometheus text format; any thread may call it."""
        return b"".join(self.render_stream())
