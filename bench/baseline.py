"""The floor: a bare aiohttp client loop doing the benchmark's three-step logons at a fixed rate.

Usage (normally started by bench/run.py, pinned to sitewatch's CPU):
    python bench/baseline.py --ports P1,P2,... --sites N --rate R [--warmup 3] [--seconds 15]

No state, no database, no metrics, no scheduler beyond a fixed tick: each logon is a
fresh ClientSession with its own cookie jar over one shared connector (the cheapest
correct way to keep sites' cookies apart, and the way sitewatch uses aiohttp), GET
the form and take the csrf token, POST the credentials and expect 302 plus the
session cookie, GET the home page and expect "Welcome". Sites are visited in a
shuffled round, so each site is logged on to once per `sites / rate` seconds, as
sitewatch's checks are. At most `--max-in-flight` logons run at once. With
`--kind get` each visit is one GET of the site's /ping instead (the single-GET check),
and `--loop uvloop` runs the loop on uvloop, as sitewatch does when it is installed.

Prints one JSON object: logons/s, CPU seconds per 1,000 logons, peak RSS, lateness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import sys
import time
from dataclasses import dataclass, field

import aiohttp
import sites

CSRF = re.compile(sites.CSRF_PATTERN)


@dataclass
class Tally:
    """What the loop counts; `window` holds the figures of the measured window."""

    ok: int = 0
    failed: int = 0
    lags: list[float] = field(default_factory=list)


async def logon(connector: aiohttp.BaseConnector, base: str, password: str) -> bool:
    """Log on to one site in three requests; tell whether every expectation held."""
    async with aiohttp.ClientSession(
        connector=connector,
        connector_owner=False,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(),
    ) as session:
        async with session.get(f"{base}/login", allow_redirects=False) as response:
            form = await response.text()
        match = CSRF.search(form)
        if response.status != 200 or match is None:
            return False
        credentials = {"user": sites.USER, "password": password, "csrf": match.group(1)}
        async with session.post(
            f"{base}/login", data=credentials, allow_redirects=False
        ) as response:
            await response.read()
        jar = {morsel.key for morsel in session.cookie_jar}
        if response.status != 302 or sites.SESSION_COOKIE not in jar:
            return False
        async with session.get(f"{base}/home", allow_redirects=False) as response:
            home = await response.text()
        return response.status == 200 and sites.WELCOME in home


async def ping(connector: aiohttp.BaseConnector, base: str, password: str) -> bool:
    """One GET of the site's /ping: the single-GET uptime check (the password is unused)."""
    async with (
        aiohttp.ClientSession(
            connector=connector, connector_owner=False, timeout=aiohttp.ClientTimeout()
        ) as session,
        session.get(f"{base}/ping", allow_redirects=False) as response,
    ):
        await response.read()
        return response.status == 200


async def run_loop(args: argparse.Namespace, tally: Tally, stop_at: float) -> None:
    """Start logons at `args.rate` per second until `stop_at` (loop time), then drain."""
    loop = asyncio.get_running_loop()
    order = list(range(args.sites))
    random.Random(1).shuffle(order)
    bases = [sites.base_url(site, args.ports) for site in range(args.sites)]
    passwords = [sites.password(site) for site in range(args.sites)]
    slots = asyncio.Semaphore(args.max_in_flight)
    connector = aiohttp.TCPConnector(limit=0)
    check = ping if args.kind == "get" else logon

    async def one(site: int) -> None:
        try:
            async with asyncio.timeout(10):
                ok = await check(connector, bases[site], passwords[site])
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        finally:
            slots.release()
        if ok:
            tally.ok += 1
        else:
            tally.failed += 1

    try:
        async with asyncio.TaskGroup() as tasks:
            start = loop.time()
            for k in range(10**9):
                due = start + k / args.rate
                if due >= stop_at:
                    break
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                await slots.acquire()
                tally.lags.append(loop.time() - due)
                tasks.create_task(one(order[k % len(order)]))
    finally:
        await connector.close()


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def measure(args: argparse.Namespace) -> dict[str, float | int]:
    """Run the loop through the warm-up and the window; return the window's figures."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    begin = loop.time()
    runner = asyncio.create_task(run_loop(args, tally, begin + args.warmup + args.seconds))
    await asyncio.sleep(args.warmup)
    ok0, failed0, lags0 = tally.ok, tally.failed, len(tally.lags)
    cpu0, t0 = _cpu_seconds(), loop.time()
    await asyncio.sleep(args.seconds)
    ok1, failed1, cpu1, t1 = tally.ok, tally.failed, _cpu_seconds(), loop.time()
    lags = sorted(tally.lags[lags0:])
    await runner
    logons = (ok1 - ok0) + (failed1 - failed0)
    return {
        "rate_target": args.rate,
        "logons_per_s": logons / (t1 - t0),
        "ok": ok1 - ok0,
        "failed": failed1 - failed0,
        "cpu_seconds": cpu1 - cpu0,
        "cpu_ms_per_logon": 1000 * (cpu1 - cpu0) / max(logons, 1),
        "cpu_share": (cpu1 - cpu0) / (t1 - t0),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "lag_p50": _quantile(lags, 0.50),
        "lag_p99": _quantile(lags, 0.99),
        "lag_max": lags[-1] if lags else 0.0,
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    """Parse the arguments, pin the process, measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=lambda s: [int(p) for p in s.split(",")], required=True)
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="logons started per second")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--kind", choices=sites.KINDS, default="logon")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    started = time.monotonic()
    if args.loop == "uvloop":
        import uvloop

        figures = uvloop.run(measure(args))
    else:
        figures = asyncio.run(measure(args))
    figures["wall_seconds"] = time.monotonic() - started
    json.dump(figures, sys.stdout)
    print()


if __name__ == "__main__":
    main()
