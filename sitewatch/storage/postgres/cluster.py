"""The instances sharing the database, the leader's lease, prober faults, shared values.

Heartbeats and the lease are timed with the database's clock (`clock_timestamp()`),
never with the caller's `now`: instances on several hosts disagree about the time,
the one database does not. The lease is one row with a fencing epoch that grows at
every change of tenure. `fence` reads it `FOR SHARE`, so a takeover (which must
update that row) waits until the fenced transaction ends: a former leader either
commits before the takeover or fails its fence after it, never in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sitewatch.model import Lease, LocationFault, Member
from sitewatch.storage.postgres.codec import Row
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.protocols import FencedError

_ACQUIRE = """
WITH clock AS (SELECT clock_timestamp() AS now)
INSERT INTO leader_lease AS l (singleton, instance, location, epoch, since, until)
SELECT true, %(instance)s, %(location)s, 1, now, now + %(lease)s FROM clock
ON CONFLICT (singleton) DO UPDATE SET
    epoch = CASE WHEN l.instance = excluded.instance AND l.until > excluded.since
                 THEN l.epoch ELSE l.epoch + 1 END,
    since = CASE WHEN l.instance = excluded.instance AND l.until > excluded.since
                 THEN l.since ELSE excluded.since END,
    instance = excluded.instance,
    location = excluded.location,
    until = excluded.until
WHERE l.instance = excluded.instance OR l.until <= excluded.since
RETURNING *
"""


def _lease(row: Row) -> Lease:
    return Lease(row["instance"], row["location"], row["epoch"], row["since"], row["until"])


class PostgresClusterRepo:
    """`ClusterRepo` on PostgreSQL: `members`, `leader_lease`, `location_faults`, values."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def heartbeat(self, member: Member, now: datetime) -> None:
        """Register or refresh an instance; `last_seen` is the database's time."""
        await self._sql.execute(
            "INSERT INTO members (instance, location, started_at, last_seen, checks)"
            " VALUES (%s, %s, %s, clock_timestamp(), %s) ON CONFLICT (instance) DO UPDATE SET"
            " location = excluded.location, started_at = excluded.started_at,"
            " last_seen = excluded.last_seen, checks = excluded.checks",
            (member.instance, member.location, member.started_at, member.checks),
        )

    async def leave(self, instance: str) -> None:
        """Remove an instance that stops, so it is dead at once."""
        await self._sql.execute("DELETE FROM members WHERE instance = %s", (instance,))

    async def members(self, now: datetime, lease: timedelta) -> list[Member]:
        """Return the instances seen within `lease` (database time), by location and name."""
        rows = await self._sql.rows(
            "SELECT * FROM members WHERE last_seen > clock_timestamp() - %s"
            " ORDER BY location, instance",
            (lease,),
        )
        return [
            Member(r["instance"], r["location"], r["started_at"], r["last_seen"], r["checks"])
            for r in rows
        ]

    async def forget(self, before: datetime) -> int:
        """Delete the instances last seen before `before` (long dead); return how many."""
        return await self._sql.execute("DELETE FROM members WHERE last_seen < %s", (before,))

    async def lease(self) -> Lease | None:
        """Return the lease as it stands (perhaps expired), or None if none was ever taken."""
        row = await self._sql.row("SELECT * FROM leader_lease")
        return None if row is None else _lease(row)

    async def acquire(
        self, instance: str, location: str, now: datetime, lease: timedelta
    ) -> Lease | None:
        """Renew this instance's lease, or take it over if it expired; return the lease held.

        Renewing keeps the epoch; taking over an expired lease, even one's own that
        lapsed, raises it by one: the epoch names one unbroken tenure.
        """
        row = await self._sql.row(
            _ACQUIRE, {"instance": instance, "location": location, "lease": lease}
        )
        if row is None:  # someone else holds a live lease
            row = await self._sql.row("SELECT * FROM leader_lease")
        return None if row is None else _lease(row)

    async def release(self, instance: str, epoch: int) -> None:
        """Give up the lease at once, if this instance still holds it with this epoch."""
        await self._sql.execute(
            "UPDATE leader_lease SET until = least(until, clock_timestamp())"
            " WHERE instance = %s AND epoch = %s",
            (instance, epoch),
        )

    async def fence(self, instance: str, epoch: int) -> None:
        """Raise `FencedError` unless `instance` holds the live lease with `epoch`."""
        row = await self._sql.row(
            "SELECT instance, epoch, until > clock_timestamp() AS live FROM leader_lease FOR SHARE"
        )
        if row is None or (row["instance"], row["epoch"], row["live"]) != (instance, epoch, True):
            holder = "nobody" if row is None else f"{row['instance']} (epoch {row['epoch']})"
            raise FencedError(
                f"{instance} (epoch {epoch}) no longer leads: the lease is held by {holder}"
                + ("" if row is None or row["live"] else ", expired")
            )

    async def faults(self) -> dict[str, LocationFault]:
        """Return the prober faults in progress, by location."""
        rows = await self._sql.rows("SELECT * FROM location_faults ORDER BY location")
        return {r["location"]: LocationFault(r["location"], r["since"], r["reason"]) for r in rows}

    async def save_fault(self, location: str, fault: LocationFault | None) -> None:
        """Record a location's prober fault (the first one recorded stays) or clear it."""
        if fault is None:
            await self._sql.execute("DELETE FROM location_faults WHERE location = %s", (location,))
            return
        # DO NOTHING: the fault's start names its episode (and its pages); a second
        # instance of the location recording the same fault must not move it.
        await self._sql.execute(
            "INSERT INTO location_faults (location, since, reason) VALUES (%s, %s, %s)"
            " ON CONFLICT (location) DO NOTHING",
            (location, fault.since, fault.reason),
        )

    async def secret(self, name: str, default: str) -> str:
        """Return a shared service value, storing `default` the first time."""
        await self._sql.execute(
            "INSERT INTO service_values (name, value) VALUES (%s, %s)"
            " ON CONFLICT (name) DO NOTHING",
            (name, default),
        )
        [value] = await self._sql.values(
            "SELECT value FROM service_values WHERE name = %s", (name,)
        )
        return str(value)
