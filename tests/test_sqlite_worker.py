"""The SQLite worker thread: calls run in order, whether awaited, deferred or sent."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from sitewatch.storage.sqlite.worker import SqliteWorker


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[SqliteWorker]:
    opened = SqliteWorker(
        tmp_path / "worker.db", synchronous="normal", busy_timeout=timedelta(seconds=1)
    )
    await opened.open()
    await opened.call(_execute, "CREATE TABLE log (line TEXT NOT NULL)")
    yield opened
    await opened.close()


def _execute(conn: sqlite3.Connection, sql: str, *params: object) -> None:
    conn.execute(sql, params)


def _lines(conn: sqlite3.Connection) -> list[str]:
    return [line for (line,) in conn.execute("SELECT line FROM log ORDER BY rowid")]


def _fail(conn: sqlite3.Connection) -> None:
    raise RuntimeError("the statement broke")


async def test_a_sent_statement_runs_before_every_later_call(worker: SqliteWorker) -> None:
    worker.defer(_execute, "INSERT INTO log VALUES (?)", "deferred")
    worker.send(_execute, "INSERT INTO log VALUES (?)", "sent")
    assert await worker.call(_lines) == ["deferred", "sent"]


async def test_a_sent_statement_that_fails_is_logged_and_the_next_call_goes_on(
    worker: SqliteWorker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="sitewatch.storage.sqlite.worker"):
        worker.send(_fail)
        await worker.call(_execute, "INSERT INTO log VALUES (?)", "after")
    assert await worker.call(_lines) == ["after"]
    [record] = caplog.records
    assert "sent without waiting failed: the statement broke" in record.getMessage()
