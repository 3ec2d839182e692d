"""The day partitions of `results`: made ahead and on demand, dropped when expired.

Every change takes the `PARTITION_LOCK` advisory lock (instances never race on
the catalog) and a short lock timeout: a partition change that cannot get its
locks at once gives up until the next call rather than queue every writer of
results behind it. Existence is read from `pg_class`, not `to_regclass()`, whose
name cache may not yet know a partition another instance just made.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from psycopg import sql as pgsql

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


def utc_day(at: datetime) -> date:
    """Return the UTC date of an aware time: the day whose partition holds it."""
    return at.astimezone(UTC).date()


def partition_name(day: date) -> str:
    """Return the name of the partition of one day."""
    return f"results_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    """Return the first instant of a UTC day."""
    return datetime.combine(day, time(), tzinfo=UTC)


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


async def drop_partition(sql: Sql, day: date) -> int | None:
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
