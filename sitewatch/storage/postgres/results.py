"""Raw probe results: one partition per UTC day, dropped whole when it expires.

At 10,000 checks every 30 s, `results` takes ~29 million rows a day. Each day's
rows go into their own partition (`results_p20261126`), which has no index: nothing
reads results row by row, so inserts only append to a heap. Pruning drops the
partitions of days that ended before the cut-off, which costs the same whatever
their size and leaves nothing for vacuum (docs/postgresql.md, "Retention").

Partitions (`partitions.py`) are made ahead of time (today and the next days, by
the database's clock) when the store opens and whenever results are pruned, and
by the store right after a transaction that wrote results of a day it has not
seen partitioned. A row whose day has no partition yet lands in
`results_default`, so an insert never fails for want of one; making that day's
partition moves such rows into it.

`result_days` keeps the first result of each day, check and location, so
`first_results` reads a few rows per check instead of the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sitewatch.model import ProbeResult
from sitewatch.storage.postgres.codec import microseconds
from sitewatch.storage.postgres.partitions import (
    day_start,
    drop_partition,
    ensure,
    ensure_ahead,
    utc_day,
)
from sitewatch.storage.postgres.sql import Sql

_COPY = (
    "COPY results (started_at, check_id, location, kind, duration_us, detail)"
    " FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ("timestamptz", "text", "text", "text", "int8", "text")
_FIRSTS = (
    "INSERT INTO result_days (day, check_id, location, first_at)"
    " SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::timestamptz[])"
    " ON CONFLICT (day, check_id, location) DO NOTHING"
)


FirstKey = tuple[date, str, str]
"""A day, a check and a location: the key of `result_days`."""


class KnownFirsts:
    """The `result_days` keys this store has committed: later batches skip them.

    Only an economy (the insert is ON CONFLICT DO NOTHING anyway): without it every
    batch would probe `result_days` once per result. Days older than the newest
    seen minus `KEEP_DAYS` are forgotten.
    """

    KEEP_DAYS = 2

    def __init__(self) -> None:
        self._days: dict[date, set[tuple[str, str]]] = {}

    def __contains__(self, key: FirstKey) -> bool:
        day, check, location = key
        return (check, location) in self._days.get(day, ())

    def learn(self, keys: Iterable[FirstKey]) -> None:
        """Remember keys of a committed transaction."""
        for day, check, location in keys:
            self._days.setdefault(day, set()).add((check, location))
        if self._days:
            oldest = max(self._days) - timedelta(days=self.KEEP_DAYS)
            for day in [d for d in self._days if d < oldest]:
                del self._days[day]


@dataclass
class Written:
    """What one transaction wrote into results, for its store to follow up after commit."""

    days: set[date] = field(default_factory=set)
    """The days of the results (each needs its partition)."""
    firsts: set[FirstKey] = field(default_factory=set)
    """The `result_days` keys inserted (the store learns them once committed)."""


async def add(
    sql: Sql, location: str, batch: Sequence[ProbeResult], known: KnownFirsts, written: Written
) -> None:
    """Insert a batch of results and the first results of their days not known yet."""
    if not batch:
        return
    await sql.copy(
        _COPY,
        _COPY_TYPES,
        (
            (r.started_at, r.check_id, location, r.kind.value, microseconds(r.duration), r.detail)
            for r in batch
        ),
    )
    firsts: dict[FirstKey, datetime] = {}
    for result in batch:
        key = (utc_day(result.started_at), result.check_id, location)
        written.days.add(key[0])
        if key not in known and (key not in firsts or result.started_at < firsts[key]):
            firsts[key] = result.started_at
    written.firsts.update(firsts)
    if firsts:
        keys = sorted(firsts)  # one order for every writer: concurrent inserts never deadlock
        await sql.execute(
            _FIRSTS,
            (
                [day for day, _, _ in keys],
                [check for _, check, _ in keys],
                [where for _, _, where in keys],
                [firsts[key] for key in keys],
            ),
        )


async def first(sql: Sql) -> dict[str, datetime]:
    """Return each check's earliest result still held."""
    rows = await sql.rows("SELECT check_id, min(first_at) AS at FROM result_days GROUP BY check_id")
    return {row["check_id"]: row["at"] for row in rows}


async def prune(sql: Sql, before: datetime, limit: int) -> int:
    """Delete the results of the days that ended before `before`; return how many.

    Whole days go at once (a partition costs the same to drop whatever its size);
    `limit` bounds only the row-by-row deletes from `results_default`. A day that
    straddles `before` is kept until it has wholly passed.
    """
    cut = utc_day(before)  # the days before this one ended by `before`
    straggling = await sql.values(
        "SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date FROM results_default"
        " WHERE started_at >= %s",
        (day_start(cut),),
    )
    await ensure_ahead(sql)
    kept = await ensure(sql, straggling)
    deleted = 0
    for day in sorted(d for d in kept if d < cut):
        dropped = await drop_partition(sql, day)
        if dropped is None:
            break
        deleted += dropped
        kept.discard(day)
    deleted += await sql.execute(
        "DELETE FROM results_default WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM results_default WHERE started_at < %s LIMIT %s))",
        (day_start(cut), max(0, limit)),
    )
    left = await sql.values(
        "SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date FROM results_default"
        " WHERE started_at < %s",
        (day_start(cut),),
    )
    await sql.execute(
        "DELETE FROM result_days WHERE day < %s AND NOT day = ANY(%s)",
        (cut, sorted(kept | set(left))),
    )
    return deleted
