"""The cluster route: the instances sharing the database, their locations, the leader."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch.api.common import CLOCK, SERVICE, ApiError, caller, iso, reject_unknown_query
from sitewatch.api.schemas import TEXT, TIME, Schema
from sitewatch.model import Lease, LocationFault, Member
from sitewatch.storage import StoreError


def _object(properties: dict[str, Schema]) -> Schema:
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


COUNT: Schema = {"type": "integer", "minimum": 0}
SCHEMA: Schema = _object(
    {
        "leader": {
            "oneOf": [
                {"type": "null"},
                _object(
                    {
                        "instance": TEXT,
                        "location": TEXT,
                        "since": TIME,
                        "epoch": {"type": "integer"},
                    }
                ),
            ],
            "description": "The instance holding the leader's lease; null while nobody does.",
        },
        "instances": {
            "type": "array",
            "items": _object(
                {
                    "instance": TEXT,
                    "location": TEXT,
                    "started_at": TIME,
                    "last_seen": TIME,
                    "checks": COUNT,
                }
            ),
        },
        "locations": {
            "type": "array",
            "items": _object(
                {"location": TEXT, "instances": COUNT, "prober_fault": {"type": "boolean"}}
            ),
        },
    }
)
"""The answer's JSON schema, for the OpenAPI document."""


async def show(request: web.Request) -> web.Response:
    """Answer the live instances, their locations and the leader (operators only)."""
    caller(request, operator_only=True)
    reject_unknown_query(request, set())
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
    return web.json_response(describe(members, live, faults))


def describe(
    members: list[Member], lease: Lease | None, faults: dict[str, LocationFault]
) -> dict[str, Any]:
    """Return the cluster as the API shows it (`lease` only while it is live)."""
    counts: dict[str, int] = dict.fromkeys(faults, 0)
    for member in members:
        counts[member.location] = counts.get(member.location, 0) + 1
    leader = None
    if lease is not None:
        leader = {
            "instance": lease.instance,
            "location": lease.location,
            "since": iso(lease.since),
            "epoch": lease.epoch,
        }
    return {
        "leader": leader,
        "instances": [
            {
                "instance": m.instance,
                "location": m.location,
                "started_at": iso(m.started_at),
                "last_seen": iso(m.last_seen),
                "checks": m.checks,
            }
            for m in members
        ],
        "locations": [
            {"location": location, "instances": count, "prober_fault": location in faults}
            for location, count in sorted(counts.items())
        ],
    }
