"""`GET /api/v1/stats` on the real app over a real SQLite file with a known history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.model import (
    Cause,
    Classification,
    Outage,
    ProbeResult,
    ResultKind,
    Transition,
    TransitionKind,
)
from sitewatch.stats.metrics import Metrics
from sitewatch.storage.sqlite import open_sqlite_store
from sitewatch.tickets.desk import TicketDesk
from tests import storekit
from tests.harness import (
    CUSTOMER_TOKEN,
    ENV,
    OPERATOR_TOKEN,
    ServiceConfig,
    logon_check,
)
from tests.paging_support import planner

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 11, 26, hh, mm, tzinfo=UTC)


async def seed(database: Path) -> None:
    """Write a history: portal first probed at 08:00, down 08:50-09:05, cause network."""
    store = await open_sqlite_store(database)
    clock = FakeClock(at(9, 0))
    paging = planner()
    try:
        first = ProbeResult("portal", at(8, 0), timedelta(milliseconds=40), ResultKind.OK)
        async with store.transaction() as tx:
            await tx.checks.add_results("default", [first])
        outage = Outage(at(8, 50), ResultKind.LOGIN_REJECTED, Classification.EMERGENCY)
        start = Transition(TransitionKind.STARTED, at(8, 51), outage, "2 failures")
        record = await storekit.record(store, paging, "portal", "acme", start, clock.now())
        assert record.ticket is not None
        desk = TicketDesk(store=store, planner=paging, clock=clock, metrics=Metrics())
        await clock.advance(timedelta(minutes=2))
        await desk.acknowledge(record.ticket.id, "olivia", "")
        end = Transition(TransitionKind.ENDED, at(9, 5), outage, "2 successes")
        await storekit.record(store, paging, "portal", "acme", end, at(9, 5))
        await clock.advance(timedelta(minutes=8))
        await desk.resolve(record.ticket.id, Cause.NETWORK, "olivia", "")
    finally:
        await store.close()


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: AiohttpClient) -> AsyncIterator[TestClient]:
    # The check's site is a closed port, but the fake clock never moves: nothing probes.
    config = ServiceConfig(tmp_path, checks={"portal": logon_check("portal", "http://127.0.0.1:9")})
    settings = load_settings(config.write(), ENV)
    assert settings.database.path is not None
    await seed(settings.database.path)
    yield await aiohttp_client(build_app(settings, clock=FakeClock(NOW)))


async def stats(client: TestClient, query: str = "", **headers: str) -> tuple[int, Any]:
    async with client.get(f"/api/v1/stats{query}", headers=headers or OPERATOR) as response:
        return response.status, await response.json()


async def test_statistics_of_a_period_count_the_stored_history_exactly(client: TestClient) -> None:
    status, body = await stats(client, "?since=2026-11-26T08:00:00Z&until=2026-11-26T10:00:00Z")
    assert status == 200, body
    assert body["since"] == "2026-11-26T08:00:00Z" and body["until"] == "2026-11-26T10:00:00Z"
    assert body["customers"] == 2 and body["customers_affected"] == 1
    assert body["customers_affected_ratio"] == 0.5
    assert body["outages"] == {"emergency": 1, "overrun": 0, "planned": 0}
    assert body["by_cause"]["network"] == 1 and sum(body["by_cause"].values()) == 1
    assert body["by_cause_minutes"]["network"] == 15.0
    assert body["mtta_seconds"] == 120.0  # opened at 09:00 (the store's clock), acked 09:02
    assert body["mttr_seconds"] == 900.0  # onset 08:50, recovered 09:05
    assert body["availability"] == {"portal": 1 - 15 / 120}
    assert body["by_customer"]["globex"]["availability"] is None  # no checks


async def test_the_default_period_is_the_last_30_days_until_now(client: TestClient) -> None:
    status, body = await stats(client)
    assert status == 200
    assert body["since"] == "2026-10-27T10:00:00Z" and body["until"] == "2026-11-26T10:00:00Z"
    # Counted from the first probe at 08:00, not from 30 days ago.
    assert body["checks"]["portal"]["counted_minutes"] == 120.0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?since=yesterday", "since: 'yesterday' is not an ISO 8601 time"),
        ("?since=2026-11-26T08:00:00", "has no offset"),
        ("?since=2026-11-26T09:00:00Z&until=2026-11-26T08:00:00Z", "must be before"),
        ("?since=2026-11-26T09:00:00Z&until=2026-11-26T09:00:00Z", "must be before"),
        ("?since=2026-11-27T09:00:00Z", "not in the future"),
    ],
)
async def test_bad_periods_are_400_with_a_message(
    client: TestClient, query: str, message: str
) -> None:
    status, body = await stats(client, query)
    assert status == 400
    assert message in body["error"]


async def test_statistics_are_for_operators_only(client: TestClient) -> None:
    assert (await stats(client, Authorization="Bearer nope"))[0] == 401
    status, body = await stats(client, Authorization=f"Bearer {CUSTOMER_TOKEN}")
    assert status == 403 and "operators" in body["error"]
