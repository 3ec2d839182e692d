"""`GET /cluster` (operators): the instances sharing the database, their locations, the leader.

Read from what this instance last learned (its membership heartbeat and lease
renewal, every `lease / 3`), plus the prober faults in the database: the page
answers without holding any lock and shows the cluster as this instance sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from aiohttp import web

from sitewatch.api.common import SERVICE
from sitewatch.api.console.render import page
from sitewatch.api.console.times import Moment, moment
from sitewatch.api.console.visit import Visit


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """One live instance."""

    instance: str
    location: str
    started: Moment
    last_seen: Moment
    checks: int
    is_leader: bool
    is_this: bool


@dataclass(frozen=True, slots=True)
class LocationRow:
    """One location: how many live instances, and its prober fault if any."""

    location: str
    instances: int
    fault: str


async def cluster(request: web.Request, visit: Visit) -> web.Response:
    """Show the live instances, the locations and the leader."""
    service, now = request.app[SERVICE], visit.now
    lease = service.leadership.known
    leader = lease if lease is not None and lease.until > now else None
    members = service.membership.members
    async with service.store.reading() as tx:
        faults = await tx.cluster.faults()
    instances = [
        InstanceRow(
            m.instance,
            m.location,
            moment(m.started_at, UTC, now),
            moment(m.last_seen, UTC, now),
            m.checks,
            leader is not None and leader.instance == m.instance,
            m.instance == service.identity.instance,
        )
        for m in members
    ]
    counts: dict[str, int] = {}
    for member in members:
        counts[member.location] = counts.get(member.location, 0) + 1
    locations = [
        LocationRow(name, count, faults[name].reason if name in faults else "")
        for name, count in sorted(counts.items())
    ]
    return await page(
        request,
        visit,
        "cluster.html",
        title="Cluster",
        leader=leader,
        leader_since=moment(leader.since, UTC, now) if leader else None,
        instances=instances,
        locations=locations,
        this=service.identity,
    )
