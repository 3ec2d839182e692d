"""Each check's status at each location, its verdict, and (via `results`) its history."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sitewatch.model import LocationStatus, ProbeResult, State, Verdict
from sitewatch.storage.postgres import results
from sitewatch.storage.postgres.codec import (
    STATUS_COLUMNS,
    VERDICT_COLUMNS,
    status_from_row,
    status_values,
    verdict_from_row,
    verdict_values,
)
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.protocols import StoreConflictError

_STATUS_SET = ", ".join(f"{column} = excluded.{column}" for column in STATUS_COLUMNS[1:])
_SAVE_STATUS = (
    f"INSERT INTO location_status (location, {', '.join(STATUS_COLUMNS)})"
    f" VALUES (%s, {', '.join(['%s'] * len(STATUS_COLUMNS))})"
    f" ON CONFLICT (location, check_id) DO UPDATE SET {_STATUS_SET}"
    # Compare-and-set: only over the version the status was decided on.
    " WHERE location_status.version = %s"
)
_VERDICT_SET = ", ".join(f"{column} = excluded.{column}" for column in VERDICT_COLUMNS[1:])
_INSERT_VERDICT = (
    f"INSERT INTO verdicts ({', '.join(VERDICT_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(VERDICT_COLUMNS))})"
)
_SAVE_VERDICT = f"{_INSERT_VERDICT} ON CONFLICT (check_id) DO UPDATE SET {_VERDICT_SET}"
_FIRST_VERDICT = f"{_INSERT_VERDICT} ON CONFLICT (check_id) DO NOTHING"


class PostgresCheckRepo:
    """`CheckRepo` on PostgreSQL: `location_status`, `verdicts` and `results`."""

    def __init__(self, sql: Sql, known: results.KnownFirsts, written: results.Written) -> None:
        self._sql = sql
        self._known = known
        self._written = written
        self._unjudged: set[str] = set()
        """Checks `lock_verdicts` found without a verdict: there was no row to lock."""

    async def lock_locations(
        self, location: str, check_ids: Collection[str]
    ) -> dict[str, LocationStatus]:
        """Return the statuses of these checks at `location`, locked in id order."""
        rows = await self._sql.rows(
            "SELECT * FROM location_status WHERE location = %s AND check_id = ANY(%s)"
            " ORDER BY check_id FOR NO KEY UPDATE",
            (location, list(check_ids)),
        )
        return {row["check_id"]: status_from_row(row) for row in rows}

    async def save_locations(
        self,
        location: str,
        statuses: Mapping[str, LocationStatus],
        *,
        based_on: Mapping[str, int],
    ) -> None:
        """Write these statuses over the versions they were decided on, in id order.

        A compare-and-set: a row that no longer holds the version in `based_on` (0:
        no row) was moved on by another writer; nothing is written for it and the
        whole transaction fails with `StoreConflictError`, to be retried on fresh
        rows. The upsert locks each row it meets, in id order, like `lock_locations`.
        """
        ordered = sorted(statuses.items())
        written = await self._sql.execute_many(
            _SAVE_STATUS,
            [(location, *status_values(c, s), based_on.get(c, 0)) for c, s in ordered],
        )
        if written < len(ordered):
            raise StoreConflictError(
                f"{len(ordered) - written} status(es) at {location} were changed by another writer"
            )

    async def location_statuses(
        self, check_ids: Collection[str] | None = None
    ) -> dict[str, dict[str, LocationStatus]]:
        """Return `{check: {location: status}}` for these checks (or all)."""
        if check_ids is None:
            rows = await self._sql.rows("SELECT * FROM location_status")
        else:
            rows = await self._sql.rows(
                "SELECT * FROM location_status WHERE check_id = ANY(%s)", (list(check_ids),)
            )
        found: dict[str, dict[str, LocationStatus]] = {}
        for row in rows:
            found.setdefault(row["check_id"], {})[row["location"]] = status_from_row(row)
        return found

    async def failing_at(self, location: str, kinds: Collection[str]) -> list[str]:
        """Return the checks whose last result at `location` is one of these kinds."""
        return await self._sql.values(
            "SELECT check_id FROM location_status WHERE location = %s AND last_result = ANY(%s)"
            " ORDER BY check_id",
            (location, [str(kind) for kind in kinds]),
        )

    async def down_at(self, location: str) -> list[str]:
        """Return the checks that `location` has down."""
        return await self._sql.values(
            "SELECT check_id FROM location_status WHERE location = %s AND state = 'down'"
            " ORDER BY check_id",
            (location,),
        )

    async def lock_verdicts(self, check_ids: Collection[str]) -> dict[str, Verdict]:
        """Return these checks' verdicts, locked in id order."""
        rows = await self._sql.rows(
            "SELECT * FROM verdicts WHERE check_id = ANY(%s) ORDER BY check_id FOR NO KEY UPDATE",
            (list(check_ids),),
        )
        found = {row["check_id"]: verdict_from_row(row) for row in rows}
        self._unjudged |= set(check_ids) - set(found)
        return found

    async def verdicts(self, check_ids: Collection[str] | None = None) -> dict[str, Verdict]:
        """Return the verdicts of these checks (or all), without locking."""
        if check_ids is None:
            rows = await self._sql.rows("SELECT * FROM verdicts")
        else:
            rows = await self._sql.rows(
                "SELECT * FROM verdicts WHERE check_id = ANY(%s)", (list(check_ids),)
            )
        return {row["check_id"]: verdict_from_row(row) for row in rows}

    async def in_maintenance(self) -> list[str]:
        """Return the checks whose verdict is `maintenance`."""
        return await self._sql.values(
            "SELECT check_id FROM verdicts WHERE state = %s ORDER BY check_id",
            (State.MAINTENANCE.value,),
        )

    async def save_verdicts(self, verdicts: Mapping[str, Verdict]) -> None:
        """Write these verdicts (in id order, so concurrent writers never deadlock).

        A check that `lock_verdicts` found unjudged had no row to lock: if another
        transaction wrote its first verdict meanwhile, this one lost a race and
        fails with `StoreConflictError` (to be retried on fresh data).
        """
        ordered = sorted(verdicts.items())
        first = [verdict_values(c, v) for c, v in ordered if c in self._unjudged]
        again = [verdict_values(c, v) for c, v in ordered if c not in self._unjudged]
        if await self._sql.execute_many(_FIRST_VERDICT, first) < len(first):
            raise StoreConflictError(
                "a check's first verdict was written meanwhile by another transaction; retry"
            )
        self._unjudged -= set(verdicts)
        await self._sql.execute_many(_SAVE_VERDICT, again)

    async def add_results(self, location: str, batch: Sequence[ProbeResult]) -> None:
        """Keep these raw results (history for `retention`)."""
        await results.add(self._sql, location, batch, self._known, self._written)

    async def first_results(self) -> dict[str, datetime]:
        """Return each check's earliest result still held."""
        return await results.first(self._sql)

    async def prune_results(self, before: datetime, limit: int) -> int:
        """Drop the days of results that ended before `before`; return how many rows.

        Call it in a transaction of its own: dropping a day's partition locks
        `results` against every writer until the transaction ends.
        """
        return await results.prune(self._sql, before, limit)
