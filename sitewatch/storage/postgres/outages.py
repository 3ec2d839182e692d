"""Every confirmed outage, planned ones too: one row per `(check, onset)`."""

from __future__ import annotations

from datetime import datetime

from sitewatch.model import Classification, OutageRecord, Transition, TransitionKind
from sitewatch.storage.postgres.codec import outage_from_row
from sitewatch.storage.postgres.sql import Sql


class PostgresOutageRepo:
    """`OutageRepo` on PostgreSQL: the `outages` table."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def record(self, check: str, customer: str, transition: Transition) -> None:
        """Record a transition on its outage row; replaying one changes nothing.

        The row is inserted whatever the kind, so a transition whose predecessor
        never reached the database still leaves an outage behind; OVERRAN and ENDED
        keep the first time they were recorded.
        """
        outage = transition.outage
        await self._sql.execute(
            "INSERT INTO outages (check_id, customer, onset_at, classification, symptom, detail,"
            " window_id) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (check_id, onset_at) DO NOTHING",
            (
                check,
                customer,
                outage.onset,
                outage.classification.value,
                outage.symptom.value,
                outage.detail,
                outage.window_id,
            ),
        )
        if transition.kind is TransitionKind.OVERRAN:
            await self._sql.execute(
                "UPDATE outages SET classification = %s, overrun_at = coalesce(overrun_at, %s)"
                " WHERE check_id = %s AND onset_at = %s",
                (Classification.OVERRUN.value, transition.at, check, outage.onset),
            )
        elif transition.kind is TransitionKind.ENDED:
            await self._sql.execute(
                "UPDATE outages SET recovered_at = coalesce(recovered_at, %s)"
                " WHERE check_id = %s AND onset_at = %s",
                (transition.at, check, outage.onset),
            )

    async def overlapping(self, since: datetime, until: datetime) -> list[OutageRecord]:
        """Return outages begun before `until` and not recovered by `since`, by onset."""
        rows = await self._sql.rows(
            "SELECT * FROM outages WHERE onset_at < %s"
            " AND (recovered_at IS NULL OR recovered_at > %s) ORDER BY onset_at, id",
            (until, since),
        )
        return [outage_from_row(row) for row in rows]

    async def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` outages recovered before `before`; return how many."""
        return await self._sql.execute(
            "DELETE FROM outages WHERE id = ANY(ARRAY(SELECT id FROM outages"
            " WHERE recovered_at < %s ORDER BY recovered_at LIMIT %s))",
            (before, max(0, limit)),
        )
