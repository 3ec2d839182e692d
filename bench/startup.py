"""Start and restart at scale: from `sitewatch run` to every check probed once.

Usage, from the project root:
    python bench/startup.py [--checks 20000] [--kind get] [--kills 2] [--pythonpath DIR]

The real `sitewatch run` with N generated checks at a 30 s interval probes the farm
(bench/farm.py); the farm says which sites have been probed since a moment. Timed
from the spawn: the service answering /healthz (config load, database, wiring), and
every check probed once (target: one interval + 5 s). Then kill -9 and start it
again on the same database, `--kills` times, timing the same from each new spawn.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
import sites
from control import FarmProcess, farm_and_webhook
from service import Policy, Service, Workspace

POLL = 0.5


async def all_probed(farm: FarmProcess, checks: int, since: float, limit: float) -> float | None:
    """Return seconds from `since` until every site was probed after it (None: not by `limit`)."""
    while time.time() < since + limit:
        probed = await farm.probed(checks, since)
        if len(probed) >= checks:
            return max(at for _, at in probed) - since
        await asyncio.sleep(POLL)
    return None


async def measure(args: argparse.Namespace) -> None:
    """Start, time, kill -9, start again; print each start's figures."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        farm_and_webhook(session, args.checks, args.farm_cpu) as (farm, webhook),
    ):
        with tempfile.TemporaryDirectory(prefix="sitewatch-startup-") as tmp:
            policy = Policy(interval=args.interval)
            workspace = Workspace(Path(tmp), args.checks, farm.ports, policy, kind=args.kind)
            workspace.write(webhook.url, 10)
            for attempt in range(args.kills + 1):
                await farm.reset()
                service = Service(workspace, args.cpu, args.pythonpath)
                spawned = time.time()
                service.start()
                ready = await service.wait_ready(session) - spawned
                limit = args.interval + 30
                done = await all_probed(farm, args.checks, spawned, limit)
                how = "first start" if attempt == 0 else f"after kill -9 #{attempt}"
                verdict = "holds" if done is not None and done <= args.interval + 5 else "FAILS"
                shown = f"{done:.1f} s" if done is not None else f"not within {limit:.0f} s"
                print(
                    f"{how}: /healthz after {ready:.1f} s; every one of {args.checks:,}"
                    f" checks probed after {shown} (target {args.interval + 5:g} s: {verdict})",
                    flush=True,
                )
                await asyncio.to_thread(service.kill)


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--kind", choices=sites.KINDS, default="get")
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--farm-cpu", type=int, default=1)
    parser.add_argument("--pythonpath", default="", help="run sitewatch from this tree")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(measure(parse_args()))
