"""A/B two sitewatch trees side by side, at the same time, with the bare loop beside them.

Usage, from the project root:
    python bench/ab.py [--checks 5000] [--kind get] [--seconds 60] [--rounds 3] OLD_DIR [NEW_DIR]

`run.py` measures the bare loop and sitewatch one after the other; on a shared virtual
machine the cost of a timer wake-up moves by 2-3x within minutes, so a ratio of two
runs minutes apart can move more than the change being measured. Here the two trees
(each a directory holding a `sitewatch` package, e.g. a `git worktree`) and the bare
loop probe the same farm at the same rate over the same window, pinned to the same
CPU, so whatever the machine does hits all three alike. Each round prints CPU per
probe of each (user + system, all threads, from /proc) and the ratios; then medians.
With one tree it is that tree against the bare loop, side by side (the figure
`run.py` takes one after the other); keep the sum of the CPU shares under one core.

Each sitewatch has N checks at `--interval` with its own SQLite file; nothing goes
down (no pages). Probes in the window are counted in each one's database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import sites
from control import HERE, FarmProcess, farm_and_webhook
from service import Policy, Service, Workspace


async def one_round(args: argparse.Namespace, farm: FarmProcess, url: str) -> dict[str, float]:
    """Run both trees and the bare loop over one window; return CPU ms per probe of each."""
    with tempfile.TemporaryDirectory(prefix="sitewatch-ab-") as tmp:
        services = []
        for name, tree in _trees(args):
            root = Path(tmp) / name
            root.mkdir()
            policy = Policy(interval=args.interval)
            workspace = Workspace(
                root, args.checks, farm.ports, policy, kind=args.kind, event_loop=args.loop
            )
            workspace.write(url, 10)
            service = Service(workspace, args.cpu, tree)
            service.start()
            services.append((name, service))
        try:
            async with aiohttp.ClientSession() as session:
                for _, service in services:
                    await service.wait_ready(session)
            await asyncio.sleep(args.warmup)
            bare = asyncio.create_task(_bare(args, farm.ports))
            await asyncio.sleep(2.0)  # the bare loop's own warm-up
            before = {name: (s.snapshot(), time.time()) for name, s in services}
            await asyncio.sleep(args.seconds)
            after = {name: (s.snapshot(), time.time()) for name, s in services}
            figures = {"bare": (await bare)["cpu_ms_per_logon"]}
        finally:
            for _, service in services:
                await asyncio.to_thread(service.stop)
    for name, (start, _) in before.items():
        end = after[name][0]
        probes = max(end.results - start.results, 1)
        figures[name] = 1000 * (end.cpu_seconds - start.cpu_seconds) / probes
        figures[f"{name}_rate"] = probes / (end.at - start.at)
    return figures


async def _bare(args: argparse.Namespace, ports: list[int]) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "baseline.py"), "--sites", str(args.checks)]
    command += ["--ports", ",".join(map(str, ports)), "--rate", f"{args.checks / args.interval}"]
    command += ["--warmup", "2", "--seconds", str(args.seconds), "--kind", args.kind]
    command += ["--loop", args.loop, "--cpu", str(args.cpu)]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    result: dict[str, Any] = json.loads(out)
    return result


async def main(args: argparse.Namespace) -> None:
    """Run the rounds and print each, then the medians."""
    rounds: list[dict[str, float]] = []
    async with (
        aiohttp.ClientSession() as session,
        farm_and_webhook(session, args.checks, args.farm_cpu) as (farm, webhook),
    ):
        for n in range(1, args.rounds + 1):
            r = await one_round(args, farm, webhook.url)
            rounds.append(r)
            print(_line(f"round {n}", r), flush=True)
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(_line(f"median of {len(rounds)}", medians))
    key = "new" if args.new else "bare"
    ratios = [r[key] / r["old"] if key == "new" else r["old"] / r["bare"] for r in rounds]
    label = "new / old" if args.new else "sitewatch / bare"
    print(f"{label} per round: {', '.join(f'x{x:.3f}' for x in ratios)}")


def _trees(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [("old", args.old), ("new", args.new)] if args.new else [("old", args.old)]


def _line(label: str, r: dict[str, float]) -> str:
    text = f"{label}: bare {r['bare']:.3f} ms"
    for name in ("old", "new"):
        if name in r:
            text += f" | {name} {r[name]:.3f} ms x{r[name] / r['bare']:.2f}"
            text += f" ({r[f'{name}_rate']:.0f}/s)"
    if "new" in r:
        text += f" | new/old x{r['new'] / r['old']:.3f}"
    return text


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="a directory holding the `sitewatch` package to compare")
    parser.add_argument("new", nargs="?", default="", help="another such directory")
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--kind", choices=sites.KINDS, default="get")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--farm-cpu", type=int, default=1)
    args = parser.parse_args()
    args.old = str(Path(args.old).resolve())
    args.new = str(Path(args.new).resolve()) if args.new else ""
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
