"""Benchmark the cluster: two instances in one location, the cluster's own cost, failover times.

One command, from the project root (sitewatch installed in the virtualenv, a
PostgreSQL server at $SITEWATCH_BENCH_PG, default postgres@127.0.0.1:5432 with trust):
    python bench/cluster.py [--checks 10000] [--interval 30] [--seconds 40] [--repeats 3]
                            [--failovers 10] [--skip-cpu]

1. **CPU**: the real `sitewatch run` on PostgreSQL with N checks alone, then two
   instances of one location sharing the same N checks (each probes its share),
   plus a third instance with no checks at another location. Each is measured from
   /proc over the same window; the farm counts logons (N / interval a second means
   every check probed once per interval, by exactly one instance). The idle
   instance's CPU is everything an instance spends when it probes nothing: the
   membership heartbeat, the lease, the claims, the escalator, ticker and gauges.
2. **Failover**: two instances with the default lease (10 s) and a few checks;
   `--failovers` times kill -9 the leader and time until the other holds the lease
   (read from the database every 20 ms) and until every check was probed again
   after the kill; then as often SIGTERM. The stopped instance is restarted each time.
It prints every figure and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import hotspots
import sites
from cluster_nodes import Instance, clustered, drop_database, lease_of, new_database
from control import FarmProcess, Webhook
from service import Policy, Workspace

CLUSTER_WORK = (
    "Membership.beat",
    "Leadership.renew",
    "Dispatcher._claim",
    "Escalator.tick",
    "Ticker.tick",
    "Departures.watch",
)
"""The cluster's own loops: heartbeat, lease, claims, and the leader's per-second work."""
IDLE = ("EpollSelector.select", "select.epoll.poll")


async def measure_cpu(
    instances: list[Instance], farm: FarmProcess, warmup: float, seconds: float, root: Path
) -> dict[str, Any]:
    """Measure each instance's CPU share, the cluster loops' part of it, and the logons."""
    await asyncio.sleep(warmup)
    spies = {i.name: hotspots.record(i.pid, seconds, root / f"{i.name}.spy", 1) for i in instances}
    cpu0, stats0, t0 = [i.cpu() for i in instances], await farm.stats(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, stats1, t1 = [i.cpu() for i in instances], await farm.stats(), time.monotonic()
    window = t1 - t0
    for spy in spies.values():
        await asyncio.to_thread(spy.wait)
    cpu = {i.name: (c1 - c0) / window for i, c0, c1 in zip(instances, cpu0, cpu1, strict=True)}
    return {
        "cpu": cpu,
        "cluster_share_of_busy": {n: cluster_share(root / f"{n}.spy") for n in spies},
        "logons_per_s": (stats1["forms"] - stats0["forms"]) / window,
    }


def cluster_share(profile: Path) -> float:
    """Return the share of an instance's busy samples spent in the cluster's own loops."""
    busy = cluster = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or any(idle in stack.rsplit(";", 1)[-1] for idle in IDLE):
            continue
        busy += int(count)
        if any(f"{work} (" in stack for work in CLUSTER_WORK):
            cluster += int(count)
    return cluster / busy if busy else 0.0


async def cpu_phase(args: argparse.Namespace, farm: FarmProcess, hook: Webhook) -> None:
    """One instance alone, then two sharing the checks and an idle third; `--repeats` times."""
    ratios, shares, idle = [], [], []
    async with aiohttp.ClientSession() as session:
        for _ in range(args.repeats):
            alone = await cpu_run(args, farm, hook, session, 1)
            pair = await cpu_run(args, farm, hook, session, 2)
            ratios.append(max(pair["cpu"]["p0"], pair["cpu"]["p1"]) / alone["cpu"]["p0"])
            shares += [pair["cluster_share_of_busy"][n] for n in ("p0", "p1")]
            idle.append(pair["cpu"]["idle"])
    print(
        f"median of {args.repeats}: each of two / one alone x{statistics.median(ratios):.3f}"
        f" (all {[f'{r:.3f}' for r in ratios]}); cluster loops"
        f" {100 * statistics.median(shares):.2f} % of an instance's busy samples"
        f" (max {100 * max(shares):.2f} %); an instance with no checks"
        f" {1000 * statistics.median(idle):.1f} ms CPU/s",
        flush=True,
    )


async def cpu_run(
    args: argparse.Namespace,
    farm: FarmProcess,
    hook: Webhook,
    session: aiohttp.ClientSession,
    count: int,
) -> dict[str, Any]:
    """Run `count` probing instances (and an idle one beside a pair); measure them."""
    url = new_database()
    try:
        with tempfile.TemporaryDirectory(prefix="sitewatch-cluster-") as tmp:
            space = Workspace(
                Path(tmp), args.checks, farm.ports, Policy(args.interval), kind=args.kind
            )
            clustered(space, hook.url, url, 10)
            idle_space = Workspace(Path(tmp) / "idle", 0, farm.ports, Policy(args.interval))
            idle_space.root.mkdir()
            clustered(idle_space, hook.url, url, 10)
            nodes = [Instance(space, f"p{n}", "east", args.cpu) for n in range(count)]
            if count == 2:
                nodes.append(Instance(idle_space, "idle", "idle", args.cpu))
            await farm.up()
            for node in nodes:
                node.start()
            await asyncio.gather(*(node.ready(session) for node in nodes))
            figures = await measure_cpu(nodes, farm, args.warmup, args.seconds, Path(tmp))
            print(f"{count} prober(s) at {args.checks} checks: {figures}", flush=True)
            stops = [f"{node.name} {node.stop():.1f}s" for node in nodes]
            print(f"stopped (SIGTERM to exit): {', '.join(stops)}", flush=True)
            return figures
    finally:
        drop_database(url)


async def wait_for(what: str, probe: Any, within: float = 120) -> Any:
    """Poll an async `probe` every 20 ms until it returns something true."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise RuntimeError(f"gave up waiting for {what}")


