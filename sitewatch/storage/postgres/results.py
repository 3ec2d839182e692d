"""Raw probe results: one partition per UTC day, dropped whole when it expires.

At 10,000 checks every 30 s, `results` takes ~29 million rows a day. Each day's
rows go into their own partition (`results_p20261126`), which has no index: nothing
reads results row by row, so inserts only append to a heap. Pruning drops the
partitions of days that ended before the cut-off, which costs the same whatever
their size and leaves nothing for vacuum (docs/postgresql.md, "Retention").

Partitions are made ahead of time (today and the next days, by the database's
clock) when the store opens and whenever results are pruned, and on demand when a
batch brings a day this store has not seen (`PartitionBook`). A row whose day has
no partition yet lands in `results_default`, so an insert never fails for want of
one; making that day's partition moves such rows into it. Partition changes take a
short lock timeout and give up rather than queue every writer behind them.

`result_days` keeps the first result of each day, check and location, so
`first_results` reads a few rows per check instead of the whole history.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from psycopg import sql as pgsql

from sitewatch.model import ProbeResult
from sitewatch.storage.postgres.codec import microseconds
from sitewatch.storage.postgres.migrate import RELATION_EXISTS
from sitewatch.storage.postgres.sql import Sql
from sitewatch.storage.protocols import StoreConflictError

log = logging.getLogger(__name__)

AHEAD_DAYS = 2
"""How many days after today get their partition before their first result."""

PARTITION_LOCK = 0x5357_5443_0002
"""The `pg_advisory_xact_lock` key that serialises partition changes across instances."""

PARTITION_LOCK_TIMEOUT = "2s"
"""How long a partition change waits for its locks before it gives up until next time."""

EXACT_COUNT_BYTES = 64 * 2**20
"""Partitions up to this size are counted exactly before a drop; larger ones are
estimated from the planner's statistics (an exact count would read the whole day)."""

_NAME = re.compile(r"^results_p(\d{8})$")
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


def utc_day(at: datetime) -> date:
    """Return the UTC date of an aware time: the day whose partition holds it."""
    return at.astimezone(UTC).date()


def partition_name(day: date) -> str:
    """Return the name of the partition of one day."""
    return f"results_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    """Return the first instant of a UTC day."""
    return datetime.combine(day, time(), tzinfo=UTC)


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


async def partition_days(sql: Sql) -> set[date]:
    """Return the days that have a partition."""
    names = await sql.values(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'results'::regclass"
    )
    return {_day_of(name) for name in names if _NAME.match(name)}


async def ensure(sql: Sql, days: Iterable[date]) -> set[date]:
    """Make the partitions of these days that are missing; return the days that have one.

    Gives up quietly (until the next call) when the locks do not come in time.
    """
    existing = await partition_days(sql)
    for day in sorted(set(days) - existing):
        try:
            async with sql.conn.transaction():
                await _make_partition(sql, day)
            existing.add(day)
        except StoreConflictError as error:
            log.info("results partition for %s not made now, will retry: %s", day, error)
            break
    return existing


async def ensure_ahead(sql: Sql) -> set[date]:
    """Make today's and the next days' partitions (by the database's clock)."""
    [today] = await sql.values("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date")
    return await ensure(sql, (today + timedelta(days=n) for n in range(AHEAD_DAYS + 1)))


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
        dropped = await _drop_partition(sql, day)
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


async def _make_partition(sql: Sql, day: date) -> None:
    """Create one day's partition, moving its rows out of `results_default` first."""
    previous = await _short_lock_timeout(sql)
    await sql.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
    [exists] = await sql.values(RELATION_EXISTS, (partition_name(day),))
    if not exists:
        name = pgsql.Identifier(partition_name(day))
        low, high = day_start(day), day_start(day + timedelta(days=1))
        # Writers still inserting this day's rows into the default partition would
        # make the attach fail: wait for them (briefly) and hold back new ones.
        await sql.execute("LOCK TABLE results_default IN ACCESS EXCLUSIVE MODE")
        # CREATE + ATTACH rather than CREATE ... PARTITION OF: attaching locks the
        # parent only against schema changes, so writers keep inserting meanwhile.
        await sql.execute(
            pgsql.SQL("CREATE TABLE {} (LIKE results INCLUDING DEFAULTS)").format(name)
        )
        await sql.execute(
            pgsql.SQL(
                "WITH moved AS (DELETE FROM results_default WHERE started_at >= %s"
                " AND started_at < %s RETURNING *) INSERT INTO {} SELECT * FROM moved"
            ).format(name),
            (low, high),
        )
        await sql.execute(
            pgsql.SQL(
                "ALTER TABLE results ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})"
            ).format(name, pgsql.Literal(low), pgsql.Literal(high))
        )
    await _restore_lock_timeout(sql, previous)


async def _drop_partition(sql: Sql, day: date) -> int | None:
    """Drop one day's partition; return its rows, or None if its locks did not come."""
    name = partition_name(day)
    try:
        async with sql.conn.transaction():
            previous = await _short_lock_timeout(sql)
            await sql.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
            [exists] = await sql.values(RELATION_EXISTS, (name,))
            rows = await _count(sql, name) if exists else 0
            if exists:
                await sql.execute(pgsql.SQL("DROP TABLE {}").format(pgsql.Identifier(name)))
            await _restore_lock_timeout(sql, previous)
    except StoreConflictError as error:
        log.info("results partition %s not dropped now, will retry: %s", name, error)
        return None
    return rows


async def _count(sql: Sql, name: str) -> int:
    [size, estimate] = (
        await sql.rows(
            "SELECT pg_relation_size(oid) AS size, reltuples AS estimate FROM pg_class"
            " WHERE relname = %s AND relnamespace = current_schema()::regnamespace",
            (name,),
        )
    )[0].values()
    if size <= EXACT_COUNT_BYTES or estimate < 0:
        [count] = await sql.values(
            pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(name))
        )
        return int(count)
    return int(estimate)


async def _short_lock_timeout(sql: Sql) -> str:
    [previous] = await sql.values(
        "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
        (PARTITION_LOCK_TIMEOUT,),
    )
    return str(previous)


async def _restore_lock_timeout(sql: Sql, previous: str) -> None:
    # SET LOCAL outlives a released savepoint: give the caller's transaction back its own.
    await sql.execute("SELECT set_config('lock_timeout', %s, true)", (previous,))


def _day_of(name: str) -> date:
    return datetime.strptime(name.removeprefix("results_p"), "%Y%m%d").date()
