"""Measure what the per-check series cost: memory, /metrics render time, loop stalls.

Usage, from the project root (sitewatch installed, or PYTHONPATH=.):
    python bench/metrics_render.py [--sizes 10000,20000] [--repeats 3]

Each figure comes from a fresh process per way and size, so that RSS is its own:
  before     the four per-check families as prometheus_client instruments (as they
             were until the table), rendered by `generate_latest`
  collector  `Metrics` with the table, rendered by `generate_latest(metrics.registry)`:
             the table yields metric families and prometheus_client formats them
  direct     `Metrics.render_stream()`, as /metrics calls it: the table writes its own
             text, prometheus_client the rest, and nothing joins the chunks

Every check gets one probe result and a state, as after its first probe. Columns:
  table          RSS the checks' series add (after a full collection)
  render         median time of one render; text, its size; +MiB, how far RSS rises
  stall          the longest a 1 ms asyncio timer waited while one render ran on the
                 event loop, then on a worker thread (as /metrics runs it)
  scrape         one GET /metrics over loopback, read by a thread 1 MiB at a time:
                 its time, how far RSS rises, the longest timer stall. `before` is
                 served as /metrics was (rendered on the loop, sent as one body),
                 `direct` by sitewatch's route (api/checks.py)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from sitewatch.api.checks import metrics as metrics_route
from sitewatch.api.common import METRICS
from sitewatch.model import ProbeResult, ResultKind, State
from sitewatch.stats.checkmetrics import PROBE_BUCKETS
from sitewatch.stats.metrics import Metrics

WAYS = ("before", "collector", "direct")


def ids(count: int) -> list[tuple[str, str]]:
    """Return (check, customer) ids as bench/run.py names them, ten checks a customer."""
    return [(f"site-{i:05d}", f"cust-{i // 10:04d}") for i in range(count)]


class Before:
    """The per-check families as prometheus_client instruments, as metrics.py had them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["check", "customer"]
        self.duration = Histogram(
            "sitewatch_probe_duration_seconds",
            "Duration of one probe (a whole scripted logon).",
            labels,
            buckets=PROBE_BUCKETS,
            registry=self.registry,
        )
        self.results = Counter(
            "sitewatch_probe_results_total",
            "Probe results by kind (ok or a failure kind).",
            [*labels, "result"],
            registry=self.registry,
        )
        self.up = Gauge(
            "sitewatch_check_up", "1 when the check is up, else 0.", labels, registry=self.registry
        )
        self.state = Gauge(
            "sitewatch_check_state",
            "1 for the check's current state, 0 for the others.",
            [*labels, "state"],
            registry=self.registry,
        )

    def register_checks(self, checks: list[tuple[str, str]]) -> None:
        for check, customer in checks:
            self.duration.labels(check, customer)
            self.set_state(check, customer, State.UNKNOWN)
            for kind in ResultKind:
                self.results.labels(check, customer, kind.value)

    def observe_probe(self, customer: str, result: ProbeResult) -> None:
        self.duration.labels(result.check_id, customer).observe(result.duration.total_seconds())
        self.results.labels(result.check_id, customer, result.kind.value).inc()

    def set_state(self, check: str, customer: str, state: State) -> None:
        self.up.labels(check, customer).set(1 if state is State.UP else 0)
        for candidate in State:
            self.state.labels(check, customer, candidate.value).set(1 if candidate is state else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def status_kib(field: str) -> int:
    """Return one field of /proc/self/status in KiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> None:
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


async def worst_stall(work: Awaitable[object]) -> float:
    """Await `work`; return the longest a 1 ms asyncio timer was late meanwhile."""
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - started - 0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    await work
    await asyncio.sleep(0.01)
    done = True
    await ticker
    return worst


async def on_loop(render: Callable[[], list[bytes]]) -> None:
    render()


def fetch(url: str) -> int:
    """GET `url` as a scraper would, reading 1 MiB at a time; return the body's size."""
    size = 0
    with urllib.request.urlopen(url) as response:
        while chunk := response.read(2**20):
            size += len(chunk)
    return size


async def scrape(app: web.Application) -> float:
    """Serve `app`, scrape its /metrics once from a thread; return the longest stall."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return await worst_stall(asyncio.to_thread(fetch, f"http://{host}:{port}/metrics"))
    finally:
        await runner.cleanup()


def served(target: Before | Metrics) -> dict[str, float]:
    """Scrape /metrics once over HTTP; return its time, the RSS it adds and the stall.

    `before` is served as /metrics was: rendered on the loop, sent as one body;
    `Metrics` by sitewatch's own route.
    """
    app = web.Application()
    if isinstance(target, Before):
        before = target

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=before.render(), headers={"Content-Type": "text/plain"})

        app.router.add_get("/metrics", handler)
    else:
        app[METRICS] = target
        app.router.add_get("/metrics", metrics_route)
    gc.collect()
    reset_peak()
    base = status_kib("VmRSS")
    started = time.perf_counter()
    stall = asyncio.run(scrape(app))
    return {
        "scrape_s": time.perf_counter() - started,
        "scrape_peak_mib": (status_kib("VmHWM") - base) / 1024,
        "scrape_stall_s": stall,
    }


def measure(way: str, count: int, repeats: int) -> dict[str, Any]:
    """Build `count` checks the given way, render and serve them; return the figures."""
    gc.collect()
    rss0 = status_kib("VmRSS")
    target = Before() if way == "before" else Metrics()
    checks = ids(count)
    target.register_checks(checks)
    now = datetime.now(UTC)
    for i, (check, customer) in enumerate(checks):
        kind = ResultKind.OK if i % 7 else ResultKind.CONNECT
        result = ProbeResult(check, now, timedelta(milliseconds=3 + i % 400), kind)
        target.observe_probe(customer, result)
        target.set_state(check, customer, State.UP if kind is ResultKind.OK else State.DOWN)
    gc.collect()
    table = status_kib("VmRSS") - rss0
    render: Callable[[], list[bytes]]
    if isinstance(target, Before):
        before = target

        def render() -> list[bytes]:
            return [before.render()]
    elif way == "collector":
        registry = target.registry

        def render() -> list[bytes]:
            return [generate_latest(registry)]
    else:

        def render() -> list[bytes]:
            return list(target.render_stream())

    reset_peak()
    base = status_kib("VmRSS")
    times, size = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        size = sum(len(chunk) for chunk in render())
        times.append(time.perf_counter() - started)
    figures: dict[str, Any] = {
        "way": way,
        "checks": count,
        "table_mib": table / 1024,
        "render_s": statistics.median(times),
        "text_mib": size / 2**20,
        "render_peak_mib": (status_kib("VmHWM") - base) / 1024,
    }
    if way == "direct":
        figures["stall_inline_s"] = asyncio.run(worst_stall(on_loop(render)))
        figures["stall_thread_s"] = asyncio.run(worst_stall(asyncio.to_thread(render)))
    if way != "collector":
        figures |= served(target)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000")
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("WAY", "CHECKS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.repeats)))
        return
    print(
        "way        checks  table  render  text  render   stall on loop  scrape  scrape  scrape"
        "\n                     MiB       s   MiB  +MiB     / on thread       s    +MiB   stall"
    )
    for count in (int(s) for s in args.sizes.split(",")):
        for way in args.ways.split(","):
            command = [sys.executable, __file__, "--child", way, str(count)]
            command += ["--repeats", str(args.repeats)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            f = json.loads(done.stdout)
            stalls = (
                f"{ms(f['stall_inline_s']):>7} / {ms(f['stall_thread_s']):>5}"
                if "stall_inline_s" in f
                else " " * 15
            )
            scraped = (
                f"{f['scrape_s']:7.2f} {f['scrape_peak_mib']:7.0f} {ms(f['scrape_stall_s']):>7}"
                if "scrape_s" in f
                else ""
            )
            print(
                f"{way:9} {count:7,} {f['table_mib']:6.1f} {f['render_s']:7.3f}"
                f" {f['text_mib']:5.1f} {f['render_peak_mib']:6.0f}  {stalls} {scraped}"
            )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


if __name__ == "__main__":
    main()
