"""Two real instances on one PostgreSQL database: one ticket, one page, and failover in time.

The contract ("Several instances"): one outage opens one ticket and each page goes
out once whatever instance recorded it; a dead leader's work resumes on another
instance within `lease` + 2 s, and escalation goes on with at most the page in
flight repeated; SIGTERM hands over at once (under 2 s).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster_harness import LEASE, Cluster, Node, cluster_of
from tests.harness import tickets_of, until, wait_for_state
from tests.pg import Databases


@pytest.fixture
def database(pg_databases: Databases) -> Iterator[str]:
    """Return a new, empty database (the first instance migrates it)."""
    url = pg_databases.create()
    yield url
    pg_databases.drop(url)


def still_down_rounds(cluster: Cluster) -> list[str]:
    """Return the escalation lines of every STILL DOWN page received, in order."""
    return [
        line
        for page in cluster.pager.titled("STILL DOWN")
        for line in page.body.splitlines()
        if line.startswith("Escalation:")
    ]


async def test_two_instances_open_one_ticket_and_send_one_site_down_then_fail_over_in_time(
    tmp_path: Path, database: str
) -> None:
    repeat = "repeat_every: 0s"
    async with cluster_of(tmp_path, database, ["portal", "shop"]) as cluster:
        a, b = cluster.node("a"), cluster.node("b")
        for node in (a, b):
            node.config.path.write_text(
                node.config.path.read_text().replace(repeat, "repeat_every: 1s")
            )
        await cluster.start(a, b)
        leader, epoch = await cluster.leader()
        view = await a.cluster()
        assert view["leader"]["instance"] == leader and view["leader"]["epoch"] == epoch
        assert {i["instance"] for i in view["instances"]} == {"a", "b"}
        assert view["locations"] == [{"location": "east", "instances": 2, "prober_fault": False}]
        await until("both share the checks", lambda: _shared(a))
        await wait_for_state(a, "portal", "up")

        cluster.site.down.add("portal")
        await wait_for_state(b, "portal", "down")
        await until("two repeats", lambda: _at_least(cluster, 2))
        [ticket] = await tickets_of(a)
        assert len(cluster.pager.titled("SITE DOWN")) == 1

        survivor = await kill_the_leader_mid_escalation(cluster, leader, epoch)
        assert [t["id"] for t in await tickets_of(survivor)] == [ticket["id"]]
        await stop_the_leader_with_sigterm(cluster, survivor)
        assert len(cluster.pager.titled("SITE DOWN")) == 1


async def kill_the_leader_mid_escalation(cluster: Cluster, leader: str, epoch: int) -> Node:
    """Kill -9 the leader: a new one within lease + 2 s, the rounds go on; return it.

    Each round is sent once, but perhaps the one in flight at the kill.
    """
    dead = cluster.nodes[leader]
    survivor = next(node for name, node in cluster.nodes.items() if name != leader)
    killed = time.monotonic()
    dead.kill()
    new, new_epoch = await cluster.leader(other_than=leader)
    took = time.monotonic() - killed
    assert new == survivor.name and new_epoch > epoch
    assert took < LEASE + 2, f"takeover after {took:.2f}s"
    before = len(still_down_rounds(cluster))
    await until("escalation goes on", lambda: _at_least(cluster, before + 2))
    rounds = still_down_rounds(cluster)
    repeated = [line for line in set(rounds) if rounds.count(line) > 1]
    assert len(repeated) <= 1, rounds
    return survivor


async def stop_the_leader_with_sigterm(cluster: Cluster, leader: Node) -> None:
    """Stop the leader with SIGTERM: a freshly started instance leads within 2 s."""
    again = cluster.node("c")
    await cluster.start(again)
    stopped = time.monotonic()
    leader.signal(signal.SIGTERM)
    taken, _ = await cluster.leader(other_than=leader.name)
    handover = time.monotonic() - stopped
    assert taken == "c" and handover < 2, f"SIGTERM hand-over took {handover:.2f}s"
    assert leader.stop() == 0


async def _shared(node: Node) -> bool | None:
    """Tell whether the instances report their shares, which add up to every check."""
    view = await node.cluster()
    counts = [i["checks"] for i in view["instances"]]
    return True if len(counts) == 2 and sum(counts) == 2 else None


async def _at_least(cluster: Cluster, count: int) -> bool | None:
    await asyncio.sleep(0)
    return True if len(still_down_rounds(cluster)) >= count else None
