"""The real `sitewatch run` killed mid-outage and restarted on the same database file.

The contract: a crash at any point loses nothing and duplicates nothing. After a
SIGKILL during an emergency the restarted service must resume the check as down
(not unknown, which would confirm the outage again and open a second ticket), keep
the outage's onset, and still record the recovery on the one ticket.
"""

from __future__ import annotations

import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sitewatch.demo.site import SimulatedSite, SiteMode
from tests.harness import (
    ENV,
    Service,
    ServiceConfig,
    logon_check,
    state_of,
    tickets_of,
    until,
    wait_for_state,
)


async def check_of(service: Service) -> dict[str, Any]:
    return await state_of(service, "portal")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def assert_no_secret_in(log: str) -> None:
    for secret in ENV.values():
        assert secret not in log


async def test_a_service_killed_mid_outage_resumes_it_with_one_ticket_and_its_onset(
    tmp_path: Path, database: str, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    config = ServiceConfig(
        tmp_path,
        checks={"portal": logon_check("portal", simulated_site_url)},
        database=database,
    )
    config.write()
    first = await Service(config).start()
    try:
        await wait_for_state(first, "portal", "up")
        simulated_site.mode = SiteMode.ERROR
        [ticket] = await until("an emergency ticket", lambda: _nonempty(tickets_of(first)))
        assert (await check_of(first))["state"] == "down"
    finally:
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = await Service(config).start()
    try:
        resumed = await check_of(second)
        assert (resumed["state"], resumed["since"]) == ("down", ticket["onset_at"])
        # Let the restarted service judge a good number of fresh failures.
        restarted = when(resumed["last_result_at"])
        await until(
            "a second of probes after the restart",
            lambda: _probed_after(second, restarted + timedelta(seconds=1)),
        )
        [same] = await tickets_of(second)
        assert (same["id"], same["onset_at"], same["opened_at"]) == (
            ticket["id"],
            ticket["onset_at"],
            ticket["opened_at"],
        )
        assert (await check_of(second))["state"] == "down"

        simulated_site.mode = SiteMode.UP
        await wait_for_state(second, "portal", "up")
        [recovered] = await until("recovered_at", lambda: _recovered(second))
        assert (recovered["id"], recovered["onset_at"]) == (ticket["id"], ticket["onset_at"])
        assert when(recovered["recovered_at"]) > when(ticket["onset_at"])
        assert recovered["state"] == "open"  # until an operator resolves it with a cause
    finally:
        code = second.stop(signal.SIGTERM)
    assert code == 0, second.log()
    assert "stopped cleanly" in second.log()
    assert_no_secret_in(second.log())


async def test_sigterm_during_an_outage_with_probes_in_flight_exits_0_and_keeps_state(
    tmp_path: Path, database: str, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    config = ServiceConfig(
        tmp_path,
        checks={"portal": logon_check("portal", simulated_site_url)},
        database=database,
    )
    config.write()
    service = await Service(config).start()
    try:
        simulated_site.mode = SiteMode.ERROR
        [ticket] = await until("an emergency ticket", lambda: _nonempty(tickets_of(service)))
        # Probes now hang for 2 s each (the check's timeout): SIGTERM finds them in flight.
        simulated_site.mode = SiteMode.SLOW
    finally:
        code = service.stop(signal.SIGTERM)
    assert code == 0, service.log()
    assert "stopped cleanly" in service.log()
    assert "Traceback" not in service.log()

    again = await Service(config).start()
    try:
        assert (await check_of(again))["state"] == "down"
        assert [t["id"] for t in await tickets_of(again)] == [ticket["id"]]
    finally:
        assert again.stop(signal.SIGTERM) == 0, again.log()


async def _nonempty(tickets: Any) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await tickets
    return found or None


async def _probed_after(service: Service, moment: datetime) -> bool | None:
    last = (await check_of(service))["last_result_at"]
    return True if last and when(last) >= moment else None


async def _recovered(service: Service) -> list[dict[str, Any]] | None:
    tickets = await tickets_of(service)
    return tickets if all(t["recovered_at"] for t in tickets) else None
