"""Loud failures: /healthz, supervised loops, the heartbeat, and losing the database."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from sitewatch.api.common import SERVICE
from sitewatch.app import build_app
from sitewatch.config.loader import load_settings
from sitewatch.model import State
from sitewatch.stats.gauges import Gauges
from tests.api_harness import Api, start_api
from tests.harness import ENV, Service, ServiceConfig, logon_check
from tests.paging_support import poll
from tests.pg import Databases, ThrowawayServer, answers


class Broken:
    """Make `Gauges.update` raise `failures` times (a bug in one loop), then work again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failures: int) -> None:
        self.left = failures
        original = Gauges.update

        async def update(gauges: Gauges, *, reload: bool = True) -> None:
            if self.left:
                self.left -= 1
                raise ZeroDivisionError("a bug in the gauges loop")
            await original(gauges, reload=reload)

        monkeypatch.setattr(Gauges, "update", update)


async def healthz(api: Api) -> tuple[int, Any]:
    return await api.call("GET", "/healthz", "nobody")


async def test_healthz_is_ok_while_every_loop_runs_and_the_database_answers(api: Api) -> None:
    assert await healthz(api) == (200, {"status": "ok"})


async def test_a_crashed_loop_is_logged_counted_and_unhealthy_until_it_runs_steadily_again(
    tmp_path: Path,
    aiohttp_client: AiohttpClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        api = await start_api(tmp_path, aiohttp_client)
        Broken(monkeypatch, failures=1)
        await api.clock.advance(timedelta(seconds=1))
        await poll(lambda: _unhealthy(api), "the crash to show on /healthz", clock=api.clock)

    status, body = await healthz(api)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert any("loop gauges: crashed: ZeroDivisionError" in p for p in body["problems"])
    assert "loop gauges crashed; restarting it" in caplog.text
    assert "Traceback" in caplog.text
    samples = api.app[SERVICE].metrics.registry.get_sample_value
    assert samples("sitewatch_internal_errors_total", {"loop": "gauges"}) == 1
    await api.clock.advance(timedelta(seconds=31))
    assert (await healthz(api))[0] == 200


async def _unhealthy(api: Api) -> bool:
    return (await healthz(api))[0] == 503


async def test_a_loop_that_keeps_crashing_stops_sitewatch_run_with_exit_1(tmp_path: Path) -> None:
    # The bug is planted from outside the package: a sitecustomize on the path.
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        textwrap.dedent("""\
            from sitewatch.cluster.retention import Retention

            async def prune(self):
                raise ZeroDivisionError("a bug that never goes away")

            Retention.prune = prune
            """)
    )
    config = ServiceConfig(tmp_path)
    config.write()
    service = Service(config, env={"PYTHONPATH": str(plant)})
    service.spawn()
    assert service.process is not None
    code = await asyncio.to_thread(service.process.wait, 60)

    assert code == 1
    log = service.log()
    assert "loop retention crashed 5 times in a row" in log
    assert "sitewatch stopped: loop(s) retention kept crashing" in log


async def test_the_heartbeat_pings_while_healthy_and_stops_while_a_loop_is_broken(
    tmp_path: Path,
    aiohttp_client: AiohttpClient,
    aiohttp_server: AiohttpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pings: list[str] = []

    async def ping(request: web.Request) -> web.Response:
        pings.append(request.path)
        return web.Response(text="OK")

    watcher = web.Application()
    watcher.router.add_get("/ping/{uuid}", ping)
    server = await aiohttp_server(watcher)
    extra = f"heartbeat:\n  url: http://127.0.0.1:{server.port}/ping/5e1f\n  every: 200ms\n"
    settings = load_settings(ServiceConfig(tmp_path, extra=extra).write(), ENV)
    client = await aiohttp_client(build_app(settings))

    await poll(lambda: len(pings) >= 2, "two heartbeats")
    Broken(monkeypatch, failures=1)
    metrics = client.app[SERVICE].metrics.registry
    await poll(
        lambda: (
            (metrics.get_sample_value("sitewatch_heartbeats_total", {"outcome": "skipped"}) or 0)
            >= 2
        ),
        "the heartbeat to be withheld",
    )
    seen = len(pings)
    await poll(
        lambda: (
            (metrics.get_sample_value("sitewatch_heartbeats_total", {"outcome": "skipped"}) or 0)
            >= 4
        ),
        "more withheld beats",
    )
    assert len(pings) == seen, "no ping while a loop is broken"
    assert pings[0] == "/ping/5e1f"


@pytest.fixture
def restartable(throwaway_pg: ThrowawayServer) -> Iterator[tuple[ThrowawayServer, str]]:
    databases = Databases(throwaway_pg.url)
    url = databases.create()
    try:
        yield throwaway_pg, url
    finally:
        if not answers(throwaway_pg.url):
            throwaway_pg.start()  # a failed test left it stopped
        databases.drop_all()


async def test_while_the_database_is_away_probes_go_on_healthz_is_503_and_nothing_is_lost(
    restartable: tuple[ThrowawayServer, str],
    tmp_path: Path,
    aiohttp_client: AiohttpClient,
    simulated_site_url: str,
) -> None:
    # `restartable` first: set up first, it is torn down last, so the service shuts
    # down while its database still exists.
    server, url = restartable
    config = ServiceConfig(
        tmp_path, checks={"portal": logon_check("portal", simulated_site_url)}, database=url
    )
    settings = load_settings(config.write(), ENV)
    client = await aiohttp_client(build_app(settings))
    service = client.app[SERVICE]
    await poll(lambda: _verdict(service) is State.UP, "portal up")

    await asyncio.to_thread(server.stop, "fast")
    away, handled = datetime.now(UTC), _handled(service)
    await poll(lambda: _status(client, 503), "/healthz to say the database is away", within=15)
    # Probes are one at a time per check: of two results more, the second started
    # after the database was gone, so it cannot have been committed before its return.
    await poll(lambda: _handled(service) >= handled + 2, "results meanwhile", within=15)
    back = datetime.now(UTC)

    await asyncio.to_thread(server.start)
    await poll(lambda: _status(client, 200), "/healthz to be ok again", within=30)
    # Every result probed while it was away is committed on its return: the queue
    # goes in order, whole, in the first transaction that commits.
    await poll(
        lambda: _committed_between(url, away, back),
        "the results probed while it was away, committed",
        within=30,
    )


def _handled(service: Any) -> float:
    """Return how many results of any kind the service has counted (the metric)."""
    return sum(
        sample.value
        for family in service.metrics.registry.collect()
        for sample in family.samples
        if sample.name == "sitewatch_probe_results_total"
    )


def _verdict(service: Any) -> State | None:
    view = service.board.view("portal")
    return None if view is None else view.verdict.state


async def _committed_between(url: str, start: datetime, end: datetime) -> bool:
    """Tell whether the database holds results of `portal` that started in between."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM results WHERE check_id = 'portal'"
            " AND started_at > %s AND started_at < %s",
            (start, end),
        )
        row = await cursor.fetchone()
    return row is not None and row[0] > 0


async def _status(client: Any, wanted: int) -> bool:
    async with client.get("/healthz") as response:
        return bool(response.status == wanted)
