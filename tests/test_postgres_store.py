"""What only the PostgreSQL store promises: secrets kept, sessions set up, results by day."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg_pool
import pytest

from sitewatch.model import ResultKind
from sitewatch.storage.postgres import PostgresStore, Timeouts, open_postgres_store
from sitewatch.storage.postgres.errors import classify
from sitewatch.storage.postgres.partitions import partition_name
from sitewatch.storage.postgres.session import connection_kwargs
from sitewatch.storage.protocols import StoreConflictError, StoreUnavailableError
from sitewatch.storage.urls import DatabaseUrl, parse_database_url
from tests.store_contract.records import MINUTE, T0, result

DAY = timedelta(days=1)
PASSWORD = "hunter2-Zq9%x"


def with_password(url: DatabaseUrl, port: int | None = None) -> DatabaseUrl:
    """Return `url` with a password (trust auth ignores it) and maybe another port."""
    parts = urlsplit(url.url)
    where = f"{parts.hostname}:{port or parts.port}"
    raw = urlunsplit(parts._replace(netloc=f"{parts.username}:hunter2-Zq9%25x@{where}"))
    return parse_database_url(raw, Path.cwd())


# --- secrets ---------------------------------------------------------------------------


async def test_the_password_never_shows_in_the_description_errors_or_driver_logs(
    pg_url: DatabaseUrl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = await open_postgres_store(with_password(pg_url), timeouts=Timeouts())
    try:
        assert "***" in store.description and PASSWORD not in store.description
        assert "hunter2" not in store.description
    finally:
        await store.close()
    with pytest.raises(StoreUnavailableError) as refused:
        await open_postgres_store(with_password(pg_url, port=1))
    shown = [str(refused.value), repr(refused.value), caplog.text]
    assert all("hunter2" not in text for text in shown)
    assert "***" in str(refused.value)


async def test_a_url_libpq_cannot_read_is_refused_without_showing_the_password() -> None:
    url = parse_database_url("postgresql://sw:p%zzhunter2@127.0.0.1:1/sw", Path.cwd())
    with pytest.raises(ValueError, match="not a usable postgresql URL") as refused:
        await open_postgres_store(url)
    assert "hunter2" not in str(refused.value)


# --- sessions ----------------------------------------------------------------------------


async def settings(store: PostgresStore) -> dict[str, str]:
    async with store.reading() as tx:
        rows = await tx.sql.rows(
            "SELECT name, setting FROM pg_settings WHERE name IN ('statement_timeout',"
            " 'lock_timeout', 'idle_in_transaction_session_timeout', 'TimeZone',"
            " 'application_name', 'transaction_isolation', 'transaction_read_only')"
        )
    return {row["name"]: row["setting"] for row in rows}


async def test_every_connection_carries_the_timeouts_and_runs_at_read_committed(
    pg_url: DatabaseUrl,
) -> None:
    timeouts = Timeouts(
        statement=timedelta(seconds=7),
        lock=timedelta(seconds=2),
        idle_in_transaction=timedelta(seconds=3),
    )
    store = await open_postgres_store(pg_url, timeouts=timeouts)
    try:
        assert await settings(store) == {
            "statement_timeout": "7000",
            "lock_timeout": "2000",
            "idle_in_transaction_session_timeout": "3000",
            "TimeZone": "UTC",
            "application_name": "sitewatch",
            "transaction_isolation": "read committed",
            "transaction_read_only": "on",
        }
    finally:
        await store.close()


async def test_settings_written_in_the_url_win_over_the_stores_own(pg_url: DatabaseUrl) -> None:
    raw = f"{pg_url.url}?application_name=sw-eu&options=-c%20statement_timeout%3D1234"
    store = await open_postgres_store(parse_database_url(raw, Path.cwd()))
    try:
        found = await settings(store)
    finally:
        await store.close()
    assert (found["statement_timeout"], found["application_name"]) == ("1234", "sw-eu")


def test_the_url_keeps_its_own_connect_timeout_and_keepalives() -> None:
    kwargs = connection_kwargs({"connect_timeout": "9", "keepalives_idle": "30"}, Timeouts())
    assert (kwargs["connect_timeout"], kwargs["keepalives_idle"]) == ("9", "30")
    assert connection_kwargs({}, Timeouts(connect=timedelta(seconds=0.5)))["connect_timeout"] == "2"


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        (psycopg.errors.DeadlockDetected("x"), StoreConflictError),
        (psycopg.errors.SerializationFailure("x"), StoreConflictError),
        (psycopg.errors.LockNotAvailable("x"), StoreConflictError),
        (psycopg.errors.AdminShutdown("x"), StoreUnavailableError),
        (psycopg.errors.CannotConnectNow("x"), StoreUnavailableError),
        (psycopg.errors.QueryCanceled("x"), StoreUnavailableError),
        (psycopg.errors.TooManyConnections("x"), StoreUnavailableError),
        (psycopg.errors.IdleInTransactionSessionTimeout("x"), StoreUnavailableError),
        (
            psycopg.OperationalError("server closed the connection unexpectedly"),
            StoreUnavailableError,
        ),
        (psycopg_pool.PoolTimeout("no connection in 5 s"), StoreUnavailableError),
        (psycopg.errors.UniqueViolation("x"), None),
        (psycopg.errors.UndefinedColumn("x"), None),
        (psycopg.errors.ReadOnlySqlTransaction("x"), None),
        (ValueError("x"), None),
    ],
)
def test_driver_errors_mean_unavailable_a_conflict_or_a_bug(
    error: BaseException, meaning: type[Exception] | None
) -> None:
    assert classify(error) is meaning


# --- results, one partition per day --------------------------------------------------------


async def partition_of_each(store: PostgresStore) -> dict[str, str]:
    async with store.reading() as tx:
        rows = await tx.sql.rows("SELECT check_id, tableoid::regclass::text AS part FROM results")
    return {row["check_id"]: row["part"] for row in rows}


async def partitions(store: PostgresStore) -> set[str]:
    async with store.reading() as tx:
        return set(
            await tx.sql.values(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'results'::regclass"
            )
        )


async def test_opening_makes_the_partitions_of_today_and_the_next_two_days(
    postgres_store: PostgresStore,
) -> None:
    async with postgres_store.reading() as tx:
        [today] = await tx.sql.values("SELECT (now() AT TIME ZONE 'UTC')::date")
    made = await partitions(postgres_store)
    assert {partition_name(today + timedelta(days=n)) for n in range(3)} <= made


async def test_each_days_results_end_in_that_days_partition_once_the_batch_commits(
    postgres_store: PostgresStore,
) -> None:
    async with postgres_store.transaction() as tx:
        await tx.checks.add_results("eu", [result("a", T0), result("b", T0 - DAY)])
    assert await partition_of_each(postgres_store) == {
        "a": "results_p20261126",
        "b": "results_p20261125",
    }


async def test_results_of_a_day_without_partition_wait_in_the_default_one_until_pruning(
    postgres_store: PostgresStore,
) -> None:
    async with postgres_store.transaction() as tx:
        # Another instance's batch, whose partitioning failed: written straight in.
        await tx.sql.execute(
            "INSERT INTO results VALUES (%s, 'late', 'us', 'ok', 1, '')", (T0 - 2 * DAY,)
        )
        await tx.sql.execute(
            "INSERT INTO results VALUES (%s, 'old', 'us', 'ok', 1, '')", (T0 - 9 * DAY,)
        )
    assert await partition_of_each(postgres_store) == {
        "late": "results_default",
        "old": "results_default",
    }
    async with postgres_store.transaction() as tx:
        assert await tx.checks.prune_results(T0 - 5 * DAY, 1000) == 1
    assert await partition_of_each(postgres_store) == {"late": "results_p20261124"}


async def test_the_day_that_straddles_the_cutoff_is_kept_whole(
    postgres_store: PostgresStore,
) -> None:
    async with postgres_store.transaction() as tx:
        await tx.checks.add_results("eu", [result("a", T0 - 9 * MINUTE), result("a", T0)])
    async with postgres_store.transaction() as tx:
        assert await tx.checks.prune_results(T0 - 5 * MINUTE, 1000) == 0
        assert await tx.checks.first_results() == {"a": T0 - 9 * MINUTE}
    assert "results_p20261126" in await partitions(postgres_store)


async def test_pruning_drops_expired_partitions_whatever_the_limit(
    postgres_store: PostgresStore,
) -> None:
    async with postgres_store.transaction() as tx:
        await tx.checks.add_results(
            "eu", [result(f"c{n}", T0 - 3 * DAY, ResultKind.DNS) for n in range(5)]
        )
    async with postgres_store.transaction() as tx:
        assert await tx.checks.prune_results(T0, 2) == 5
    assert "results_p20261123" not in await partitions(postgres_store)


async def test_pruning_gives_up_on_a_partition_it_cannot_lock_and_drops_it_later(
    postgres_store: PostgresStore, pg_url: DatabaseUrl
) -> None:
    async with postgres_store.transaction() as tx:
        await tx.checks.add_results("eu", [result("a", T0 - 3 * DAY)])
    with psycopg.connect(pg_url.url) as reader:
        reader.execute("SELECT count(*) FROM results_p20261123")  # holds a lock until the end
        async with postgres_store.transaction() as tx:
            assert await tx.checks.prune_results(T0, 1000) == 0
            assert await tx.checks.first_results() == {"a": T0 - 3 * DAY}
    async with postgres_store.transaction() as tx:
        assert await tx.checks.prune_results(T0, 1000) == 1
