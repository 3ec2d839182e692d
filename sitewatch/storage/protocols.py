"""The storage interface: a unit of work over aggregates, in domain verbs.

`Store.transaction()` opens one write transaction and yields a `Tx`; its
repositories (`tx.checks`, `tx.windows`, `tx.tickets`, `tx.outbox`, `tx.cluster`)
load and store the records of one aggregate each. Everything done through one `Tx`
commits together when the block ends, or not at all. The services around the pure
rules (the monitor, the desks, the leader's loops) read what a decision needs,
call the rule, and write what it decided, inside one transaction: a decision is
never made on data read in another. Backends decide nothing.

Conventions:
* Every time is aware and passed in by the caller (`now`): the backends never read
  a clock, except that a backend shared by several hosts times leases and
  heartbeats with its own clock (see `ClusterRepo`).
* Ids of tickets and windows are strings; an id of any unexpected form finds
  nothing (None), never raises.
* `lock_*` methods read rows for update: a concurrent transaction that locks the
  same rows waits until this one ends. Several rows are locked in id order, so
  two transactions never wait on each other in a circle.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sitewatch.storage.clusterrepo import ClusterRepo
from sitewatch.storage.repositories import (
    CheckRepo,
    OutageRepo,
    OutboxRepo,
    TicketRepo,
    WindowRepo,
)


class StoreError(Exception):
    """The database could not complete a transaction; nothing of it was committed."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached (down, restarting, network cut): retry later."""


class StoreConflictError(StoreError):
    """The transaction lost a race (deadlock, serialization failure): retry it at once."""


class FencedError(StoreError):
    """A leader-only transaction ran on an instance that no longer holds the lease."""


class Tx(Protocol):
    """One open transaction and the repositories that work inside it."""

    checks: CheckRepo
    outages: OutageRepo
    tickets: TicketRepo
    windows: WindowRepo
    outbox: OutboxRepo
    cluster: ClusterRepo


class Store(Protocol):
    """A database: transactions over its repositories."""

    @property
    def description(self) -> str:
        """Name the database for logs (never its password)."""
        ...

    @property
    def shared(self) -> bool:
        """Tell whether several instances may use this database at once."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Open a write transaction: it commits when the block ends, else rolls back."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Tx]:
        """Open a read-only transaction (it must not write)."""
        ...

    async def ping(self) -> None:
        """Raise `StoreUnavailableError` unless the database answers now."""
        ...

    async def close(self) -> None:
        """Wait for open transactions and release the database."""
        ...
