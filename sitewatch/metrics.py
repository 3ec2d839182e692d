"""Prometheus instruments: one object owning its registry, every contract metric."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from sitewatch.model import Classification, ProbeResult, ResultKind, State

# Probe durations range from a fast loopback logon (ms) to a probe timeout (s).
_PROBE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Lateness should stay in milliseconds; seconds mean overload.
_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Onset to first page: confirm x retry_interval plus a probe, tens of seconds.
_DETECTION_BUCKETS = (1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600)


class Metrics:
    """Own a CollectorRegistry and every instrument sitewatch exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.probe_duration = Histogram(
            "sitewatch_probe_duration_seconds",
            "Duration of one probe (a whole scripted logon).",
            ["check", "customer"],
            buckets=_PROBE_BUCKETS,
            registry=r,
        )
        self.probe_results = Counter(
            "sitewatch_probe_results_total",
            "Probe results by kind (ok or a failure kind).",
            ["check", "customer", "result"],
            registry=r,
        )
        self.check_up = Gauge(
            "sitewatch_check_up",
            "1 when the check is up, else 0.",
            ["check", "customer"],
            registry=r,
        )
        self.check_state = Gauge(
            "sitewatch_check_state",
            "1 for the check's current state, 0 for the others.",
            ["check", "customer", "state"],
            registry=r,
        )
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
        self.pages.labels("sent")
        self.pages.labels("failed")

    def register_checks(self, checks: Iterable[tuple[str, str]]) -> None:
        """Create every per-check series at start-up so dashboards see them at once."""
        for check, customer in checks:
            self.probe_duration.labels(check, customer)
            self.set_state(check, customer, State.UNKNOWN)
            for kind in ResultKind:
                self.probe_results.labels(check, customer, kind.value)

    def register_customers(self, customers: Iterable[str]) -> None:
        """Create every per-customer series at start-up."""
        for customer in customers:
            self.maintenance_active.labels(customer).set(0)
            for classification in Classification:
                self.outages.labels(customer, classification.value)

    def observe_probe(self, customer: str, result: ProbeResult) -> None:
        """Count one probe result and its duration."""
        self.probe_duration.labels(result.check_id, customer).observe(
            result.duration.total_seconds()
        )
        self.probe_results.labels(result.check_id, customer, result.kind.value).inc()

    def set_state(self, check: str, customer: str, state: State) -> None:
        """Show the check's state on both state gauges."""
        self.check_up.labels(check, customer).set(1 if state is State.UP else 0)
        for candidate in State:
            self.check_state.labels(check, customer, candidate.value).set(
                1 if candidate is state else 0
            )

    def render(self) -> bytes:
        """Return the registry in the Prometheus text format."""
        return generate_latest(self.registry)
