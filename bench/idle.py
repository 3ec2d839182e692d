"""Measure what `sitewatch run` costs per second with (almost) nothing to probe.

Usage, from the project root (sitewatch installed, or PYTHONPATH=.):
    python bench/idle.py [--checks 1000] [--seconds 60] [--rounds 3]
                         [--database URL] [--pythonpath DIR] [--profile FILE [--rate 1000]]

The real `sitewatch run` on N single-GET checks of the farm's sites at a one-hour
interval (so it probes N/3600 a second, nearly nothing), pinned to CPU 0 (the farm
on CPU 1), leader of its own database: after it has
settled (every check's first probe is spread over the hour, so a few each second),
its CPU is read from /proc over `--seconds`, in `--rounds` windows. What is left is
the fixed cost of a running instance: its loops (dispatcher, escalation, ticker,
gauges, membership, lease, retention), each a transaction or more a second. At a
30 s interval and 1,000 checks that cost is spread over 33 probes a second, which is
why it shows at small N (bench/README.md, "Issue 15"). `--profile` records the last
window with py-spy (collapsed stacks) and prints its summary.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import aiohttp
import hotspots
from control import farm_and_webhook
from service import Policy, Service, Workspace


async def measure(args: argparse.Namespace, root: Path) -> list[float]:
    """Return the CPU milliseconds per second of each window."""
    figures = []
    async with (
        aiohttp.ClientSession() as session,
        farm_and_webhook(session, args.checks, cpu=1) as (farm, webhook),
    ):
        policy = Policy(interval=3600.0)
        workspace = Workspace(
            root, args.checks, farm.ports, policy, database_url=args.database, kind="get"
        )
        workspace.write(webhook.url, sites_per_customer=10)
        service = Service(workspace, cpu=0, pythonpath=args.pythonpath)
        service.start()
        try:
            await service.wait_ready(session)
            await asyncio.sleep(args.settle)
            for window in range(args.rounds):
                profiler = None
                if args.profile and window == args.rounds - 1:
                    output = Path(args.profile)
                    profiler = hotspots.record(
                        service.pid, args.seconds, output, cpu=1, rate=args.rate
                    )
                before = service.snapshot()
                await asyncio.sleep(args.seconds)
                after = service.snapshot()
                figures.append(
                    1000 * (after.cpu_seconds - before.cpu_seconds) / (after.at - before.at)
                )
                if profiler is not None:
                    profiler.wait()
        finally:
            service.stop()
    return figures


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--pythonpath", default="", help="run sitewatch from this tree")
    parser.add_argument("--profile", default="", help="py-spy the last window into FILE")
    parser.add_argument("--rate", type=int, default=1000, help="py-spy samples a second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitewatch-idle-") as directory:
        figures = asyncio.run(measure(args, Path(directory)))
    print(
        f"{args.checks:,} checks at a 1 h interval: {statistics.median(figures):.1f} ms of CPU"
        f" per second (median of {len(figures)}; windows: "
        + ", ".join(f"{f:.1f}" for f in figures)
        + ")"
    )
    if args.profile:
        print("\n".join(hotspots.summarize(Path(args.profile))))


if __name__ == "__main__":
    main()
