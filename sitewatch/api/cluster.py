"""The cluster route: the instances sharing the database, their locations, the leader."""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.bodies.fields import Time
from sitewatch.api.bodies.requests import NoQuery
from sitewatch.api.bodies.responses import ResponseBody
from sitewatch.api.common import CLOCK, SERVICE, ApiError, caller, read_query, respond
from sitewatch.model import Lease, LocationFault, Member
from sitewatch.storage import StoreError


class LeaderBody(ResponseBody):
    """The instance holding the leader's lease, and its fencing epoch."""

    instance: str
    location: str
    since: Time
    epoch: int


class InstanceBody(ResponseBody):
    """A live instance (one seen within the lease)."""

    instance: str
    location: str
    started_at: Time
    last_seen: Time
    checks: int


class LocationBody(ResponseBody):
    """A location with its live instances, and whether it is in a prober fault."""

    location: str
    instances: int
    prober_fault: bool


class ClusterBody(ResponseBody):
    """`GET /api/v1/cluster`: the leader (null while nobody holds a live lease)."""

    leader: LeaderBody | None
    instances: list[InstanceBody]
    locations: list[LocationBody]


async def show(request: web.Request) -> web.Response:
    """Answer the live instances, their locations and the leader (operators only)."""
    caller(request, operator_only=True)
    read_query(request, NoQuery)
    service = request.app[SERVICE]
    now = request.app[CLOCK].now()
    try:
        async with service.store.reading() as tx:
            members = await tx.cluster.members(now, service.settings.cluster.lease)
            lease = await tx.cluster.lease()
            faults = await tx.cluster.faults()
    except StoreError as error:
        raise ApiError(503, f"the database does not answer: {error}") from None
    live = lease if lease is not None and lease.until > now else None
    return respond(describe(members, live, faults))


def describe(
    members: list[Member], lease: Lease | None, faults: dict[str, LocationFault]
) -> ClusterBody:
    """Return the cluster as the API shows it (`lease` only while it is live)."""
    counts: dict[str, int] = dict.fromkeys(faults, 0)
    for member in members:
        counts[member.location] = counts.get(member.location, 0) + 1
    leader = None
    if lease is not None:
        leader = LeaderBody(
            instance=lease.instance, location=lease.location, since=lease.since, epoch=lease.epoch
        )
    return ClusterBody(
        leader=leader,
        instances=[
            InstanceBody(
                instance=m.instance,
                location=m.location,
                started_at=m.started_at,
                last_seen=m.last_seen,
                checks=m.checks,
            )
            for m in members
        ],
        locations=[
            LocationBody(location=location, instances=count, prober_fault=location in faults)
            for location, count in sorted(counts.items())
        ],
    )
