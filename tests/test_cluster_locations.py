"""Locations on one machine: a cut location alone opens nothing; a dead instance's checks move.

Three instances play three locations by binding their probes to 127.0.0.1, .2 and
.3; the site refuses the addresses of the locations a test cuts off. With
`quorum: majority` one cut location is outvoted; all of them cut is one outage,
one ticket, one SITE DOWN. Inside a location, a killed instance's checks are
probed again by the other within `lease` + their interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sitewatch.cluster.sharding import assign
from tests.cluster_harness import ADDRESSES, LEASE, Cluster, Node, cluster_of
from tests.harness import state_of, tickets_of, until, wait_for_state
from tests.pg import Databases


@pytest.fixture
def database(pg_databases: Databases) -> Iterator[str]:
    """Return a new, empty database (the first instance migrates it)."""
    url = pg_databases.create()
    yield url
    pg_databases.drop(url)


async def test_one_cut_location_opens_no_ticket_and_every_location_cut_opens_one(
    tmp_path: Path, database: str
) -> None:
    async with cluster_of(tmp_path, database, ["portal", "shop"]) as cluster:
        east, west, north = (cluster.node(n, location=n) for n in ("east", "west", "north"))
        await cluster.start(east, west, north)
        await until("every location has it up", lambda: _locations_up(east, 3))
        view = await east.cluster()
        assert [(loc["location"], loc["instances"]) for loc in view["locations"]] == [
            ("east", 1),
            ("north", 1),
            ("west", 1),
        ]

        cluster.site.refused.add(ADDRESSES["west"])
        check = await until("west has it down", lambda: _down_at(east, "west"))
        assert check["state"] == "up" and check["locations"]["east"]["state"] == "up"
        await _hold_without_tickets(east, seconds=1.5)
        await until("the location's gauge at 0", lambda: _gauge(east, "west", "0.0"))

        cluster.site.refused.update(ADDRESSES.values())
        await wait_for_state(north, "portal", "down")
        await until("one SITE DOWN per check", lambda: _site_down(cluster, 2))
        tickets = await tickets_of(west)
        assert sorted(t["check"] for t in tickets) == ["portal", "shop"]
        assert {t["symptom"] for t in tickets} == {"connect"}
        await asyncio.sleep(0.5)  # hold: a second page would show up here
        assert len(cluster.pager.titled("SITE DOWN")) == 2


async def test_a_killed_instances_checks_are_probed_again_within_the_lease_and_an_interval(
    tmp_path: Path, database: str
) -> None:
    checks = [f"site-{n}" for n in range(8)]
    async with cluster_of(tmp_path, database, checks, interval="1s") as cluster:
        a, b = cluster.node("a"), cluster.node("b")
        await cluster.start(a, b)
        await until("both share the checks", lambda: _reported(a, len(checks)))
        victim = max((a, b), key=lambda node: len(assign(checks, {"a", "b"}, node.name)))
        orphans = sorted(assign(checks, {"a", "b"}, victim.name))
        killed = time.monotonic()
        victim.kill()
        # Deadline: the lease, one interval, and the time a probe takes to show here.
        bound = LEASE + 1.0 + 0.3
        await until(
            "every orphan probed again", lambda: _probed_after(cluster, orphans, killed), bound + 2
        )
        waits = {c: (cluster.site.probed_after(c, killed) or 0) - killed for c in orphans}
        assert max(waits.values()) < bound, f"waits after the kill: {waits}"
        survivor = b if victim is a else a
        view = await survivor.cluster()
        assert [i["instance"] for i in view["instances"]] == [survivor.name]


async def _locations_up(node: Node, count: int) -> bool | None:
    check = await state_of(node, "portal")
    states = [where["state"] for where in check["locations"].values()]
    return True if states.count("up") == count else None


async def _down_at(node: Node, location: str) -> dict[str, object] | None:
    check = await state_of(node, "portal")
    where = check["locations"].get(location)
    return check if where is not None and where["state"] == "down" else None


async def _gauge(node: Node, location: str, value: str) -> bool | None:
    labels = f'check="portal",customer="acme",location="{location}"'
    _, text = await node.api("GET", "/metrics")
    return True if f"sitewatch_location_check_up{{{labels}}} {value}" in text else None


async def _hold_without_tickets(node: Node, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert await tickets_of(node) == []
        await asyncio.sleep(0.1)


async def _site_down(cluster: Cluster, count: int) -> bool | None:
    await asyncio.sleep(0)
    return True if len(cluster.pager.titled("SITE DOWN")) >= count else None


async def _reported(node: Node, total: int) -> bool | None:
    view = await node.cluster()
    counts = [i["checks"] for i in view["instances"]]
    return True if len(counts) == 2 and sum(counts) == total else None


async def _probed_after(cluster: Cluster, checks: list[str], moment: float) -> bool | None:
    await asyncio.sleep(0)
    done = all(cluster.site.probed_after(check, moment) is not None for check in checks)
    return True if done else None
