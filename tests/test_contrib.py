"""contrib/: the Prometheus alerting rules and the Grafana dashboard name real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sitewatch.stats.metrics import Metrics

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"
RULES = CONTRIB / "prometheus-rules.yml"
DASHBOARD = CONTRIB / "grafana-dashboard.json"
# Grafana's variables, replaced by values Prometheus accepts to check the queries.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__range": "1d",
    "$job": "sitewatch",
    "$customer": ".*",
    "$check": ".*",
}


def exported_names() -> set[str]:
    """Return every sample name sitewatch exports (with _total, _bucket, ... suffixes)."""
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
    return {
        family.name + suffix
        for family in Metrics().registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is not installed: `apt-get install prometheus` (Debian) provides it;"
            " .ci/run installs it"
        )
    return found


def named_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\b(sitewatch_[a-z_]+|up)\b(?=\s*[{\[)\s]|$)", expr))


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    document = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in document["panels"] for t in p.get("targets", [])]


def test_promtool_accepts_the_alerting_rules() -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_the_rules_watch_the_watcher_and_the_ticket_queue() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    assert 'up{job="sitewatch"} == 0' in by_name["SitewatchDown"]["expr"]
    assert "sitewatch_scheduler_lag_seconds_bucket" in by_name["SitewatchSchedulerLagHigh"]["expr"]
    assert 'outcome="failed"' in by_name["SitewatchPagesFailing"]["expr"]
    assert "sitewatch_prober_fault" in by_name["SitewatchProberFault"]["expr"]
    assert "sitewatch_tickets_open" in by_name["SitewatchTicketsOpenTooLong"]["expr"]
    for rule in by_name.values():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]


def test_every_metric_the_rules_and_the_dashboard_use_is_one_sitewatch_exports() -> None:
    known = exported_names() | {"up"}
    queries = [rule["expr"] for rule in rules()] + dashboard_queries()
    used = set().union(*(named_metrics(q) for q in queries))
    assert used - known == set()
    # And the dashboard shows what operators look for.
    for wanted in (
        "sitewatch_check_up",
        "sitewatch_check_state",
        "sitewatch_probe_duration_seconds_bucket",
        "sitewatch_probe_results_total",
        "sitewatch_outages_total",
        "sitewatch_outages_by_cause_total",
        "sitewatch_tickets_open",
        "sitewatch_pages_total",
        "sitewatch_detection_seconds_bucket",
        "sitewatch_scheduler_lag_seconds_bucket",
    ):
        assert any(wanted in q for q in dashboard_queries()), wanted


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    checked = []
    for number, query in enumerate(dashboard_queries()):
        expr = query
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        checked.append({"record": f"dashboard:query_{number}", "expr": expr})
    as_rules = tmp_path / "dashboard-queries.yml"
    as_rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": checked}]}))
    done = subprocess.run(
        [promtool(), "check", "rules", str(as_rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_is_an_importable_grafana_document() -> None:
    document = json.loads(DASHBOARD.read_text())
    assert document["uid"] == "sitewatch" and document["schemaVersion"] >= 36
    variables = {v["name"]: v for v in document["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))
    for panel in document["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
