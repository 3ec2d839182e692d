"""The PostgreSQL backend of the store: what several instances share.

`open_postgres_store(url)` returns a `PostgresStore` implementing
`sitewatch.storage.protocols.Store`. One module per repository (`checks`,
`results`, `outages`, `tickets`, `windows`, `outbox`, `cluster`), the schema and
its migrations (`schema`, `migrate`), how rows map to records (`codec`), how
driver errors map to store errors (`errors`), and what each connection is set up
with (`session`). docs/postgresql.md is the operator's side of it.
"""

from __future__ import annotations

from sitewatch.storage.postgres.migrate import SchemaError
from sitewatch.storage.postgres.session import Timeouts
from sitewatch.storage.postgres.store import PostgresStore, open_postgres_store

__all__ = ["PostgresStore", "SchemaError", "Timeouts", "open_postgres_store"]
