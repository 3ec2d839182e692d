"""One open PostgreSQL transaction and the repositories that work inside it."""

from __future__ import annotations

from sitewatch.storage.clusterrepo import ClusterRepo
from sitewatch.storage.postgres import results
from sitewatch.storage.postgres.checks import PostgresCheckRepo
from sitewatch.storage.postgres.cluster import PostgresClusterRepo
from sitewatch.storage.postgres.outages import PostgresOutageRepo
from sitewatch.storage.postgres.outbox import PostgresOutboxRepo
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.postgres.tickets import PostgresTicketRepo
from sitewatch.storage.postgres.windows import PostgresWindowRepo
from sitewatch.storage.repositories import (
    CheckRepo,
    OutageRepo,
    OutboxRepo,
    TicketRepo,
    WindowRepo,
)


class PostgresTx:
    """The `Tx` of `PostgresStore`: every repository shares the transaction's connection."""

    def __init__(self, sql: Sql, known: results.KnownFirsts) -> None:
        self.sql = sql
        self.written = results.Written()
        """What this transaction wrote into results (the store follows up after commit)."""
        self.checks: CheckRepo = PostgresCheckRepo(sql, known, self.written)
        self.outages: OutageRepo = PostgresOutageRepo(sql)
        self.tickets: TicketRepo = PostgresTicketRepo(sql)
        self.windows: WindowRepo = PostgresWindowRepo(sql)
        self.outbox: OutboxRepo = PostgresOutboxRepo(sql)
        self.cluster: ClusterRepo = PostgresClusterRepo(sql)
