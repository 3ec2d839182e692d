"""The cluster: instances sharing one database, their locations, and the one leader."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime

from sitewatch.model.times import utc_iso


@dataclass(frozen=True, slots=True)
class Member:
    """One running instance as the database knows it (its last heartbeat)."""

    instance: str
    location: str
    started_at: datetime
    last_seen: datetime
    checks: int = 0
    """How many checks it probes for its location."""


@dataclass(frozen=True, slots=True)
class Lease:
    """Who leads the cluster: the holder of the lease row, and its fencing epoch.

    The epoch grows at every takeover. Every leader-only transaction checks, inside
    itself, that the lease still names this instance and this epoch: a leader that
    was paused past its lease can no longer write, whatever its own clock says.
    """

    instance: str
    location: str
    epoch: int
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class LocationFault:
    """A prober fault at one location: its own network, not every customer at once."""

    location: str
    since: datetime
    reason: str

    @property
    def episode(self) -> str:
        """Name this fault for the outbox: its PROBER FAULT and PROBER OK pair up by it."""
        return f"{self.location}/{utc_iso(self.since)}"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who this instance is among the instances sharing its database."""

    instance: str
    location: str

    @classmethod
    def default(cls, location: str) -> Identity:
        """Name the instance after its host and process: unique on a host, readable."""
        return cls(f"{socket.gethostname()}-{os.getpid()}", location)
