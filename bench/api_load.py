"""A hostile customer at its request limit while sitewatch probes N checks (issue 11).

One command, from the project root (sitewatch installed in the virtualenv):
    python bench/api_load.py [--checks 10000] [--rate 40] [--seconds 60]

It starts the farm and the real `sitewatch run` as bench/run.py does, then, for the
measured window, one customer token sends requests as fast as `--rate` (four times
its limit of 600 a minute by default): declaring windows until its limit of windows
not yet ended, listing them a thousand at a time, reading its checks. Meanwhile an
outside watcher GETs /healthz ten times a second. It prints the answers by status,
/healthz latency (p50, p99, max) and probe lateness (p50, p99) from /metrics, and
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import figures
import sites
from control import farm_and_webhook
from service import Policy, Service, Workspace


async def main(args: argparse.Namespace) -> None:
    """Run the farm and sitewatch, load the API, print the figures."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        farm_and_webhook(session, args.checks, args.farm_cpu) as (farm, webhook),
    ):
        with tempfile.TemporaryDirectory(prefix="sitewatch-apiload-") as tmp:
            workspace = Workspace(Path(tmp), args.checks, farm.ports, Policy(30.0))
            workspace.write(webhook.url, 10)
            service = Service(workspace, args.cpu)
            service.start()
            try:
                await service.wait_ready(session)
                await asyncio.sleep(args.warmup)
                figures_ = await _load(args, service, session)
            finally:
                await asyncio.to_thread(service.stop)
    _print(args, figures_)


async def _load(
    args: argparse.Namespace, service: Service, session: aiohttp.ClientSession
) -> dict[str, Any]:
    customer = sites.customer_id(0, 10)
    token = f"tok-{customer}-{customer}"
    statuses: Counter[str] = Counter()
    health: list[float] = []
    unhealthy = 0
    deadline = time.monotonic() + args.seconds
    cpu0 = service.snapshot().cpu_seconds

    async def customer_requests() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        start = datetime.now(UTC) + timedelta(days=1)
        for n in itertools.count():
            if time.monotonic() >= deadline:
                return
            sent = time.monotonic()
            what, method, path, body = _request(n, customer, start)
            url = service.base + path
            try:
                async with session.request(method, url, json=body, headers=headers) as response:
                    await response.read()
                    statuses[f"{what} {response.status}"] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                statuses[f"{what} {type(error).__name__}"] += 1
            await asyncio.sleep(max(0.0, 1 / args.rate - (time.monotonic() - sent)))

    async def watcher() -> None:
        nonlocal unhealthy
        while time.monotonic() < deadline:
            sent = time.monotonic()
            async with session.get(f"{service.base}/healthz") as response:
                await response.read()
                unhealthy += response.status != 200
            health.append(time.monotonic() - sent)
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - sent)))

    await asyncio.gather(customer_requests(), watcher())
    cpu = service.snapshot().cpu_seconds - cpu0
    lags = figures.histogram(await service.metrics(session), "sitewatch_scheduler_lag_seconds")
    return {
        "statuses": statuses,
        "health": health,
        "unhealthy": unhealthy,
        "lag_p50": figures.quantile(lags, 0.50),
        "lag_p99": figures.quantile(lags, 0.99),
        "cpu_share": cpu / args.seconds,
        "peak_rss_mib": service.peak_rss() / 2**20,
    }


def _request(n: int, customer: str, start: datetime) -> tuple[str, str, str, Any]:
    """Return the n-th request of the cycle: declare, declare, list, checks."""
    kind = n % 4
    if kind < 2:
        begins = start + timedelta(minutes=n)
        body = {
            "customer": customer,
            "kind": "software-upgrade",
            "start": begins.isoformat(),
            "end": (begins + timedelta(minutes=30)).isoformat(),
            "note": "x" * 1000,
        }
        return "declare", "POST", "/api/v1/maintenance", body
    if kind == 2:
        return "list", "GET", "/api/v1/maintenance?limit=1000", None
    return "checks", "GET", "/api/v1/checks", None


def _print(args: argparse.Namespace, found: dict[str, Any]) -> None:
    health = found["health"]
    print(f"api load: {args.checks:,} checks probed; one customer at {args.rate:g} requests/s")
    print(f"  for {args.seconds:g} s (its limit: 600 a minute, 200 windows not yet ended)")
    for key, count in sorted(found["statuses"].items()):
        print(f"  {key:28s} {count:6d}")
    p50, p99 = figures.percentile(health, 0.50), figures.percentile(health, 0.99)
    print(
        f"  /healthz: {len(health)} GETs, {found['unhealthy']} not 200;"
        f" p50 {figures.fmt_seconds(p50)}, p99 {figures.fmt_seconds(p99)},"
        f" max {figures.fmt_seconds(max(health, default=0.0))}"
    )
    print(
        f"  probe lateness: p50 {figures.fmt_seconds(found['lag_p50'])},"
        f" p99 {figures.fmt_seconds(found['lag_p99'])}"
        f"; sitewatch CPU {found['cpu_share']:.0%} of a core,"
        f" peak RSS {found['peak_rss_mib']:.0f} MiB"
    )
    targets = [
        ("probe lateness p99 < 1 s", (found["lag_p99"] or 0) < 1.0),
        ("/healthz p99 < 100 ms", (p99 or 0) < 0.1),
    ]
    for name, holds in targets:
        print(f"  {'holds' if holds else 'MISSED':8s} {name}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    two = (os.cpu_count() or 1) >= 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--checks", type=int, default=10_000, help="checks probed meanwhile")
    add("--rate", type=float, default=40.0, help="the customer's requests per second")
    add("--seconds", type=float, default=60.0, help="the measured window")
    add("--warmup", type=float, default=8.0)
    add("--cpu", type=int, default=0 if two else None, help="CPU for sitewatch")
    add("--farm-cpu", type=int, default=1 if two else None, help="CPU for the farm and this")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.farm_cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {arguments.farm_cpu})
    sys.exit(asyncio.run(main(arguments)))
