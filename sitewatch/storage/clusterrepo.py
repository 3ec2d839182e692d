"""The cluster's repository: instances, the leader's lease, prober faults, shared values.

Beside `repositories.py` (the other aggregates), under the same conventions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sitewatch.model import Lease, LocationFault, Member


class ClusterRepo(Protocol):
    """The instances sharing the database, the leader's lease, faults and shared secrets.

    A backend that several hosts share (PostgreSQL) times heartbeats and leases
    with the database's own clock and ignores `now`: no instance's wall clock
    decides who leads.
    """

    async def heartbeat(self, member: Member, now: datetime) -> None:
        """Register or refresh an instance (its `last_seen` becomes now)."""
        ...

    async def leave(self, instance: str) -> None:
        """Remove an instance that stops (so it is dead at once, not after its lease)."""
        ...

    async def members(self, now: datetime, lease: timedelta) -> list[Member]:
        """Return the instances seen within `lease`, by location and name."""
        ...

    async def forget(self, before: datetime) -> int:
        """Delete the instances last seen before `before` (long dead); return how many."""
        ...

    async def lease(self) -> Lease | None:
        """Return the lease as it stands (perhaps expired), or None if none was ever taken."""
        ...

    async def acquire(
        self, instance: str, location: str, now: datetime, lease: timedelta
    ) -> Lease | None:
        """Renew this instance's lease, or take it over if it expired; return the lease held.

        Taking over raises the epoch by one. Returns the current lease whoever holds
        it (None only when nobody ever held one and this call did not take it).
        """
        ...

    async def release(self, instance: str, epoch: int) -> None:
        """Give up the lease at once (clean shutdown), if this instance still holds it."""
        ...

    async def fence(self, instance: str, epoch: int) -> None:
        """Raise `FencedError` unless `instance` holds the lease with `epoch`, now.

        Called first in every leader-only transaction; it keeps a concurrent
        takeover from committing before this transaction ends.
        """
        ...

    async def faults(self) -> dict[str, LocationFault]:
        """Return the prober faults in progress, by location."""
        ...

    async def save_fault(self, location: str, fault: LocationFault | None) -> None:
        """Record that a location's prober fault started (a fault) or cleared (None)."""
        ...

    async def secret(self, name: str, default: str) -> str:
        """Return a shared service value, storing `default` the first time."""
        ...
