"""A paused leader writes nothing after its lease is taken; lost connections lose nothing.

SIGSTOP holds a leader past its lease while it escalates; another instance takes
over with a higher epoch. After SIGCONT the old leader must not claim, record or
change anything a leader owns: a trigger records which instance (by its
connection's `application_name`) wrote each outbox row, ticket and timeline line.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster_harness import LEASE, Cluster, cluster_of
from tests.harness import tickets_of, until, wait_for_state
from tests.pg import Databases

AUDIT = """
CREATE TABLE audit (app text, tbl text, op text, at timestamptz, claimed text);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit VALUES (current_setting('application_name'), TG_TABLE_NAME, TG_OP,
        clock_timestamp(), to_jsonb(NEW) ->> 'claimed_by');
    RETURN NEW;
END $$;
CREATE TRIGGER audit_pages AFTER INSERT OR UPDATE ON pages
    FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit_tickets AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER audit_events AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION audit_row();
"""


@pytest.fixture
def database(pg_databases: Databases) -> Iterator[str]:
    """Return a new, empty database (the first instance migrates it)."""
    url = pg_databases.create()
    yield url
    pg_databases.drop(url)


def escalating(cluster: Cluster) -> None:
    """Re-page every second, so that a leader always has work in flight."""
    for node in cluster.nodes.values():
        path = node.config.path
        path.write_text(path.read_text().replace("repeat_every: 0s", "repeat_every: 1s"))


async def test_a_leader_paused_past_its_lease_writes_nothing_after_the_takeover(
    tmp_path: Path, database: str
) -> None:
    async with cluster_of(tmp_path, database, ["portal"]) as cluster:
        a, b = cluster.node("a"), cluster.node("b")
        escalating(cluster)
        await cluster.start(a, b)
        cluster.query(AUDIT)
        leader, epoch = await cluster.leader()
        paused, other = (a, b) if leader == "a" else (b, a)
        cluster.site.down.add("portal")
        await wait_for_state(other, "portal", "down")
        await until("a repeat", lambda: _pages(cluster, "STILL DOWN", 1))

        paused.signal(signal.SIGSTOP)
        taker, new_epoch = await cluster.leader(other_than=paused.name, within=LEASE + 5)
        assert (taker, new_epoch > epoch) == (other.name, True)
        [(since,)] = cluster.query("SELECT since FROM leader_lease")
        sent = len(cluster.pager.pages)
        await until("the new leader's pages", lambda: _pages(cluster, "STILL DOWN", sent + 1))
        paused.signal(signal.SIGCONT)
        # Give the woken instance time to try whatever it had in hand, and more.
        await until("the old leader to notice", lambda: _lost_lead(paused.log()), within=10)
        await asyncio.sleep(LEASE)  # hold: a late write would show up in this span

        late = cluster.query(
            "SELECT tbl, op, at, claimed FROM audit WHERE app = %s AND at >= %s ORDER BY at",
            paused.name,
            since,
        )
        assert late == [], f"the paused leader wrote after the takeover at {since}: {late}"
        earlier = cluster.query("SELECT count(*) FROM audit WHERE app = %s", paused.name)
        assert earlier[0][0] > 0, "the audit saw nothing of the old leader at all"
        [ticket] = await tickets_of(other)
        assert ticket["state"] == "open" and len(cluster.pager.titled("SITE DOWN")) == 1


async def test_an_instance_whose_connections_are_terminated_recovers_and_loses_nothing(
    tmp_path: Path, database: str
) -> None:
    async with cluster_of(tmp_path, database, ["portal", "shop"]) as cluster:
        a, b = cluster.node("a"), cluster.node("b", location="west")
        await cluster.start(a, b)
        await wait_for_state(a, "portal", "up")
        cluster.site.down.add("portal")
        for _ in range(3):
            # A pool notices a terminated connection only when it next uses it, so
            # wait for the instances to have connected again before each round.
            await until("a connection of the instances", lambda: _terminated(cluster))
        # The database never went away: healthy again within the lease (the contract
        # allows `lease` from the database's return).
        await until("both healthy again", lambda: _healthy(cluster), within=LEASE + 0.5)
        await wait_for_state(a, "portal", "down")
        await until("one SITE DOWN", lambda: _pages(cluster, "SITE DOWN", 1))
        [ticket] = await tickets_of(b)
        cluster.site.down.clear()
        await wait_for_state(b, "portal", "up")
        await until("the recovery told", lambda: _pages(cluster, "RECOVERED", 1))
        await until("both healthy", lambda: _healthy(cluster))
        [same] = await tickets_of(a)
        assert same["id"] == ticket["id"] and same["recovered_at"] is not None
        assert len(cluster.pager.titled("SITE DOWN")) == 1
        # Every location kept recording its results through the lost connections.
        rows = cluster.query("SELECT location, count(*) FROM results GROUP BY location")
        assert {location for location, count in rows if count > 5} == {"east", "west"}


async def _terminated(cluster: Cluster) -> bool | None:
    killed = cluster.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name IN ('a', 'b')"
    )
    if not killed:
        await asyncio.sleep(0.05)
        return None
    await asyncio.sleep(0.3)
    return True


async def _pages(cluster: Cluster, prefix: str, count: int) -> bool | None:
    await asyncio.sleep(0)
    return True if len(cluster.pager.titled(prefix)) >= count else None


async def _lost_lead(log: str) -> bool | None:
    await asyncio.sleep(0)
    return True if "lost the lead" in log else None


async def _healthy(cluster: Cluster) -> bool | None:
    for node in cluster.nodes.values():
        status, _ = await node.api("GET", "/healthz")
        if status != 200:
            return None
    return True
