"""Membership, the leader's lease, prober faults and shared secrets in SQLite.

A SQLite database serves one instance (a second `sitewatch run` on the same file is
refused), so the lease here always ends up with that instance; the rows exist so
that the services above work the same on every backend. Times are the caller's.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from sitewatch.model import Lease, LocationFault, Member
from sitewatch.storage.protocols import FencedError
from sitewatch.storage.sqlite.codec import from_us, to_us
from sitewatch.storage.sqlite.worker import SqliteWorker


class SqliteCluster:
    """The `ClusterRepo` of one SQLite transaction."""

    def __init__(self, worker: SqliteWorker) -> None:
        self._worker = worker

    async def heartbeat(self, member: Member, now: datetime) -> None:
        """Register or refresh an instance."""
        await self._worker.call(_heartbeat, member, to_us(now))

    async def leave(self, instance: str) -> None:
        """Remove an instance that stops."""
        await self._worker.call(_execute, "DELETE FROM instances WHERE instance = ?", (instance,))

    async def members(self, now: datetime, lease: timedelta) -> list[Member]:
        """Return the instances seen within `lease`."""
        return await self._worker.call(_members, to_us(now - lease))

    async def forget(self, before: datetime) -> int:
        """Delete the instances last seen before `before` (long dead); return how many."""
        return await self._worker.call(_forget, to_us(before))

    async def lease(self) -> Lease | None:
        """Return the lease as it stands (perhaps expired), or None if none was ever taken."""
        return await self._worker.call(_lease)

    async def acquire(
        self, instance: str, location: str, now: datetime, lease: timedelta
    ) -> Lease | None:
        """Renew this instance's lease or take over an expired one; return the lease held."""
        return await self._worker.call(_acquire, instance, location, to_us(now), to_us(now + lease))

    async def release(self, instance: str, epoch: int) -> None:
        """Give up the lease at once, if this instance still holds it."""
        await self._worker.call(
            _execute,
            "UPDATE lease SET until = since WHERE instance = ? AND epoch = ?",
            (instance, epoch),
        )

    async def fence(self, instance: str, epoch: int) -> None:
        """Raise `FencedError` unless `instance` holds the lease with `epoch`."""
        await self._worker.call(_fence, instance, epoch)

    async def faults(self) -> dict[str, LocationFault]:
        """Return the prober faults in progress, by location."""
        return await self._worker.call(_faults)

    async def save_fault(self, location: str, fault: LocationFault | None) -> None:
        """Record a location's prober fault (or its end)."""
        if fault is None:
            sql, params = "DELETE FROM location_faults WHERE location = ?", (location,)
            await self._worker.call(_execute, sql, params)
            return
        await self._worker.call(
            _execute,
            # The first fault recorded stays: its start names its pages' episode.
            "INSERT INTO location_faults (location, since, reason) VALUES (?, ?, ?)"
            " ON CONFLICT (location) DO NOTHING",
            (location, to_us(fault.since), fault.reason),
        )

    async def secret(self, name: str, default: str) -> str:
        """Return a shared service value, storing `default` the first time."""
        return await self._worker.call(_secret, name, default)


def _execute(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> None:
    conn.execute(sql, params)


def _heartbeat(conn: sqlite3.Connection, member: Member, now: int) -> None:
    conn.execute(
        "INSERT INTO instances (instance, location, started_at, last_seen, checks)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (instance) DO UPDATE SET"
        " location = excluded.location, last_seen = excluded.last_seen, checks = excluded.checks",
        (member.instance, member.location, to_us(member.started_at), now, member.checks),
    )


def _members(conn: sqlite3.Connection, since: int) -> list[Member]:
    rows = conn.execute(
        "SELECT * FROM instances WHERE last_seen >= ? ORDER BY location, instance", (since,)
    )
    return [
        Member(
            row["instance"],
            row["location"],
            from_us(row["started_at"]),
            from_us(row["last_seen"]),
            row["checks"],
        )
        for row in rows
    ]


def _forget(conn: sqlite3.Connection, before: int) -> int:
    return conn.execute("DELETE FROM instances WHERE last_seen < ?", (before,)).rowcount


def _lease(conn: sqlite3.Connection) -> Lease | None:
    row = conn.execute("SELECT * FROM lease WHERE id = 1").fetchone()
    if row is None:
        return None
    since, until = from_us(row["since"]), from_us(row["until"])
    return Lease(row["instance"], row["location"], row["epoch"], since, until)


def _acquire(
    conn: sqlite3.Connection, instance: str, location: str, now: int, until: int
) -> Lease | None:
    current = _lease(conn)
    if current is None:
        conn.execute(
            "INSERT INTO lease (id, instance, location, epoch, since, until)"
            " VALUES (1, ?, ?, 1, ?, ?)",
            (instance, location, now, until),
        )
    elif current.instance == instance and to_us(current.until) > now:
        conn.execute("UPDATE lease SET until = ? WHERE id = 1", (until,))
    elif to_us(current.until) <= now:
        conn.execute(
            "UPDATE lease SET instance = ?, location = ?, epoch = epoch + 1, since = ?,"
            " until = ? WHERE id = 1",
            (instance, location, now, until),
        )
    return _lease(conn)


def _fence(conn: sqlite3.Connection, instance: str, epoch: int) -> None:
    lease = _lease(conn)
    if lease is None or lease.instance != instance or lease.epoch != epoch:
        holder = "nobody" if lease is None else f"{lease.instance} (epoch {lease.epoch})"
        raise FencedError(f"{instance} (epoch {epoch}) no longer leads; the lease is {holder}'s")


def _faults(conn: sqlite3.Connection) -> dict[str, LocationFault]:
    rows = conn.execute("SELECT location, since, reason FROM location_faults")
    return {loc: LocationFault(loc, from_us(since), reason) for loc, since, reason in rows}


def _secret(conn: sqlite3.Connection, name: str, default: str) -> str:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, default)
    )
    value: str = conn.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()[0]
    return value
