"""Run SQL on the one connection of a transaction, with driver errors translated.

Every repository of a `PostgresTx` shares one `Sql`: statements go out on the
transaction's connection, rows come back as dicts, and a driver error becomes a
`StoreError` at the call (so a caller inside the transaction block sees the same
errors as one outside it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, LiteralString

from psycopg import AsyncConnection, sql
from psycopg.abc import Params
from psycopg.rows import dict_row

from sitewatch.storage.postgres.codec import Row
from sitewatch.storage.postgres.errors import translated

Query = LiteralString | bytes | sql.SQL | sql.Composed
"""A statement: SQL text, or one composed with `psycopg.sql` (identifiers)."""


class Sql:
    """Statements on one connection, inside the transaction that owns it."""

    def __init__(self, conn: AsyncConnection[Any], database: str, secrets: frozenset[str]) -> None:
        self.conn = conn
        self._database = database
        self._secrets = secrets

    def _translated(self) -> AbstractContextManager[None]:
        return translated(self._database, self._secrets, lambda: self.conn.broken)

    async def rows(self, query: Query, params: Params | None = None) -> list[Row]:
        """Return every row of a query."""
        with self._translated():
            cursor = self.conn.cursor(row_factory=dict_row)
            await cursor.execute(query, params)
            return await cursor.fetchall()

    async def row(self, query: Query, params: Params | None = None) -> Row | None:
        """Return the first row of a query, or None."""
        with self._translated():
            cursor = self.conn.cursor(row_factory=dict_row)
            await cursor.execute(query, params)
            return await cursor.fetchone()

    async def values(self, query: Query, params: Params | None = None) -> list[Any]:
        """Return the first column of every row of a query."""
        with self._translated():
            cursor = await self.conn.execute(query, params)
            return [row[0] for row in await cursor.fetchall()]

    async def execute(self, query: Query, params: Params | None = None) -> int:
        """Run one statement; return how many rows it changed."""
        with self._translated():
            cursor = await self.conn.execute(query, params)
            return cursor.rowcount

    async def execute_many(self, query: Query, params: Iterable[Params]) -> int:
        """Run one statement per parameter set in one round trip; return the rows changed."""
        with self._translated():
            cursor = self.conn.cursor()
            await cursor.executemany(query, params)
            return max(cursor.rowcount, 0)

    async def copy(
        self, statement: Query, types: Sequence[str], rows: Iterable[Sequence[object]]
    ) -> None:
        """Stream rows of these column types into `COPY ... FROM STDIN (FORMAT BINARY)`.

        The cheapest way to insert many rows: binary COPY costs the client about a
        third of text COPY's CPU per row, and a fifth of `executemany`'s.
        """
        with self._translated():
            cursor = self.conn.cursor()
            async with cursor.copy(statement) as copy:
                copy.set_types(list(types))
                for values in rows:
                    await copy.write_row(values)
