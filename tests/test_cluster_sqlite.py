"""A SQLite database serves one instance: a second `sitewatch run` on the file is refused.

The contract ("Storage"): exit 2 and a message that says why and what to use
instead (PostgreSQL). The first instance goes on undisturbed.
"""

from __future__ import annotations

from pathlib import Path

from sitewatch.demo.site import SimulatedSite
from tests.harness import Service, ServiceConfig, logon_check, run_cli_async, wait_for_state


async def test_a_second_instance_on_one_sqlite_file_exits_2_and_points_to_postgresql(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", simulated_site_url)})
    config.write()
    first = await Service(config).start()
    try:
        await wait_for_state(first, "portal", "up")
        second = await run_cli_async("run", "-c", str(config.path))
        assert second.returncode == 2, second.stderr
        assert "SQLite database serves one instance" in second.stderr
        assert "postgresql://" in second.stderr and "docs/cluster.md" in second.stderr
        status, _ = await first.api("GET", "/healthz")
        assert status == 200
    finally:
        assert first.stop() == 0