async def failover_phase(args: argparse.Namespace, farm: FarmProcess, hook: Webhook) -> None:
    """Kill -9, then SIGTERM, the leader `--failovers` times each; time the takeovers."""
    url, session = new_database(), aiohttp.ClientSession()
    checks, interval = 200, 5.0
    try:
        with tempfile.TemporaryDirectory(prefix="sitewatch-failover-") as tmp:
            space = Workspace(Path(tmp), checks, farm.ports, Policy(interval))
            clustered(space, hook.url, url, args.lease)
            nodes = {n: Instance(space, n, "east", None) for n in ("a", "b")}
            for node in nodes.values():
                node.start()
            await asyncio.gather(*(node.ready(session) for node in nodes.values()))
            for how in (signal.SIGKILL, signal.SIGTERM):
                takeovers, resumed = [], []
                for _ in range(args.failovers):
                    holder, _epoch = await wait_for("a leader", lambda: _lease(url))
                    await asyncio.sleep(args.lease / 3 + 1)  # both beating, the lease renewed
                    dead = nodes[holder]
                    stopped, wall = time.monotonic(), time.time()
                    dead.process.send_signal(how)  # type: ignore[union-attr]
                    await wait_for("the takeover", lambda h=holder: _other(url, h))
                    takeovers.append(time.monotonic() - stopped)
                    await wait_for(
                        "every check probed again", lambda w=wall: _all_probed(farm, checks, w)
                    )
                    resumed.append(time.monotonic() - stopped)
                    await asyncio.to_thread(dead.process.wait)  # type: ignore[union-attr]
                    dead.start()
                    await dead.ready(session)
                name = how.name
                print(
                    f"{name}: takeover median {statistics.median(takeovers):.2f}s max"
                    f" {max(takeovers):.2f}s; every check probed again median"
                    f" {statistics.median(resumed):.2f}s max {max(resumed):.2f}s"
                    f" (lease {args.lease}s, interval {interval}s);"
                    f" all: {[f'{t:.2f}' for t in takeovers]}",
                    flush=True,
                )
            for node in nodes.values():
                node.stop()
    finally:
        await session.close()
        drop_database(url)


async def _lease(url: str) -> tuple[str, int] | None:
    return await asyncio.to_thread(lease_of, url)


async def _other(url: str, holder: str) -> bool:
    lease = await _lease(url)
    return lease is not None and lease[0] != holder


async def _all_probed(farm: FarmProcess, checks: int, since: float) -> bool:
    return len(await farm.probed(checks, since)) >= checks


async def main() -> None:
    """Run the phases asked for."""
    # py-spy lives beside this Python (the virtualenv's bin), maybe not on PATH.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--kind", choices=sites.KINDS, default="logon", help="for the CPU runs")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="CPU runs, alone and paired")
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--cpu", type=int, default=0, help="CPU the probing instances run on")
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args()
    async with aiohttp.ClientSession() as session:
        farm, hook = FarmProcess(session), Webhook()
        await farm.start(max(args.checks, 200), 64, 1)
        await hook.start()
        try:
            if not args.skip_cpu:
                await cpu_phase(args, farm, hook)
            if args.failovers:
                await failover_phase(args, farm, hook)
        finally:
            await hook.stop()
            await farm.stop()


if __name__ == "__main__":
    asyncio.run(main())
