"""The real `sitewatch run` process: an outage, its ticket resolved, then the statistics."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from sitewatch.demo.site import SimulatedSite, SiteMode
from tests.harness import (
    Service,
    ServiceConfig,
    logon_check,
    run_cli_async,
    until,
    wait_for_state,
)


async def test_statistics_of_a_running_service_count_a_resolved_outage_by_its_cause(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", simulated_site_url)})
    config.write()
    service = await Service(config).start()
    try:

        async def ticket(recovered: bool) -> dict[str, Any] | None:
            tickets = (await service.api("GET", "/api/v1/tickets"))[1]["tickets"]
            found = [t for t in tickets if bool(t["recovered_at"]) is recovered]
            return found[0] if found else None

        await wait_for_state(service, "portal", "up")
        simulated_site.mode = SiteMode.REJECT
        opened = await until("an emergency ticket", lambda: ticket(recovered=False))
        status, _ = await service.api("POST", f"/api/v1/tickets/{opened['id']}/ack", json={})
        assert status == 200
        simulated_site.mode = SiteMode.UP
        await until("the recovery on the ticket", lambda: ticket(recovered=True))
        resolution = {"cause": "network", "note": "upstream router"}
        path = f"/api/v1/tickets/{opened['id']}/resolve"
        assert (await service.api("POST", path, json=resolution))[0] == 200

        status, stats = await service.api("GET", "/api/v1/stats")
        assert status == 200, stats
        assert stats["outages"] == {"emergency": 1, "overrun": 0, "planned": 0}
        assert stats["customers"] == 2 and stats["customers_affected"] == 1
        assert stats["by_cause"]["network"] == 1 and sum(stats["by_cause"].values()) == 1
        assert stats["by_cause_minutes"]["network"] > 0
        assert stats["mtta_seconds"] is not None and stats["mtta_seconds"] >= 0
        assert stats["mttr_seconds"] > 0
        assert 0 < stats["availability"]["portal"] < 1

        metrics = (await service.api("GET", "/metrics"))[1]
        causes = {
            s.labels["cause"]: s.value
            for f in text_string_to_metric_families(metrics)
            if f.name == "sitewatch_outages_by_cause"
            for s in f.samples
            if s.name.endswith("_total")
        }
        assert causes["network"] == 1 and causes["software"] == 0

        # The command line reads the same database while the service runs.
        done = await run_cli_async("stats", "-c", str(config.path), "--since", "1h")
        assert done.returncode == 0, done.stderr
        assert "emergency 1, overrun 0, planned 0" in done.stdout
        assert "network                             1" in done.stdout
    finally:
        code = service.stop(signal.SIGTERM)
    assert code == 0, service.log()


async def test_stats_without_a_database_says_so_and_exits_2(tmp_path: Path) -> None:
    config = ServiceConfig(tmp_path)
    config.write()
    done = await run_cli_async("stats", "-c", str(config.path))
    assert done.returncode == 2
    assert "no database at" in done.stderr
    assert not (tmp_path / "sitewatch.db").exists()
    bad = await run_cli_async("stats", "-c", str(config.path), "--since", "last week")
    assert bad.returncode == 2 and "'last week' is neither" in bad.stderr
