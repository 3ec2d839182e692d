"""Hand-overs in process, under a FakeClock: a dead prober's checks, a lost location, claims.

The real-process tests (test_cluster_failover.py, test_cluster_locations.py) time
the same things end to end; these pin each rule down on its own.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sitewatch.clock import FakeClock
from sitewatch.cluster.departures import Departures
from sitewatch.cluster.leader import FOLLOW_EVERY, Leadership
from sitewatch.cluster.membership import Membership
from sitewatch.model import Member, ResultKind, State
from sitewatch.outages.quorum import Quorum
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store
from sitewatch.storage.postgres import PostgresStore
from tests.builders import make_check
from tests.monitorkit import MonitorRig, monitor_rig
from tests.test_scheduler import fixed_phases, make_harness, running

FAIL, OK = ResultKind.CONNECT, ResultKind.OK


async def test_a_check_taken_from_a_dead_prober_runs_at_once_if_its_slot_may_have_been_missed() -> (
    None
):
    checks = [make_check("missed", interval=30), make_check("later", interval=30)]
    h = make_harness(checks, phase=fixed_phases(0.2, 0.9))
    h.scheduler.assign(set())
    async with running(h.scheduler):
        await h.clock.advance(40)  # "missed" was due at 36 (6 + 30): its prober had died
        h.scheduler.assign({"missed", "later"}, missed_since=h.clock.monotonic() - 12)
        await h.clock.advance(1)
    assert h.site.starts_of("missed") == pytest.approx([40])
    assert h.site.starts_of("later") == []  # its slot (27, then 57) was not missed


async def test_a_follower_tries_the_lease_every_second_and_the_holder_every_third_of_it(
    tmp_path: Path,
) -> None:
    rig = await monitor_rig(tmp_path, [make_check("portal")])
    lease = timedelta(seconds=30)
    follower = Leadership(
        store=rig.store,
        clock=rig.clock,
        instance="other",
        location="east",
        lease=lease,
        metrics=Metrics(),
    )
    assert follower.current() is None  # not led yet: it tries every second
    assert follower.pause() == FOLLOW_EVERY.total_seconds()
    assert rig.leadership.pause() == pytest.approx(3600 / 3)


async def east_and_west(tmp_path: Path) -> tuple[MonitorRig, MonitorRig]:
    """Return two locations' monitors over one store and clock, majority quorum."""
    checks = [make_check("portal", interval=30)]
    east = await monitor_rig(tmp_path, checks, location="east", quorum=Quorum())
    west = await monitor_rig(
        tmp_path, checks, store=east.store, clock=east.clock, location="west", quorum=Quorum()
    )
    await east.leadership.renew()  # west's rig took the lead under the same name: take it back
    return east, west


async def beat(store: Store, clock: FakeClock, *locations: str) -> None:
    async with store.transaction() as tx:
        for location in locations:
            member = Member(location, location, clock.now(), clock.now())
            await tx.cluster.heartbeat(member, clock.now())


async def fail(rig: MonitorRig, *live: str) -> None:
    """Let the rig's location confirm the check down while `live` locations beat."""
    for _ in range(2):
        await rig.result("portal", FAIL, after=1)
    await beat(rig.store, rig.clock, *live)
    await rig.commit()


def departures_of(rig: MonitorRig, membership: Membership) -> Departures:
    return Departures(
        store=rig.store,
        clock=rig.clock,
        leadership=rig.leadership,
        membership=membership,
        recorder=rig.recorder,
        report=rig.monitor.report,
    )


def membership_of(rig: MonitorRig, assigned: list[set[str]]) -> Membership:
    return Membership(
        store=rig.store,
        clock=rig.clock,
        me=Member("east", "east", rig.clock.now(), rig.clock.now()),
        lease=timedelta(seconds=10),
        checks=["portal"],
        on_assign=lambda ids, missed_since=None: assigned.append(set(ids)),
        metrics=rig.metrics,
    )


async def test_a_lost_location_leaves_the_others_to_decide_and_they_may_now_page(
    tmp_path: Path,
) -> None:
    east, west = await east_and_west(tmp_path)
    await east.results("portal", OK)
    await west.results("portal", OK)
    await fail(east, "east", "west")
    assert (await east.verdict("portal")).state is State.UP  # one of two: no majority

    membership = membership_of(east, [])
    departures = departures_of(east, membership)
    await membership.beat()
    assert (await departures.watch()) is not None  # a new tenure judges once: nothing yet
    assert await east.tickets() == []
    await east.clock.advance(11)  # west falls silent past the lease
    await membership.beat()
    judged = await departures.watch()
    assert judged is not None and [r.transition.kind.value for r in judged.recorded] == ["started"]
    [ticket] = await east.tickets()
    assert ticket.check == "portal"
    assert await departures.watch() is None  # nothing lost since: no more sweeps


async def test_a_lost_location_never_ends_an_outage_it_helped_start(tmp_path: Path) -> None:
    east, west = await east_and_west(tmp_path)
    await fail(east, "east", "west")
    await fail(west, "east", "west")
    outage = (await east.verdict("portal")).outage
    assert outage is not None
    membership = membership_of(east, [])
    departures = departures_of(east, membership)
    await membership.beat()
    await departures.watch()
    await east.clock.advance(11)
    await membership.beat()
    await departures.watch()
    assert (await east.verdict("portal")).outage == outage


async def test_the_instances_gauge_falls_to_zero_when_a_location_loses_its_last_instance(
    postgres_store: PostgresStore,
) -> None:
    clock, metrics, assigned = FakeClock(), Metrics(), []
    membership = Membership(
        store=postgres_store,
        clock=clock,
        me=Member("a", "east", clock.now(), clock.now()),
        lease=timedelta(seconds=10),
        checks=[f"c{n}" for n in range(20)],
        on_assign=lambda ids, missed_since=None: assigned.append((set(ids), missed_since)),
        metrics=metrics,
    )
    async with postgres_store.transaction() as tx:
        await tx.cluster.heartbeat(Member("b", "east", clock.now(), clock.now()), clock.now())
        await tx.cluster.heartbeat(Member("w", "west", clock.now(), clock.now()), clock.now())
    await membership.beat()
    [(first, missed)] = assigned
    assert 0 < len(first) < 20 and missed is None
    assert not membership.alone()
    async with postgres_store.transaction() as tx:
        await tx.cluster.leave("b")
        await tx.cluster.leave("w")
    await membership.beat()
    taken, missed = assigned[-1]
    assert len(taken) == 20 and missed is not None  # b's share, sooner if a slot was missed
    assert membership.alone()  # the board needs reloading only once a minute now
    sample = metrics.registry.get_sample_value
    assert sample("sitewatch_cluster_instances", {"location": "west"}) == 0
    assert sample("sitewatch_cluster_instances", {"location": "east"}) == 1


async def test_a_location_coming_back_never_having_seen_the_outage_does_not_end_it(
    tmp_path: Path,
) -> None:
    east, west = await east_and_west(tmp_path)
    await east.results("portal", OK)
    await west.results("portal", OK)  # west has it up from here on, then goes away
    await east.clock.advance(11)
    await fail(east, "east")  # west silent: east alone is the majority
    outage = (await east.verdict("portal")).outage
    assert outage is not None
    await beat(east.store, east.clock, "east", "west")  # west is back: K is 2 again
    await fail(east, "east", "west")  # east still failing: judged again
    assert (await east.verdict("portal")).outage == outage
    await east.results("portal", OK, OK)  # a real recovery ends it
    assert (await east.verdict("portal")).outage is None
