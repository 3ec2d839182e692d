"""`sitewatch_location_check_up{check, customer, location}`: each location's own view.

Kept in the compact per-check table (no prometheus_client object per sample: 10,000
checks at three locations would be 30,000 of them), it must read exactly as
prometheus_client's own gauge would.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sitewatch.stats.checkmetrics import LOCATION_UP, CheckMetrics

VIEWS = (
    ("portal", "acme", {"east": True, "west": False}),
    ("api", "globex", {"east": True}),
    ('od"d', "in\\it\nech", {"no\nrth": False}),
)


def family(text: str) -> str:
    """Return the lines of the location family in a text exposition."""
    lines = text.splitlines()
    return "\n".join(line for line in lines if LOCATION_UP in line)


def test_the_location_family_is_exposed_with_its_type_before_any_result() -> None:
    table = CheckMetrics()
    table.add("portal", "acme")
    text = b"".join(table.render()).decode()
    assert f"# TYPE {LOCATION_UP} gauge" in text
    assert [f.name for f in text_string_to_metric_families(text) if f.name == LOCATION_UP] == [
        LOCATION_UP
    ]


def test_each_locations_view_reads_as_prometheus_clients_own_gauge() -> None:
    table, registry = CheckMetrics(), CollectorRegistry()
    reference = Gauge(
        LOCATION_UP,
        "1 when the location has the check up, else 0 (each location's own view).",
        ["check", "customer", "location"],
        registry=registry,
    )
    for check, customer, views in VIEWS:
        table.set_locations(check, customer, {"gone": True})
        table.set_locations(check, customer, views)  # replaces, not adds
        for location, up in views.items():
            reference.labels(check, customer, location).set(1 if up else 0)
    ours = family(b"".join(table.render()).decode())
    assert ours == family(generate_latest(registry).decode())
    collected = next(f for f in table.collect() if f.name == LOCATION_UP)
    assert sorted(
        (s.labels["check"], s.labels["location"], s.value) for s in collected.samples
    ) == [
        ("api", "east", 1),
        ('od"d', "no\nrth", 0),
        ("portal", "east", 1),
        ("portal", "west", 0),
    ]
