"""The real `sitewatch run`: a site goes down, the page arrives, its link acknowledges."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import aiohttp

from sitewatch.demo.site import SimulatedSite, SiteMode
from tests.harness import (
    OPERATOR_TOKEN,
    PROBE_PASSWORD,
    Service,
    ServiceConfig,
    logon_check,
    run_cli,
)
from tests.paging_support import Webhook


async def test_a_site_going_down_pages_the_on_call_whose_link_acknowledges_the_ticket(
    tmp_path: Path,
    database: str,
    simulated_site: SimulatedSite,
    simulated_site_url: str,
    webhook: Webhook,
) -> None:
    config = ServiceConfig(
        tmp_path,
        checks={"acme-portal": logon_check("acme-portal", simulated_site_url)},
        notify=webhook.url("pages"),
        database=database,
    )
    config.write()
    simulated_site.mode = SiteMode.REJECT
    service = await Service(config).start()
    try:
        await webhook.wait_for(1, within=30)
        [page] = webhook.delivered
        assert page["title"] == "SITE DOWN acme-portal acme"
        assert page["message"].startswith("Symptom: login_rejected: ")
        found = re.search(r"^Acknowledge: (http://\S+/ack/\S+)$", page["message"], re.M)
        assert found is not None, page["message"]
        link = found.group(1)
        assert link.startswith(f"{config.url}/ack/")

        async with aiohttp.ClientSession() as session:
            async with session.get(link) as shown:
                assert shown.status == 200
                assert "Acknowledge as olivia" in await shown.text()
            status, tickets = await service.api("GET", "/api/v1/tickets?state=open")
            assert status == 200 and len(tickets["tickets"]) == 1
            async with session.post(link) as acked:
                assert acked.status == 200, await acked.text()

        ticket_id = tickets["tickets"][0]["id"]
        status, ticket = await service.api("GET", f"/api/v1/tickets/{ticket_id}")
        assert (ticket["state"], ticket["acknowledged_by"]) == ("acknowledged", "olivia")
        assert "paged" in [event["kind"] for event in ticket["events"]]
    finally:
        code = service.stop(signal.SIGTERM)
    assert code == 0, service.log()
    log = service.log()
    assert PROBE_PASSWORD not in log and OPERATOR_TOKEN not in log
    assert webhook.url("pages") not in log
    assert link.rsplit("/", 1)[1] not in log  # the ack token is a credential too


def test_the_demo_shows_the_pages_and_the_acknowledgement_by_link() -> None:
    done = run_cli("demo")

    assert done.returncode == 0, done.stdout + done.stderr
    pages = [
        line.split("PAGE to olivia's phone: ", 1)[1]
        for line in done.stdout.splitlines()
        if "PAGE to olivia's phone: " in line
    ]
    assert [page.split(" | ")[0] for page in pages] == [
        "SITE DOWN shop-logon demo-shop",
        "RECOVERED shop-logon demo-shop",
        "RESOLVED shop-logon demo-shop",
    ]
    assert "olivia opens the acknowledge link" in done.stdout
    assert "acknowledged by olivia" in done.stdout
    assert "s3cret-demo-password" not in done.stdout + done.stderr
